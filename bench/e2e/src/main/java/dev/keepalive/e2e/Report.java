package dev.keepalive.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Reads a results directory written by bench/run-e2e.sh (meta.env, runs.tsv and each run's raw
 * output under runs/), parses wrk, ab, {@code keepalive bench --json} and the harness JSON,
 * takes the median of each figure over the rounds, the ratios to wrk, checks the targets, and
 * writes the Markdown report and one PNG chart per scenario.
 *
 * <pre>  report RESULTS_DIR [--out docs/BENCHMARKS.md] [--charts docs/benchmarks]
 *          [--chart-link benchmarks]</pre>
 *
 * <p>When the output file already exists, only the part between {@code <!-- e2e:begin -->} and
 * {@code <!-- e2e:end -->} is replaced, so the hand-written analysis around it stays.
 */
final class Report {
  /** The load tools (wrk, ab, the keepalive CLI), then the Java clients in their run order. */
  static final List<String> CLIENT_ORDER =
      Stream.concat(Stream.of("wrk", "ab", "keepalive"), Peer.NAMES.stream()).toList();

  static final List<String> JAVA_PEERS =
      List.of("apache-async", "okhttp", "jdk-httpclient", "reactor-netty");
  static final List<String> PROTO_ORDER = List.of("http", "https", "http-close");
  static final String BEGIN = "<!-- e2e:begin -->";
  static final String END = "<!-- e2e:end -->";

  /** One run's figures; NaN where the tool does not say. */
  record Run(
      String proto,
      String body,
      int c,
      int round,
      String client,
      double rps,
      double p50,
      double p90,
      double p99,
      long requests,
      long errors,
      String errorNote,
      long connections,
      String served,
      double load1,
      boolean ok,
      long allRequests,
      double windowCpuUs,
      double clientCpuUs,
      double nginxCpuUs) {

    /** With the CPU figures: client CPU (whole process) and nginx's, over every request. */
    Run withCpu(double clientCpuSeconds, double nginxCpuSeconds) {
      long n = allRequests > 0 ? allRequests : requests;
      double clientUs = !Double.isNaN(windowCpuUs)
          ? windowCpuUs
          : clientCpuSeconds >= 0 && n > 0 ? clientCpuSeconds * 1e6 / n : Double.NaN;
      double nginxUs = nginxCpuSeconds >= 0 && n > 0 ? nginxCpuSeconds * 1e6 / n : Double.NaN;
      return new Run(
          proto,
          body,
          c,
          round,
          client,
          rps,
          p50,
          p90,
          p99,
          requests,
          errors,
          errorNote,
          connections,
          served,
          load1,
          ok,
          allRequests,
          windowCpuUs,
          clientUs,
          nginxUs);
    }
  }

  /** Medians over the rounds of one case and client. */
  record Median(
      String proto,
      String body,
      int c,
      String client,
      int runs,
      double rps,
      double p50,
      double p99,
      long errors,
      String errorNote,
      String served,
      boolean available,
      double clientCpuUs,
      double nginxCpuUs) {}

  private Report() {}

  static int main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: report RESULTS_DIR [--out FILE.md] [--charts DIR] "
          + "[--chart-link RELATIVE_DIR]");
      return 2;
    }
    Path dir = Path.of(args[0]);
    Path out = null;
    Path charts = null;
    String chartLink = "benchmarks";
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--out" -> out = Path.of(args[++i]);
        case "--charts" -> charts = Path.of(args[++i]);
        case "--chart-link" -> chartLink = args[++i];
        default -> {
          System.err.println("unknown option " + args[i]);
          return 2;
        }
      }
    }
    Map<String, String> meta = readMeta(dir.resolve("meta.env"));
    List<Run> runs = readRuns(dir);
    if (runs.isEmpty()) {
      System.err.println("no runs in " + dir);
      return 1;
    }
    List<Median> medians = medians(runs);
    List<String> chartFiles = new ArrayList<>();
    if (charts != null) {
      Files.createDirectories(charts);
      chartFiles = charts(medians, charts);
    }
    String body = markdown(meta, runs, medians, chartFiles, chartLink);
    Files.writeString(dir.resolve("summary.md"), body, StandardCharsets.UTF_8);
    writeCsv(dir.resolve("medians.csv"), medians);
    if (out != null) {
      writeInto(out, body, meta);
      System.err.println("report: wrote " + out
          + (charts == null ? "" : " and " + chartFiles.size() + " charts in " + charts));
    }
    System.out.print(targets(medians, true));
    return 0;
  }

  // ---- input ------------------------------------------------------------------------------

  static Map<String, String> readMeta(Path f) throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    if (!Files.exists(f)) {
      return m;
    }
    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
      int eq = line.indexOf('=');
      if (eq > 0 && !line.startsWith("#")) {
        m.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return m;
  }

  /** runs.tsv: proto body c round order client file load1 rc. */
  static List<Run> readRuns(Path dir) throws IOException {
    List<Run> runs = new ArrayList<>();
    Path tsv = dir.resolve("runs.tsv");
    if (!Files.exists(tsv)) {
      return runs;
    }
    for (String line : Files.readAllLines(tsv, StandardCharsets.UTF_8)) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.split("\t");
      String proto = f[0];
      String body = f[1];
      int c = Integer.parseInt(f[2]);
      int round = Integer.parseInt(f[3]);
      String client = f[5];
      Path file = dir.resolve(f[6]);
      double load1 = f.length > 7 ? parse(f[7]) : Double.NaN;
      int rc = f.length > 8 ? Integer.parseInt(f[8].trim()) : 0;
      double clientCpu = f.length > 9 ? parse(f[9]) : Double.NaN;
      double nginxCpu = f.length > 10 ? parse(f[10]) : Double.NaN;
      String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
      Run r;
      try {
        r = switch (client) {
          case "wrk" -> wrk(proto, body, c, round, text, load1);
          case "ab" -> ab(proto, body, c, round, text, load1);
          default -> json(proto, body, c, round, client, text, load1);
        };
      } catch (RuntimeException e) {
        r = null;
      }
      if (r == null || rc != 0 && !(r.rps > 0)) {
        r = new Run(
            proto,
            body,
            c,
            round,
            client,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            Double.NaN,
            0,
            0,
            "n/a (exit " + rc + "; see " + f[6] + ")",
            -1,
            null,
            load1,
            false,
            0,
            Double.NaN,
            Double.NaN,
            Double.NaN);
      }
      runs.add(r.withCpu(
          Double.isNaN(clientCpu) ? -1 : clientCpu, Double.isNaN(nginxCpu) ? -1 : nginxCpu));
    }
    return runs;
  }

  private static double parse(String s) {
    try {
      return Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  private static final Pattern WRK_RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern WRK_TOTAL = Pattern.compile("(\\d+) requests in ");
  private static final Pattern WRK_PCT =
      Pattern.compile("^\\s+(50|75|90|99)%\\s+([0-9.]+)(us|ms|s|m)\\s*$", Pattern.MULTILINE);
  private static final Pattern WRK_SOCKET =
      Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
  private static final Pattern WRK_NON2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

  static Run wrk(String proto, String body, int c, int round, String text, double load1) {
    Matcher m = WRK_RPS.matcher(text);
    if (!m.find()) {
      return null;
    }
    double rps = Double.parseDouble(m.group(1));
    Matcher t = WRK_TOTAL.matcher(text);
    long total = t.find() ? Long.parseLong(t.group(1)) : 0;
    Map<String, Double> pct = new LinkedHashMap<>();
    Matcher p = WRK_PCT.matcher(text);
    while (p.find()) {
      double v = Double.parseDouble(p.group(2));
      v *= switch (p.group(3)) {
        case "us" -> 1e-3;
        case "ms" -> 1;
        case "s" -> 1e3;
        default -> 60e3;
      };
      pct.put(p.group(1), v);
    }
    long errors = 0;
    List<String> notes = new ArrayList<>();
    Matcher s = WRK_SOCKET.matcher(text);
    if (s.find()) {
      long connect = Long.parseLong(s.group(1));
      long read = Long.parseLong(s.group(2));
      long write = Long.parseLong(s.group(3));
      long timeout = Long.parseLong(s.group(4));
      errors += connect + write + timeout;
      // with Connection: close, wrk counts each server close as a read "error": not a failure
      if (!proto.equals("http-close")) {
        errors += read;
      }
      notes.add("socket errors: connect " + connect + ", read " + read + ", write " + write
          + ", timeout " + timeout);
    }
    Matcher n = WRK_NON2XX.matcher(text);
    if (n.find()) {
      errors += Long.parseLong(n.group(1));
      notes.add("non-2xx " + n.group(1));
    }
    return new Run(
        proto,
        body,
        c,
        round,
        "wrk",
        rps,
        pct.getOrDefault("50", Double.NaN),
        pct.getOrDefault("90", Double.NaN),
        pct.getOrDefault("99", Double.NaN),
        total,
        errors,
        String.join("; ", notes),
        -1,
        null,
        load1,
        true,
        total,
        Double.NaN,
        Double.NaN,
        Double.NaN);
  }

  private static final Pattern AB_RPS = Pattern.compile("Requests per second:\\s+([0-9.]+)");
  private static final Pattern AB_COMPLETE = Pattern.compile("Complete requests:\\s+(\\d+)");
  private static final Pattern AB_FAILED = Pattern.compile("Failed requests:\\s+(\\d+)");
  private static final Pattern AB_NON2XX = Pattern.compile("Non-2xx responses:\\s+(\\d+)");
  private static final Pattern AB_KEEPALIVE = Pattern.compile("Keep-Alive requests:\\s+(\\d+)");
  private static final Pattern AB_PCT =
      Pattern.compile("^\\s+(50|90|99)%\\s+(\\d+)", Pattern.MULTILINE);

  static Run ab(String proto, String body, int c, int round, String text, double load1) {
    Matcher m = AB_RPS.matcher(text);
    Matcher done = AB_COMPLETE.matcher(text);
    if (!m.find() || !done.find()) {
      return null;
    }
    long complete = Long.parseLong(done.group(1));
    Matcher f = AB_FAILED.matcher(text);
    long failed = f.find() ? Long.parseLong(f.group(1)) : 0;
    Matcher n = AB_NON2XX.matcher(text);
    long non2xx = n.find() ? Long.parseLong(n.group(1)) : 0;
    Map<String, Double> pct = new LinkedHashMap<>();
    Matcher p = AB_PCT.matcher(text);
    while (p.find()) {
      pct.put(p.group(1), Double.parseDouble(p.group(2)));
    }
    List<String> notes = new ArrayList<>();
    if (failed > 0) {
      notes.add("failed " + failed);
    }
    if (non2xx > 0) {
      notes.add("non-2xx " + non2xx);
    }
    Matcher k = AB_KEEPALIVE.matcher(text);
    String served = k.find() ? "keep-alive requests " + k.group(1) : null;
    return new Run(
        proto,
        body,
        c,
        round,
        "ab",
        Double.parseDouble(m.group(1)),
        pct.getOrDefault("50", Double.NaN),
        pct.getOrDefault("90", Double.NaN),
        pct.getOrDefault("99", Double.NaN),
        complete,
        failed + non2xx,
        String.join("; ", notes),
        -1,
        served,
        load1,
        true,
        complete,
        Double.NaN,
        Double.NaN,
        Double.NaN);
  }

  static Run json(
      String proto, String body, int c, int round, String client, String text, double load1) {
    // keepalive bench prints its JSON over several lines, the harness on one
    int from = text.indexOf('{');
    int to = text.lastIndexOf('}');
    if (from < 0 || to < from) {
      return null;
    }
    JsonNode j;
    try {
      j = new ObjectMapper().readTree(text.substring(from, to + 1));
    } catch (IOException e) {
      return null;
    }
    JsonNode lat = j.path("latencyMs");
    long failed = j.path("failed").asLong();
    long non200 = 0;
    for (Map.Entry<String, JsonNode> s : iterable(j.path("status"))) {
      if (!s.getKey().startsWith("2")) {
        non200 += s.getValue().asLong();
      }
    }
    List<String> notes = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : iterable(j.path("errors"))) {
      notes.add(e.getKey() + " " + e.getValue().path("count").asLong() + " ("
          + e.getValue().path("example").asText() + ")");
    }
    if (non200 > 0) {
      notes.add("non-2xx " + non200);
    }
    String served = null;
    if (j.has("servedBy")) {
      JsonNode sb = j.path("servedBy");
      served = String.format(
          Locale.ROOT,
          "NEW %d, IMMEDIATE %d, DEFERRED %d",
          sb.path("NEW").asLong(),
          sb.path("IMMEDIATE").asLong(),
          sb.path("DEFERRED").asLong());
    }
    long requests = j.path("requests").asLong();
    long warm =
        j.path("warmupRequests").asLong(j.path("warmup").path("requests").asLong(0));
    return new Run(
        proto,
        body,
        c,
        round,
        client,
        j.path("requestsPerSecond").asDouble(),
        num(lat, "p50"),
        num(lat, "p90"),
        num(lat, "p99"),
        requests,
        failed + non200,
        String.join("; ", notes),
        j.path("connectionsOpened").asLong(-1),
        served,
        load1,
        true,
        requests + warm,
        j.has("cpuUsPerRequest") ? num(j, "cpuUsPerRequest") : num(j, "cpuMicrosPerRequest"),
        Double.NaN,
        Double.NaN);
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode n) {
    return n.properties();
  }

  private static double num(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? Double.NaN : v.asDouble();
  }

  // ---- medians ----------------------------------------------------------------------------

  static double median(double[] v) {
    double[] s = Arrays.stream(v).filter(x -> !Double.isNaN(x)).sorted().toArray();
    if (s.length == 0) {
      return Double.NaN;
    }
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static List<Median> medians(List<Run> runs) {
    Map<String, List<Run>> byKey = new LinkedHashMap<>();
    for (Run r : runs) {
      byKey
          .computeIfAbsent(
              r.proto + "|" + r.body + "|" + r.c + "|" + r.client, k -> new ArrayList<>())
          .add(r);
    }
    List<Median> out = new ArrayList<>();
    for (List<Run> l : byKey.values()) {
      Run first = l.get(0);
      List<Run> ok = l.stream().filter(Run::ok).toList();
      String note = l.stream()
          .map(Run::errorNote)
          .filter(s -> s != null && !s.isEmpty())
          .findFirst()
          .orElse("");
      String served = l.stream()
          .map(Run::served)
          .filter(Objects::nonNull)
          .reduce((a, b) -> b)
          .orElse(null);
      out.add(new Median(
          first.proto,
          first.body,
          first.c,
          first.client,
          ok.size(),
          median(ok.stream().mapToDouble(Run::rps).toArray()),
          median(ok.stream().mapToDouble(Run::p50).toArray()),
          median(ok.stream().mapToDouble(Run::p99).toArray()),
          ok.stream().mapToLong(Run::errors).sum(),
          note,
          served,
          !ok.isEmpty(),
          median(ok.stream().mapToDouble(Run::clientCpuUs).toArray()),
          median(ok.stream().mapToDouble(Run::nginxCpuUs).toArray())));
    }
    out.sort(Comparator.comparingInt((Median m) -> idx(PROTO_ORDER, m.proto))
        .thenComparing(Median::body, Comparator.reverseOrder())
        .thenComparingInt(Median::c)
        .thenComparingInt(m -> idx(CLIENT_ORDER, m.client)));
    return out;
  }

  private static int idx(List<String> order, String s) {
    int i = order.indexOf(s);
    return i < 0 ? order.size() : i;
  }

  private static Median find(List<Median> ms, String proto, String body, int c, String client) {
    for (Median m : ms) {
      if (m.proto.equals(proto) && m.body.equals(body) && m.c == c && m.client.equals(client)) {
        return m;
      }
    }
    return null;
  }

  private static double rps(List<Median> ms, String proto, String body, int c, String client) {
    Median m = find(ms, proto, body, c, client);
    return m == null || !m.available ? Double.NaN : m.rps;
  }

  // ---- output -----------------------------------------------------------------------------

  static String targets(List<Median> ms, boolean plain) {
    StringBuilder sb = new StringBuilder();
    if (!plain) {
      sb.append("| scenario | c | keepalive req/s | wrk req/s | keepalive / wrk (>= 0.8) "
          + "| best Java peer | keepalive / best peer (>= 1.2) |\n");
      sb.append("|---|---:|---:|---:|---|---|---|\n");
    }
    TreeSet<String> bodies = new TreeSet<>(Comparator.reverseOrder());
    ms.forEach(m -> bodies.add(m.body));
    for (String body : bodies) {
      for (int c : new int[] {16, 64}) {
        double k = rps(ms, "http", body, c, "keepalive");
        double w = rps(ms, "http", body, c, "wrk");
        if (Double.isNaN(k)) {
          continue;
        }
        String best = null;
        double bestRps = Double.NaN;
        for (String p : JAVA_PEERS) {
          double v = rps(ms, "http", body, c, p);
          if (!Double.isNaN(v) && (best == null || v > bestRps)) {
            best = p;
            bestRps = v;
          }
        }
        double rw = k / w;
        double rp = k / bestRps;
        if (plain) {
          sb.append(String.format(
              Locale.ROOT,
              "target http %s c=%d: keepalive %.0f/s, "
                  + "wrk %.0f/s -> %.3fx (>= 0.8: %s); best Java peer %s %.0f/s -> %.3fx "
                  + "(>= 1.2: %s)%n",
              body,
              c,
              k,
              w,
              rw,
              verdict(rw, 0.8),
              best,
              bestRps,
              rp,
              verdict(rp, 1.2)));
        } else {
          sb.append(String.format(
              Locale.ROOT,
              "| http, %s body | %d | %s | %s | %s: **%s** | " + "%s %s | %s: **%s** |%n",
              body,
              c,
              fmt(k),
              fmt(w),
              ratio3(rw),
              verdict(rw, 0.8),
              best,
              fmt(bestRps),
              ratio3(rp),
              verdict(rp, 1.2)));
        }
      }
    }
    return sb.toString();
  }

  private static String verdict(double ratio, double target) {
    return Double.isNaN(ratio) ? "n/a" : ratio >= target ? "met" : "missed";
  }

  private static String fmt(double rps) {
    return Double.isNaN(rps) ? "n/a" : String.format(Locale.ROOT, "%,.0f", rps);
  }

  private static String ratio(double r) {
    return Double.isNaN(r) || Double.isInfinite(r) ? "n/a" : String.format(Locale.ROOT, "%.2fx", r);
  }

  private static String ratio3(double r) {
    return Double.isNaN(r) || Double.isInfinite(r) ? "n/a" : String.format(Locale.ROOT, "%.3fx", r);
  }

  private static String ms(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    return String.format(
        Locale.ROOT, v < 1 ? "%.3f" : v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
  }

  private static String us(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, v < 100 ? "%.1f" : "%.0f", v);
  }

  /** ab reports whole milliseconds: 0 is "< 1". */
  private static String lat(String client, double v) {
    if (client.equals("ab") && !Double.isNaN(v)) {
      return v < 1 ? "< 1" : String.format(Locale.ROOT, "%.0f", v);
    }
    return ms(v);
  }

  static String label(String proto) {
    return switch (proto) {
      case "http" -> "http, keep-alive";
      case "https" -> "https, keep-alive";
      case "http-close" -> "http, no keep-alive (Connection: close)";
      default -> proto;
    };
  }

  static String markdown(
      Map<String, String> meta,
      List<Run> runs,
      List<Median> ms,
      List<String> chartFiles,
      String chartLink) {
    StringBuilder sb = new StringBuilder();
    String kind = meta.getOrDefault("label", "");
    sb.append("## End to end: keepalive bench vs wrk, ab and Java clients, against nginx\n\n");
    if (!kind.isEmpty()) {
      sb.append("**").append(kind).append("**\n\n");
    }
    sb.append("Results `")
        .append(meta.getOrDefault("results", "?"))
        .append("` (")
        .append(meta.getOrDefault("started", "?"))
        .append(", commit ")
        .append(meta.getOrDefault("commit", "?"))
        .append(").\n\n");
    sb.append("Command:\n\n```\n").append(meta.getOrDefault("command", "?")).append("\n```\n\n");
    if (meta.containsKey("full_command")) {
      sb.append("The full matrix (10 s runs, 3 rounds, every body, concurrency and protocol):\n\n"
              + "```\n")
          .append(meta.get("full_command"))
          .append("\n```\n\n");
    }
    sb.append("| | |\n|---|---|\n");
    row(
        sb,
        "Machine",
        meta.get("nproc") + " CPUs, " + meta.get("cpu") + "; " + meta.get("mem") + " RAM; "
            + meta.get("virt"));
    row(sb, "Kernel", meta.get("kernel"));
    row(sb, "OS", meta.get("os"));
    row(sb, "JDK", meta.get("jdk"));
    row(
        sb,
        "JVM options (every Java client)",
        "`" + meta.getOrDefault("java_opts", "") + "`"
            + " (defaults otherwise: G1, heap 1/4 of RAM)");
    row(
        sb,
        "nginx",
        meta.get("nginx") + ", " + meta.get("nginx_workers")
            + " worker process(es), access log off, keepalive_requests "
            + meta.get("nginx_keepalive_requests") + ", 127.0.0.1 only; "
            + meta.get("nginx_tls"));
    row(sb, "wrk", meta.get("wrk") + " (`" + meta.get("wrk_threads") + "`)");
    row(sb, "ab", meta.get("ab"));
    row(
        sb,
        "keepalive",
        meta.get("keepalive_version") + " (`keepalive bench`, "
            + meta.getOrDefault("keepalive_jar", "cli/target/keepalive.jar") + ", commit "
            + meta.getOrDefault("commit", "?") + ")");
    row(sb, "Java peers", meta.get("peer_versions"));
    row(
        sb,
        "Runs",
        meta.get("duration") + " s measured each, " + meta.get("rounds")
            + " round(s), Java clients warm up " + meta.get("warmup")
            + " s first (not counted"
            + (meta.containsKey("tls_warmup") && !meta.get("tls_warmup").equals(meta.get("warmup"))
                ? "; https: " + meta.get("tls_warmup") + " s"
                : "")
            + "); bodies " + meta.get("bodies") + "; concurrency "
            + meta.get("concurrency") + "; " + meta.get("protos"));
    row(
        sb,
        "Load average (1 min)",
        "before " + meta.get("load_before") + ", after "
            + meta.get("load_after") + "; during runs " + loadRange(runs)
            + " (the clients and nginx themselves, and anything else running; interleaved rounds keep the ratios fair)");
    sb.append('\n');

    sb.append("### Targets (http, c=16 and c=64)\n\n")
        .append(targets(ms, false))
        .append('\n');

    sb.append("### Medians\n\n");
    sb.append("Requests/s are medians over the rounds; *x wrk* is that median over wrk's median "
        + "in the same scenario; latencies (ms, send to last body byte) are medians of each "
        + "run's percentile (ab reports whole milliseconds); *errors* are summed over the runs."
        + "\n\n*Client CPU us/req*: CPU time (user + system, every thread) per request. For the "
        + "Java harnesses (apache-async, okhttp, jdk-httpclient, reactor-netty, keepalive-lib) "
        + "and for `keepalive bench` (its report's cpuMicrosPerRequest) it is the process's CPU "
        + "during the measured run only; for wrk and ab the whole process. *nginx CPU us/req*: "
        + "nginx's worker over the whole run, over every request sent (warm-up included). CPU "
        + "per request hardly depends on the machine's load, unlike requests/s.\n\n");
    String current = null;
    for (Median m : ms) {
      String key = m.proto + "|" + m.body;
      if (!key.equals(current)) {
        current = key;
        sb.append("\n#### ")
            .append(label(m.proto))
            .append(", ")
            .append(bodyLabel(m.body))
            .append(" body\n\n");
        sb.append("| c | client | req/s | x wrk | p50 | p99 | client CPU us/req "
            + "| nginx CPU us/req | errors | runs | notes |\n");
        sb.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
      }
      double w = rps(ms, m.proto, m.body, m.c, "wrk");
      String notes = m.errorNote == null ? "" : m.errorNote;
      if (m.served != null && m.client.equals("keepalive")) {
        notes = (notes.isEmpty() ? "" : notes + "; ") + m.served;
      }
      sb.append(String.format(
          Locale.ROOT,
          "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |%n",
          m.c,
          m.client.equals("keepalive") ? "**keepalive**" : m.client,
          m.available ? fmt(m.rps) : "n/a",
          ratio(m.rps / w),
          lat(m.client, m.p50),
          lat(m.client, m.p99),
          us(m.clientCpuUs),
          us(m.nginxCpuUs),
          m.available ? String.valueOf(m.errors) : "-",
          m.runs,
          notes.replace("|", "/")));
    }
    sb.append('\n');

    // what keep-alive saves
    StringBuilder ka = new StringBuilder();
    for (Median m : ms) {
      if (!m.proto.equals("http")) {
        continue;
      }
      double close = rps(ms, "http-close", m.body, m.c, m.client);
      if (Double.isNaN(close) || !m.available) {
        continue;
      }
      ka.append(String.format(
          Locale.ROOT,
          "| %s | %d | %s | %s | %s | %s |%n",
          m.body,
          m.c,
          m.client,
          fmt(m.rps),
          fmt(close),
          ratio(m.rps / close)));
    }
    if (ka.length() > 0) {
      sb.append("### What keep-alive saves (http)\n\n");
      sb.append("| body | c | client | keep-alive req/s | Connection: close req/s | "
              + "keep-alive / close |\n|---|---:|---|---:|---:|---:|\n")
          .append(ka)
          .append('\n');
    }

    if (!chartFiles.isEmpty()) {
      sb.append("### Charts\n\n");
      for (String f : chartFiles) {
        sb.append("![")
            .append(f)
            .append("](")
            .append(chartLink)
            .append('/')
            .append(f)
            .append(")\n\n");
      }
    }

    sb.append("<details><summary>Every run</summary>\n\n");
    sb.append("| scenario | body | c | round | client | req/s | p50 | p99 | client CPU us/req "
        + "| nginx CPU us/req | errors | load1 |\n");
    sb.append("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Run r : runs) {
      sb.append(String.format(
          Locale.ROOT,
          "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |%n",
          r.proto,
          r.body,
          r.c,
          r.round,
          r.client,
          r.ok ? fmt(r.rps) : "n/a",
          lat(r.client, r.p50),
          lat(r.client, r.p99),
          us(r.clientCpuUs),
          us(r.nginxCpuUs),
          r.ok ? String.valueOf(r.errors) : "-",
          Double.isNaN(r.load1) ? "-" : String.format(Locale.ROOT, "%.2f", r.load1)));
    }
    sb.append("\n</details>\n");
    return sb.toString();
  }

  /** The same colour for a client in every chart. */
  private static java.awt.Color color(String client) {
    return switch (client) {
      case "wrk" -> new java.awt.Color(0x4d, 0x4d, 0x4d);
      case "ab" -> new java.awt.Color(0xa6, 0xa6, 0xa6);
      case "keepalive" -> new java.awt.Color(0xd6, 0x27, 0x28);
      case "apache-async" -> new java.awt.Color(0x1f, 0x77, 0xb4);
      case "okhttp" -> new java.awt.Color(0x2c, 0xa0, 0x2c);
      case "jdk-httpclient" -> new java.awt.Color(0xff, 0x7f, 0x0e);
      case "reactor-netty" -> new java.awt.Color(0x94, 0x67, 0xbd);
      default -> new java.awt.Color(0x8c, 0x56, 0x4b);
    };
  }

  private static String bodyLabel(String body) {
    return body.equals("small") ? "small (19-byte)" : body;
  }

  private static String loadRange(List<Run> runs) {
    double[] l = runs.stream()
        .mapToDouble(Run::load1)
        .filter(x -> !Double.isNaN(x))
        .sorted()
        .toArray();
    if (l.length == 0) {
      return "?";
    }
    return String.format(Locale.ROOT, "%.2f-%.2f (median %.2f)", l[0], l[l.length - 1], median(l));
  }

  private static void row(StringBuilder sb, String k, String v) {
    sb.append("| ")
        .append(k)
        .append(" | ")
        .append(v == null ? "?" : v.replace("|", "/"))
        .append(" |\n");
  }

  static void writeInto(Path out, String generated, Map<String, String> meta) throws IOException {
    String block = BEGIN + "\n" + generated + END;
    String text;
    if (Files.exists(out)) {
      String old = Files.readString(out, StandardCharsets.UTF_8);
      int b = old.indexOf(BEGIN);
      int e = old.indexOf(END);
      if (b >= 0 && e > b) {
        text = old.substring(0, b) + block + old.substring(e + END.length());
      } else {
        text = old + "\n" + block + "\n";
      }
    } else {
      text = "# Benchmarks\n\n"
          + "End-to-end figures written by `bench/run-e2e.sh` (the part between the e2e "
          + "markers is regenerated; the rest is written by hand).\n\n" + block + "\n";
    }
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, text, StandardCharsets.UTF_8);
  }

  static void writeCsv(Path f, List<Median> ms) throws IOException {
    StringBuilder sb = new StringBuilder("proto,body,c,client,runs,rps,p50_ms,p99_ms,errors,"
        + "ratio_to_wrk,client_cpu_us_per_req,nginx_cpu_us_per_req\n");
    for (Median m : ms) {
      sb.append(String.format(
          Locale.ROOT,
          "%s,%s,%d,%s,%d,%.1f,%.4f,%.4f,%d,%.4f,%.2f,%.2f%n",
          m.proto,
          m.body,
          m.c,
          m.client,
          m.runs,
          m.rps,
          m.p50,
          m.p99,
          m.errors,
          m.rps / rps(ms, m.proto, m.body, m.c, "wrk"),
          m.clientCpuUs,
          m.nginxCpuUs));
    }
    Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
  }

  /** One grouped bar chart per scenario (protocol and body): req/s per client per concurrency. */
  static List<String> charts(List<Median> ms, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<String> files = new ArrayList<>();
    Map<String, List<Median>> byScenario = new LinkedHashMap<>();
    for (Median m : ms) {
      byScenario.computeIfAbsent(m.proto + "|" + m.body, k -> new ArrayList<>()).add(m);
    }
    for (Map.Entry<String, List<Median>> e : byScenario.entrySet()) {
      List<Median> l = e.getValue();
      String proto = l.get(0).proto;
      String body = l.get(0).body;
      TreeSet<Integer> cs = new TreeSet<>();
      l.forEach(m -> cs.add(m.c));
      List<String> clients = new ArrayList<>();
      for (String c : CLIENT_ORDER) {
        if (l.stream().anyMatch(m -> m.client.equals(c))) {
          clients.add(c);
        }
      }
      CategoryChart chart = new CategoryChartBuilder()
          .width(1000)
          .height(520)
          .title("requests/s: " + label(proto) + ", " + bodyLabel(body) + " body (median)")
          .xAxisTitle("concurrency")
          .yAxisTitle("requests/s")
          .build();
      chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
      chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
      chart.getStyler().setPlotGridVerticalLinesVisible(false);
      chart.getStyler().setAvailableSpaceFill(0.85);
      chart.getStyler().setYAxisDecimalPattern("#,###");
      List<String> xs = cs.stream().map(c -> "c=" + c).toList();
      for (String client : clients) {
        List<Double> ys = new ArrayList<>();
        for (int c : cs) {
          double v = rps(l, proto, body, c, client);
          ys.add(Double.isNaN(v) ? 0.0 : v);
        }
        chart.addSeries(client, xs, ys).setFillColor(color(client));
      }
      String name = "e2e-" + proto + "-" + body + ".png";
      BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
      files.add(name);
    }
    return files;
  }
}
