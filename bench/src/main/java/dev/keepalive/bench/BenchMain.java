package dev.keepalive.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * JMH's own command line ({@code org.openjdk.jmh.Main}'s options), followed by a summary of the
 * pool benchmarks: cycles/s and ns/cycle per benchmark and parameter, the cost ratios the
 * project tracks (keys=10000 vs keys=1, with a queue vs keys=1) and the lead's targets; for the
 * TLS benchmarks, requests/s, CPU per request on both sides and the https/http and
 * new/pooled cost ratios.
 *
 * <p>{@code -Dsummary.file=path} also writes the summary to that file.
 */
public final class BenchMain {
  private BenchMain() {}

  /**
   * A result row; {@code loopCpu} and {@code sinkCpu} are the TLS benchmarks' secondary results
   * (CPU ns per second of the loop thread and of the sink's thread), NaN elsewhere.
   */
  private record Row(
      String name,
      String params,
      int threads,
      double score,
      double error,
      double loopCpu,
      double sinkCpu) {
    double nsPerCycle() {
      return 1e9 / score;
    }

    double loopCpuPerCycle() {
      return loopCpu / score;
    }

    double sinkCpuPerCycle() {
      return sinkCpu / score;
    }
  }

  public static void main(String[] args) throws Exception {
    CommandLineOptions cli = new CommandLineOptions(args);
    if (cli.shouldHelp()
        || cli.shouldList()
        || cli.shouldListWithParams()
        || cli.shouldListProfilers()
        || cli.shouldListResultFormats()) {
      org.openjdk.jmh.Main.main(args);
      return;
    }
    Collection<RunResult> results = new Runner(cli).run();
    String summary = summary(results);
    System.out.println();
    System.out.print(summary);
    String file = System.getProperty("summary.file");
    if (file != null) {
      write(Path.of(file), summary);
    }
  }

  private static void write(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  static String summary(Collection<RunResult> results) {
    List<Row> rows = new ArrayList<>();
    for (RunResult r : results) {
      String bench = r.getParams().getBenchmark();
      String name = bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1);
      StringBuilder params = new StringBuilder();
      for (String key : r.getParams().getParamsKeys()) {
        if (params.length() > 0) {
          params.append(',');
        }
        params.append(key).append('=').append(r.getParams().getParam(key));
      }
      rows.add(new Row(
          name,
          params.toString(),
          r.getParams().getThreads(),
          r.getPrimaryResult().getScore(),
          r.getPrimaryResult().getScoreError(),
          secondary(r, "loopCpu"),
          secondary(r, "sinkCpu")));
    }

    StringBuilder out = new StringBuilder();
    Lines p = new Lines(out);
    p.line("== keepalive pool benchmarks: summary ==");
    p.line(String.format(
        Locale.ROOT,
        "%-40s %-14s %7s %14s %12s %10s",
        "benchmark",
        "params",
        "threads",
        "cycles/s",
        "± (99.9%)",
        "ns/cycle"));
    for (Row r : rows) {
      p.line(String.format(
          Locale.ROOT,
          "%-40s %-14s %7d %,14.0f %,12.0f %10.0f",
          r.name,
          r.params.isEmpty() ? "-" : r.params,
          r.threads,
          r.score,
          Double.isNaN(r.error) ? 0 : r.error,
          r.nsPerCycle()));
    }

    Row one = find(rows, "PoolCycleBenchmark.loopCached", "keys=1");
    Row many = find(rows, "PoolCycleBenchmark.loopCached", "keys=10000");
    Row queue = find(rows, "PoolCycleBenchmark.loopCachedWithQueue", "");
    if (one != null || many != null || queue != null) {
      p.line("");
      p.line("ratios (throughput ratio; cost per cycle ratio, target <= 1.5x):");
      ratio(p, "loopCached keys=10000 / keys=1", many, one);
      ratio(p, "loopCachedWithQueue / loopCached keys=1", queue, one);
    }

    Row floor1 = find(rows, "ProbeBaselineBenchmark.twoProbes", "sockets=1");
    Row floorN = find(rows, "ProbeBaselineBenchmark.twoProbes", "sockets=10000");
    if (floor1 != null || floorN != null) {
      p.line("");
      p.line("OS floor (two 1-byte reads per cycle, no keepalive code) vs loopCached, ns/cycle:");
      floor(p, "1 socket / keys=1", floor1, one);
      floor(p, "10000 sockets / keys=10000", floorN, many);
      if (floor1 != null && floorN != null && one != null && many != null) {
        p.line(String.format(
            Locale.ROOT,
            "  keys=10000 - keys=1: %+.0f ns/cycle, of which the two reads on cold sockets %+.0f",
            many.nsPerCycle() - one.nsPerCycle(),
            floorN.nsPerCycle() - floor1.nsPerCycle()));
      }
    }

    Row http = find(rows, "TlsBenchmark.pooledRequest", "scheme=http");
    Row https = find(rows, "TlsBenchmark.pooledRequest", "scheme=https");
    Row resumed = find(rows, "TlsBenchmark.newTlsRequest", "resume=true");
    Row full = find(rows, "TlsBenchmark.newTlsRequest", "resume=false");
    if (http != null || https != null || resumed != null || full != null) {
      tls(p, http, https, resumed, full);
    }

    p.line("");
    p.line("targets:");
    target(p, "loopCached keys=1 >= 800,000 cycles/s", one, 800_000);
    Row thread1 = find(rows, "ThreadCachedBenchmark.threadCached", "keys=1");
    Row threadN = find(rows, "ThreadCachedBenchmark.threadCached", "keys=10000");
    target(p, "threadCached keys=1 >= 150,000 cycles/s", thread1, 150_000);
    target(
        p,
        "newConnection >= 15,000 cycles/s",
        find(rows, "NewConnectionBenchmark.newConnection", null),
        15_000);
    if (many != null && one != null) {
      costTarget(p, "cost keys=10000 <= 1.5x keys=1", many, one);
    }
    if (queue != null && one != null) {
      costTarget(p, "cost with 10,000 queued <= 1.5x keys=1", queue, one);
    }
    if (threadN != null && thread1 != null) {
      costTarget(p, "plain thread: cost keys=10000 <= 1.5x keys=1", threadN, thread1);
    }
    if (http != null && https != null) {
      double x = https.nsPerCycle() / http.nsPerCycle();
      // the CPU both sides spend per request varies far less than the wall time on a busy
      // machine: shown next to the verdict so that a MISSED under load can be told apart
      double cpu = (https.loopCpuPerCycle() + https.sinkCpuPerCycle())
          / (http.loopCpuPerCycle() + http.sinkCpuPerCycle());
      p.line(String.format(
          Locale.ROOT,
          "  %-48s %11.2fx  %s (CPU per request, loop + sink: " + "%.2fx)",
          "pooled https cost <= 2.0x pooled http",
          x,
          x <= 2.0 ? "MET" : "MISSED",
          cpu));
    }
    return out.toString();
  }

  /** The TLS benchmarks: requests/s, cost and CPU per request, and their ratios. */
  private static void tls(Lines p, Row http, Row https, Row resumed, Row full) {
    p.line("");
    p.line("TLS (TlsBenchmark: one 64-byte request and its echo per op; CPU = ns of CPU per "
        + "request of the manager's");
    p.line("loop thread and of the sink's serving thread; the rest of ns/request is waiting):");
    p.line(String.format(
        Locale.ROOT,
        "  %-30s %12s %10s %12s %12s",
        "",
        "requests/s",
        "ns/req",
        "loop CPU",
        "sink CPU"));
    tlsRow(p, "pooled http", http);
    tlsRow(p, "pooled https", https);
    tlsRow(p, "new https (resumed session)", resumed);
    tlsRow(p, "new https (full handshake)", full);
    p.line("  cost ratios:");
    tlsRatio(p, "pooled https / pooled http (target <= 2.0x)", https, http);
    tlsRatio(p, "new https resumed / pooled https (keep-alive)", resumed, https);
    tlsRatio(p, "new https full / pooled https (keep-alive)", full, https);
    tlsRatio(p, "new https full / new https resumed", full, resumed);
  }

  private static void tlsRow(Lines p, String label, Row r) {
    if (r == null) {
      p.line(String.format(Locale.ROOT, "  %-30s (not run)", label));
      return;
    }
    p.line(String.format(
        Locale.ROOT,
        "  %-30s %,12.0f %,10.0f %,12.0f %,12.0f",
        label,
        r.score,
        r.nsPerCycle(),
        r.loopCpuPerCycle(),
        r.sinkCpuPerCycle()));
  }

  private static void tlsRatio(Lines p, String label, Row num, Row den) {
    compare(
        p,
        "    %-46s ",
        label,
        num,
        den,
        () -> String.format(
            Locale.ROOT,
            "%7.2fx   loop CPU %6.2fx   sink CPU %6.2fx",
            num.nsPerCycle() / den.nsPerCycle(),
            num.loopCpuPerCycle() / den.loopCpuPerCycle(),
            num.sinkCpuPerCycle() / den.sinkCpuPerCycle()));
  }

  /**
   * A line of {@code label} in {@code labelFormat}, then what {@code ratios} says of {@code num}
   * against {@code den}, or "(not run)" when either is missing.
   */
  private static void compare(
      Lines p, String labelFormat, String label, Row num, Row den, Supplier<String> ratios) {
    String head = String.format(Locale.ROOT, labelFormat, label);
    p.line(head + (num == null || den == null ? "(not run)" : ratios.get()));
  }

  /** A secondary result's score, NaN when the benchmark has none of that name. */
  private static double secondary(RunResult r, String label) {
    Result<?> s = r.getSecondaryResults().get(label);
    return s == null ? Double.NaN : s.getScore();
  }

  /** The first row of benchmark {@code name} with exactly {@code params} (null: any). */
  private static Row find(List<Row> rows, String name, String params) {
    for (Row r : rows) {
      if (r.name.equals(name) && (params == null || r.params.equals(params))) {
        return r;
      }
    }
    return null;
  }

  private static void ratio(Lines p, String label, Row num, Row den) {
    compare(
        p,
        "  %-48s ",
        label,
        num,
        den,
        () -> String.format(
            Locale.ROOT,
            "throughput %.2f; cost per cycle %.2fx",
            num.score / den.score,
            den.score / num.score));
  }

  private static void floor(Lines p, String label, Row floor, Row cycle) {
    if (floor == null) {
      return;
    }
    String rest = cycle == null
        ? ""
        : String.format(
            Locale.ROOT,
            "; loopCached %.0f, so %.0f ns (%.0f%%) above the floor",
            cycle.nsPerCycle(),
            cycle.nsPerCycle() - floor.nsPerCycle(),
            100 * (cycle.nsPerCycle() - floor.nsPerCycle()) / cycle.nsPerCycle());
    p.line(String.format(Locale.ROOT, "  %-28s two reads %.0f%s", label, floor.nsPerCycle(), rest));
  }

  private static void costTarget(Lines p, String label, Row r, Row base) {
    double x = r.nsPerCycle() / base.nsPerCycle();
    p.line(
        String.format(Locale.ROOT, "  %-48s %11.2fx  %s", label, x, x <= 1.5 ? "MET" : "MISSED"));
  }

  private static void target(Lines p, String label, Row r, double min) {
    if (r == null) {
      return;
    }
    p.line(String.format(
        Locale.ROOT,
        "  %-48s %,12.0f  %s",
        label,
        r.score,
        r.score >= min
            ? "MET"
            : String.format(Locale.ROOT, "MISSED (%.0f%% of target)", 100 * r.score / min)));
  }

  /** Appends lines to a StringBuilder (the summary goes to stdout and to a file). */
  private static final class Lines {
    private final StringBuilder out;

    Lines(StringBuilder out) {
      this.out = out;
    }

    void line(String s) {
      out.append(s).append(System.lineSeparator());
    }
  }
}
