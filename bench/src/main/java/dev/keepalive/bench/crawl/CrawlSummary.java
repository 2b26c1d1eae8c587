package dev.keepalive.bench.crawl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the {@code crawl-result} lines of a run of bench/run-crawl-bench.sh (one per client and
 * repetition) and prints, per client, the median of each figure over the repetitions as a Markdown
 * table, with keepalive's throughput over each peer's (keepalive's run with the same total limit,
 * where there is one).
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.keepalive.bench.crawl.CrawlSummary RESULTS-FILE}
 */
public final class CrawlSummary {
  private static final String[] COLUMNS = {
    "rps",
    "p50ms",
    "p99ms",
    "maxms",
    "cpuUsPerReq",
    "new",
    "reused",
    "evictedLru",
    "dnsLookups",
    "failed"
  };

  private CrawlSummary() {}

  public static void main(String[] args) throws Exception {
    Map<String, List<Map<String, String>>> byClient = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of(args[0]))) {
      if (!line.startsWith("crawl-result ")) {
        continue;
      }
      Map<String, String> kv = new LinkedHashMap<>();
      for (String f : line.substring("crawl-result ".length()).split(" ")) {
        int eq = f.indexOf('=');
        kv.put(f.substring(0, eq), f.substring(eq + 1));
      }
      // the client and its total limit: the same client run with two limits is two rows
      String name = kv.get("client")
          + (kv.containsKey("maxOpen") ? " (maxOpen " + kv.get("maxOpen") + ")" : "");
      byClient.computeIfAbsent(name, k -> new ArrayList<>()).add(kv);
    }
    StringBuilder head = new StringBuilder("| client | runs |");
    StringBuilder rule = new StringBuilder("|---|---:|");
    for (String c : COLUMNS) {
      head.append(' ').append(c).append(" |");
      rule.append("---:|");
    }
    head.append(" keepalive rps / this |");
    rule.append("---:|");
    System.out.println("medians over the runs of each client");
    System.out.println(head);
    System.out.println(rule);
    // each row against keepalive's run with the same total limit; a client without a total
    // limit (Reactor Netty: "none") against keepalive's run with the highest limit
    Map<String, Double> keepaliveRps = new LinkedHashMap<>();
    String highest = null;
    for (Map.Entry<String, List<Map<String, String>>> e : byClient.entrySet()) {
      if (e.getValue().get(0).get("client").equals("keepalive")) {
        String limit = e.getValue().get(0).getOrDefault("maxOpen", "");
        keepaliveRps.put(limit, median(e.getValue(), "rps"));
        if (highest == null || limitOf(limit) > limitOf(highest)) {
          highest = limit;
        }
      }
    }
    for (Map.Entry<String, List<Map<String, String>>> e : byClient.entrySet()) {
      List<Map<String, String>> runs = e.getValue();
      StringBuilder row = new StringBuilder("| " + e.getKey() + " | " + runs.size() + " |");
      for (String c : COLUMNS) {
        Double m = median(runs, c);
        row.append(' ').append(m == null ? "n/a" : format(c, m)).append(" |");
      }
      String limit = runs.get(0).getOrDefault("maxOpen", "");
      Double ka = keepaliveRps.get(limit.equals("none") ? highest : limit);
      Double rps = median(runs, "rps");
      row.append(' ')
          .append(
              ka == null || rps == null || rps == 0
                  ? "n/a"
                  : String.format(Locale.ROOT, "%.2fx", ka / rps))
          .append(" |");
      System.out.println(row);
    }
  }

  /** A total limit as a number; "none" or missing is the highest. */
  private static long limitOf(String limit) {
    try {
      return Long.parseLong(limit);
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }

  private static String format(String column, double v) {
    return column.endsWith("ms") || column.equals("cpuUsPerReq")
        ? String.format(Locale.ROOT, "%,.2f", v)
        : String.format(Locale.ROOT, "%,.0f", v);
  }

  /** The median of {@code key} over the runs that have it; null when none has. */
  static Double median(List<Map<String, String>> runs, String key) {
    if (runs == null) {
      return null;
    }
    List<Double> v = new ArrayList<>();
    for (Map<String, String> r : runs) {
      String s = r.get(key);
      if (s != null && !s.equals("n/a")) {
        v.add(Double.parseDouble(s));
      }
    }
    if (v.isEmpty()) {
      return null;
    }
    v.sort(null);
    int n = v.size();
    return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }
}
