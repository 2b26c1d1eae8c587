package dev.keepalive.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The summary of a bench/run-blocking-bench.sh run: reads its {@code runs.tsv} (java, threads
 * kind, body, threads, round, client, output file, exit status) and each run's JSON line, and
 * writes {@code summary.md}: per configuration the median requests/s of every client over its
 * rounds, its CPU per request, and keepalive's median / the best peer's median.
 *
 * <pre>
 *   blocking-report RESULTS_DIR
 * </pre>
 */
final class BlockingReport {
  private BlockingReport() {}

  /** The target of issue 15: keepalive >= 1.2x the best peer. */
  static final double TARGET = 1.2;

  static int main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: blocking-report RESULTS_DIR");
      return 2;
    }
    Path dir = Path.of(args[0]);
    ObjectMapper json = new ObjectMapper();
    // configuration -> client -> the rounds' (req/s, cpu us/req); failed runs count as 0 req/s
    Map<String, Map<String, List<double[]>>> runs = new LinkedHashMap<>();
    List<String> failures = new ArrayList<>();
    List<double[]> loads = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("runs.tsv"))) {
      if (line.startsWith("#") || line.isBlank()) {
        continue;
      }
      String[] f = line.split("\t");
      String config = "Java " + f[0] + " | " + f[1] + " | " + f[2] + " | " + f[3];
      String client = f[5];
      if (f.length > 8) {
        loads.add(new double[] {Double.parseDouble(f[8])});
      }
      Path out = dir.resolve(f[6]);
      double rps = 0;
      double cpu = Double.NaN;
      JsonNode n = null;
      if (Files.exists(out)) {
        for (String l : Files.readAllLines(out)) {
          if (l.startsWith("{")) {
            n = json.readTree(l);
          }
        }
      }
      if (n != null) {
        rps = n.path("requestsPerSecond").asDouble();
        cpu = n.path("cpuUsPerRequest").asDouble(Double.NaN);
        if (n.path("failed").asLong() + n.path("warmupFailed").asLong() > 0) {
          failures.add(f[6] + ": " + n.path("errors"));
        }
      } else {
        failures.add(f[6] + ": no result (exit " + f[7] + ")");
      }
      runs.computeIfAbsent(config, k -> new LinkedHashMap<>())
          .computeIfAbsent(client, k -> new ArrayList<>())
          .add(new double[] {rps, cpu});
    }
    StringBuilder md = new StringBuilder();
    Path meta = dir.resolve("meta.env");
    if (Files.exists(meta)) {
      md.append("```\n");
      for (String l : Files.readAllLines(meta)) {
        if (!l.startsWith("#")) {
          md.append(l).append('\n');
        }
      }
      md.append("```\n\n");
    }
    List<String> clients = BlockingBench.CLIENTS;
    md.append("| JVM | threads | body | N |");
    for (String c : clients) {
      md.append(' ').append(c).append(" req/s |");
    }
    md.append(" keepalive / best peer |\n|---|---|---|---:|");
    md.append("---:|".repeat(clients.size())).append("---:|\n");
    StringBuilder cpuMd = new StringBuilder("| JVM | threads | body | N |");
    for (String c : clients) {
      cpuMd.append(' ').append(c).append(" |");
    }
    cpuMd.append("\n|---|---|---|---:|").append("---:|".repeat(clients.size())).append('\n');
    runs.forEach((config, byClient) -> {
      md.append("| ").append(config).append(" |");
      cpuMd.append("| ").append(config).append(" |");
      double ka = Double.NaN;
      double best = 0;
      String bestName = "?";
      for (String c : clients) {
        List<double[]> rs = byClient.get(c);
        if (rs == null) {
          md.append(" |");
          cpuMd.append(" |");
          continue;
        }
        double m = median(rs, 0);
        double cpu = median(rs, 1);
        md.append(String.format(Locale.ROOT, " %,.0f |", m));
        cpuMd.append(String.format(Locale.ROOT, " %.1f |", cpu));
        if (c.equals("keepalive")) {
          ka = m;
        } else if (m > best) {
          best = m;
          bestName = c;
        }
      }
      if (best > 0 && !Double.isNaN(ka)) {
        double ratio = ka / best;
        md.append(String.format(
            Locale.ROOT,
            " %.2fx (%s)%s |",
            ratio,
            bestName,
            ratio >= TARGET ? "" : " below " + TARGET + "x"));
      } else {
        md.append(" |");
      }
      md.append('\n');
      cpuMd.append('\n');
    });
    md.append("\nMedians of ")
        .append(runs.values().stream()
            .flatMap(m -> m.values().stream())
            .mapToInt(List::size)
            .max()
            .orElse(0))
        .append(" runs per client and configuration (N threads, N pooled connections).\n\n");
    if (!loads.isEmpty()) {
      double lo = loads.stream().mapToDouble(l -> l[0]).min().orElse(0);
      double hi = loads.stream().mapToDouble(l -> l[0]).max().orElse(0);
      md.append(String.format(
          Locale.ROOT,
          "Load average (1 min) when each run started: %.2f-%.2f, median %.2f.%n%n",
          lo,
          hi,
          median(loads, 0)));
    }
    md.append("CPU of the client process per request, microseconds (medians):\n\n")
        .append(cpuMd);
    md.append('\n');
    if (failures.isEmpty()) {
      md.append("Failures: none (every response a 200 with the expected body size).\n");
    } else {
      md.append("Failures:\n\n");
      for (String f : failures) {
        md.append("- ").append(f).append('\n');
      }
    }
    Files.writeString(dir.resolve("summary.md"), md);
    System.out.print(md);
    return 0;
  }

  private static double median(List<double[]> rs, int k) {
    List<Double> v = new ArrayList<>();
    for (double[] r : rs) {
      if (!Double.isNaN(r[k])) {
        v.add(r[k]);
      }
    }
    if (v.isEmpty()) {
      return Double.NaN;
    }
    Collections.sort(v);
    int n = v.size();
    return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }
}
