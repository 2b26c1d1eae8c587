package dev.keepalive.cli;

import dev.keepalive.FromCache;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** The bench report, as text for people or as JSON (the same fields). */
final class BenchReport {
  /** What was run; printed above the results. */
  record Setup(
      String url,
      boolean embedded,
      int concurrency,
      int maxPerHost,
      int maxOpen,
      Duration keepAlive,
      boolean keepAliveOn,
      Duration timeout,
      long requestLimit,
      Duration durationLimit,
      Duration warmup,
      double rate,
      boolean latencyDistribution) {}

  private static final double[] PERCENTILES = {50, 90, 99};
  /** With --latency, as wrk prints them. */
  static final double[] DISTRIBUTION = {50, 75, 90, 99, 99.9, 99.99, 99.999, 100};

  private BenchReport() {}

  /**
   * @param warm the warm-up's counts, or null when there was none
   * @param interrupted the run was stopped early (Ctrl-C)
   * @param stoppedBecause why the run stopped by itself before its limit, or null
   */
  static String text(
      Setup s,
      Bench.Result warm,
      Bench.Result r,
      ConnectionTimes.Times pool,
      boolean interrupted,
      String stoppedBecause) {
    StringBuilder sb = new StringBuilder();
    sb.append("keepalive bench ")
        .append(s.url())
        .append(s.embedded() ? " (embedded server)" : "")
        .append('\n');
    sb.append(String.format(
        Locale.ROOT,
        "  %d concurrent, max %d per host, %d open, %s, " + "timeout %s; %s%n",
        s.concurrency(),
        s.maxPerHost(),
        s.maxOpen(),
        s.keepAliveOn()
            ? "keep-alive " + Durations.format(s.keepAlive())
            : "no keep-alive (Connection: close)",
        Durations.format(s.timeout()),
        limits(s)));
    if (s.rate() > 0) {
      sb.append(String.format(
          Locale.ROOT,
          "  constant rate %,.1f requests/s; latency measured from each request's scheduled "
              + "send time (corrected for coordinated omission)%n",
          s.rate()));
    }
    if (warm != null) {
      long opened = warm.connectionsOpened();
      sb.append(String.format(
          Locale.ROOT,
          "  after a %s warm-up (%,d requests, %,d connection%s "
              + "opened, %,d failed: not counted)%n",
          Durations.format(s.warmup()),
          warm.requests(),
          opened,
          opened == 1 ? "" : "s",
          warm.failed));
    }
    if (interrupted) {
      sb.append("  interrupted: the counts are those of the requests finished so far\n");
    }
    if (stoppedBecause != null) {
      sb.append("  stopped early: ").append(stoppedBecause).append('\n');
    }
    sb.append('\n');
    row(
        sb,
        "Requests",
        String.format(
            Locale.ROOT,
            "%,d in %.2f s = %,.1f/s%s",
            r.requests(),
            r.elapsedNanos / 1e9,
            r.requestsPerSecond(),
            r.failed == 0 ? "" : String.format(Locale.ROOT, "  (%,d failed)", r.failed)));
    row(sb, "Body bytes", String.format(Locale.ROOT, "%,d", r.bytes));
    if (r.cpuMicrosPerRequest() >= 0) {
      row(
          sb,
          "CPU",
          String.format(
              Locale.ROOT,
              "%.1f us per request (this process, every " + "thread%s)",
              r.cpuMicrosPerRequest(),
              s.embedded() ? ", embedded server included" : ""));
    }
    Histogram h = r.latency;
    if (h.getTotalCount() == 0) {
      row(sb, "Latency", "-");
    } else {
      StringBuilder l = new StringBuilder();
      for (double p : PERCENTILES) {
        l.append(
            String.format(Locale.ROOT, "p%d %s   ", (int) p, millis(h.getValueAtPercentile(p))));
      }
      l.append("max ")
          .append(millis(h.getMaxValue()))
          .append("   (mean ")
          .append(millis((long) h.getMean()))
          .append(')');
      row(sb, "Latency", l.toString());
      if (s.latencyDistribution()) {
        String label = "Distribution";
        for (double p : DISTRIBUTION) {
          row(
              sb,
              label,
              String.format(
                  Locale.ROOT, "%8s%%  %s", percent(p), millis(h.getValueAtPercentile(p))));
          label = "";
        }
      }
    }
    StringBuilder st = new StringBuilder();
    r.status.forEach((code, n) -> st.append(st.length() == 0 ? "" : "   ")
        .append(String.format(Locale.ROOT, "%d: %,d", code, n)));
    row(sb, "Status", st.length() == 0 ? "-" : st.toString());
    if (r.errors.isEmpty()) {
      row(sb, "Errors", "none");
    } else {
      String label = "Errors";
      for (Map.Entry<String, Long> e : r.errors.entrySet()) {
        row(
            sb,
            label,
            String.format(
                Locale.ROOT,
                "%-8s %,d   %s",
                e.getKey(),
                e.getValue(),
                r.errorSamples.get(e.getKey())));
        label = "";
      }
    }
    row(sb, "Connections", String.format(Locale.ROOT, "%,d opened", r.connectionsOpened()));
    StringBuilder sv = new StringBuilder();
    for (FromCache how : FromCache.values()) {
      sv.append(String.format(Locale.ROOT, "%s %,d   ", how, r.served(how)));
    }
    sv.append(String.format(Locale.ROOT, "reuse %.2f%%", 100 * r.reuseRatio()));
    if (r.retried > 0) {
      sv.append(String.format(Locale.ROOT, "   (%,d retried)", r.retried));
    }
    row(sb, "Served", sv.toString());
    row(sb, "Wait", times(pool.connectionWait(), "hand-out"));
    row(sb, "Connect", times(pool.connect(), "connect"));
    row(sb, "TLS", times(pool.tls(), "handshake"));
    StringBuilder closed = new StringBuilder();
    pool.closes()
        .forEach((reason, n) -> closed.append(String.format(Locale.ROOT, "%s %,d   ", reason, n)));
    row(
        sb,
        "Closed",
        closed.length() == 0 ? "none during the run" : closed.toString().trim());
    if (s.latencyDistribution() && h.getTotalCount() > 0) {
      sb.append("\n  Detailed percentile spectrum (ms):\n").append(spectrum(h));
    }
    return sb.toString();
  }

  /** "p50 0.004 ms   p90 ...   max 1.20 ms   (200 hand-outs)", or "-" when {@code h} is empty. */
  private static String times(Histogram h, String what) {
    long n = h.getTotalCount();
    if (n == 0) {
      return "-";
    }
    StringBuilder t = new StringBuilder();
    for (double p : PERCENTILES) {
      t.append(String.format(Locale.ROOT, "p%d %s   ", (int) p, millis(h.getValueAtPercentile(p))));
    }
    return t.append(String.format(
            Locale.ROOT,
            "max %s   (%,d %s%s)",
            millis(h.getMaxValue()),
            n,
            what,
            n == 1 ? "" : "s"))
        .toString();
  }

  /** The JSON of {@link #times}: count, p50, p90, p99, max in milliseconds (null when empty). */
  private static Map<String, Object> timesJson(Histogram h) {
    Map<String, Object> m = new LinkedHashMap<>();
    long n = h.getTotalCount();
    m.put("count", n);
    for (double p : PERCENTILES) {
      m.put("p" + (int) p, n == 0 ? null : h.getValueAtPercentile(p) / 1e6);
    }
    m.put("max", n == 0 ? null : h.getMaxValue() / 1e6);
    return m;
  }

  /** "50", "99.9", "99.999". */
  static String percent(double p) {
    return p == Math.rint(p) ? String.valueOf((long) p) : String.valueOf(p);
  }

  /**
   * HdrHistogram's full percentile spectrum of {@code h} (nanoseconds) in milliseconds, as wrk2
   * prints it with --latency.
   */
  static String spectrum(Histogram h) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.PrintStream ps =
        new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8)) {
      h.outputPercentileDistribution(ps, 5, 1e6);
    }
    return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static String limits(Setup s) {
    if (s.requestLimit() > 0 && s.durationLimit() != null) {
      return String.format(
          Locale.ROOT, "%,d requests or %s", s.requestLimit(), Durations.format(s.durationLimit()));
    }
    if (s.requestLimit() > 0) {
      return String.format(Locale.ROOT, "%,d requests", s.requestLimit());
    }
    return "for " + Durations.format(s.durationLimit());
  }

  private static void row(StringBuilder sb, String label, String value) {
    sb.append(String.format(Locale.ROOT, "  %-12s %s%n", label, value));
  }

  /** "0.412 ms", "2.31 ms", "23.7 ms", "412 ms". */
  static String millis(long nanos) {
    double ms = nanos / 1e6;
    int decimals = ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0;
    return Columns.decimal(nanos, 6, decimals) + " ms";
  }

  static String json(
      Setup s,
      Bench.Result warm,
      Bench.Result r,
      ConnectionTimes.Times pool,
      boolean interrupted,
      String stoppedBecause) {
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("concurrency", s.concurrency());
    settings.put("maxPerHost", s.maxPerHost());
    settings.put("maxOpen", s.maxOpen());
    settings.put("keepAlive", s.keepAliveOn());
    settings.put("keepAliveSeconds", s.keepAlive().toNanos() / 1e9);
    settings.put("timeoutSeconds", s.timeout().toNanos() / 1e9);
    settings.put("requestLimit", s.requestLimit() > 0 ? s.requestLimit() : null);
    settings.put(
        "durationLimitSeconds",
        s.durationLimit() == null ? null : s.durationLimit().toNanos() / 1e9);
    settings.put("warmupSeconds", s.warmup() == null ? null : s.warmup().toNanos() / 1e9);
    settings.put("rate", s.rate() > 0 ? s.rate() : null);

    Map<String, Object> latency = new LinkedHashMap<>();
    Histogram h = r.latency;
    for (double p : PERCENTILES) {
      latency.put("p" + (int) p, h.getTotalCount() == 0 ? null : h.getValueAtPercentile(p) / 1e6);
    }
    latency.put("max", h.getTotalCount() == 0 ? null : h.getMaxValue() / 1e6);
    latency.put("mean", h.getTotalCount() == 0 ? null : h.getMean() / 1e6);
    latency.put("fromScheduledSendTime", s.rate() > 0);
    if (s.latencyDistribution()) {
      Map<String, Object> distribution = new LinkedHashMap<>();
      for (double p : DISTRIBUTION) {
        distribution.put(
            percent(p), h.getTotalCount() == 0 ? null : h.getValueAtPercentile(p) / 1e6);
      }
      latency.put("distribution", distribution);
    }

    Map<String, Object> status = new LinkedHashMap<>();
    r.status.forEach((code, n) -> status.put(String.valueOf(code), n));
    Map<String, Object> errors = new LinkedHashMap<>();
    r.errors.forEach((function, n) -> {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("count", n);
      e.put("example", r.errorSamples.get(function));
      errors.put(function, e);
    });
    Map<String, Object> served = new LinkedHashMap<>();
    for (FromCache how : FromCache.values()) {
      served.put(how.name(), r.served(how));
    }

    Map<String, Object> m = new LinkedHashMap<>();
    m.put("url", s.url());
    m.put("embeddedServer", s.embedded());
    m.put("settings", settings);
    if (warm != null) {
      Map<String, Object> w = new LinkedHashMap<>();
      w.put("requests", warm.requests());
      w.put("failed", warm.failed);
      w.put("connectionsOpened", warm.connectionsOpened());
      m.put("warmup", w);
    } else {
      m.put("warmup", null);
    }
    m.put("interrupted", interrupted);
    m.put("stoppedEarly", stoppedBecause);
    m.put("elapsedSeconds", r.elapsedNanos / 1e9);
    m.put("requests", r.requests());
    m.put("succeeded", r.succeeded);
    m.put("failed", r.failed);
    m.put("requestsPerSecond", r.requestsPerSecond());
    m.put("bodyBytes", r.bytes);
    m.put("cpuMicrosPerRequest", r.cpuMicrosPerRequest() < 0 ? null : r.cpuMicrosPerRequest());
    m.put("latencyMs", latency);
    m.put("status", status);
    m.put("errors", errors);
    m.put("connectionsOpened", r.connectionsOpened());
    m.put("servedBy", served);
    m.put("reuseRatio", r.reuseRatio());
    m.put("retried", r.retried);
    m.put("connectionWaitMs", timesJson(pool.connectionWait()));
    m.put("connectMs", timesJson(pool.connect()));
    m.put("tlsHandshakeMs", timesJson(pool.tls()));
    Map<String, Object> closes = new LinkedHashMap<>();
    pool.closes().forEach((reason, n) -> closes.put(reason.name(), n));
    m.put("closes", closes);
    return Json.write(m) + "\n";
  }
}
