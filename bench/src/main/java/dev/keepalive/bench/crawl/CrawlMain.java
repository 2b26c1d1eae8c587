package dev.keepalive.bench.crawl;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.RejectionInversionZipfSampler;
import org.apache.commons.rng.simple.RandomSource;

/**
 * The crawl benchmark, one client per process (bench/run-crawl-bench.sh runs each client in turn):
 * {@code --requests} GETs over {@code --hosts} host names {@code h0.crawl.test ...}, which a local
 * DNS server (the script's dnsmasq) maps to as many 127.x.y.z addresses where one nginx answers;
 * the hosts drawn with a Zipf distribution (exponent {@code --zipf}; h0 the most frequent) from a
 * fixed seed, so every client sends the same sequence; {@code --concurrency} chains, each sending
 * its next request when its last one completes. Before measuring, {@code --warmup} requests from
 * another sequence of the same distribution (JIT, pools, nothing counted).
 *
 * <p>Prints the throughput, the latency of the requests (from the moment a chain sends one to its
 * whole body: the wait for a connection, a connect with its lookup, the exchange), the client's
 * connection counts, and one {@code crawl-result} line of key=value pairs that
 * {@link CrawlSummary} reads; {@code --result FILE} appends that line to FILE.
 */
public final class CrawlMain {
  /** The command line. */
  static final class Options {
    String client = "keepalive";
    InetSocketAddress dns = new InetSocketAddress("127.0.0.1", 5353);
    int port = 8080;
    int hosts = 10_000;
    String domain = "crawl.test";
    int requests = 200_000;
    int warmup = 50_000;
    int concurrency = 256;
    int maxPerHost = 2;
    int maxOpen = 1_000;
    double zipf = 1.0;
    long seed = 17;
    int timeoutSeconds = 60;
    Path result;

    String url(int host) {
      return "http://h" + host + "." + domain + ":" + port + "/";
    }

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value after " + a);
        }
        String v = args[++i];
        switch (a) {
          case "--client" -> o.client = v;
          case "--dns" -> {
            int colon = v.lastIndexOf(':');
            o.dns = new InetSocketAddress(
                v.substring(0, colon), Integer.parseInt(v.substring(colon + 1)));
          }
          case "--port" -> o.port = Integer.parseInt(v);
          case "--hosts" -> o.hosts = Integer.parseInt(v);
          case "--domain" -> o.domain = v;
          case "--requests" -> o.requests = Integer.parseInt(v);
          case "--warmup" -> o.warmup = Integer.parseInt(v);
          case "--concurrency" -> o.concurrency = Integer.parseInt(v);
          case "--max-per-host" -> o.maxPerHost = Integer.parseInt(v);
          case "--max-open" -> o.maxOpen = Integer.parseInt(v);
          case "--zipf" -> o.zipf = Double.parseDouble(v);
          case "--seed" -> o.seed = Long.parseLong(v);
          case "--timeout" -> o.timeoutSeconds = Integer.parseInt(v);
          case "--result" -> o.result = Path.of(v);
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
      }
      return o;
    }
  }

  /**
   * A run (warm-up or measured) still going after this long fails: far more than any run takes,
   * even with the 2 cores shared by a load of 40 (a request that hangs fails on its own timeout).
   */
  static final long RUN_LIMIT_SECONDS = 3_600;

  private CrawlMain() {}

  /** The host sequence: {@code n} draws of a Zipf distribution over the hosts, 0 the most frequent. */
  static int[] sequence(Options o, long seed, int n) {
    UniformRandomProvider rng = RandomSource.XO_RO_SHI_RO_128_PP.create(seed);
    RejectionInversionZipfSampler zipf = new RejectionInversionZipfSampler(rng, o.hosts, o.zipf);
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = zipf.sample() - 1;
    }
    return s;
  }

  /** Runs one client; exits 1 if any request failed. */
  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    DnsjavaResolver dns = new DnsjavaResolver(o.dns);
    // the DNS server answers before anything is measured
    String probe = "h0." + o.domain;
    System.out.println("dns " + o.dns + ": " + probe + " -> "
        + dns.resolve(probe).toCompletableFuture().get(10, TimeUnit.SECONDS));
    int[] measured = sequence(o, o.seed, o.requests);
    int[] warm = sequence(o, o.seed + 1, o.warmup);
    long distinct = java.util.Arrays.stream(measured).distinct().count();
    int top = 0;
    for (int h : measured) {
      top += h == 0 ? 1 : 0;
    }

    int failed;
    try (CrawlClient client = create(o, dns)) {
      System.out.printf(
          Locale.ROOT,
          "crawl %s: %,d requests over %,d hosts (%,d distinct drawn; h0 %.1f%%), zipf %.2f seed %d,"
              + " %d concurrent, max %d per host, %,d open; warm-up %,d requests%n",
          o.client,
          o.requests,
          o.hosts,
          distinct,
          100.0 * top / o.requests,
          o.zipf,
          o.seed,
          o.concurrency,
          o.maxPerHost,
          o.maxOpen,
          o.warmup);
      if (o.warmup > 0) {
        Run w = new Run(client, warm, o.concurrency);
        w.go(RUN_LIMIT_SECONDS);
        System.out.printf(
            Locale.ROOT,
            "warm-up: %,d ok, %,d failed, %.2f s%n",
            w.ok.sum(),
            w.failed.sum(),
            w.elapsedNanos / 1e9);
      }
      client.countersSinceLastCall();
      Run r = new Run(client, measured, o.concurrency);
      long cpu0 = cpuNanos();
      r.go(RUN_LIMIT_SECONDS);
      long cpu = cpuNanos() - cpu0;
      Map<String, Long> counters = client.countersSinceLastCall();
      failed = (int) r.failed.sum();
      report(o, r, cpu, counters, distinct);
    }
    System.exit(failed == 0 ? 0 : 1);
  }

  private static CrawlClient create(Options o, DnsjavaResolver dns) {
    return switch (o.client) {
      case "keepalive" -> new KeepaliveCrawl(o, dns, false);
      case "keepalive-memo" -> new KeepaliveCrawl(o, dns, true);
      case "apache" -> new ApacheCrawl(o, dns);
      case "reactor" -> new ReactorCrawl(o, o.dns);
      default ->
        throw new IllegalArgumentException(
            "unknown client " + o.client + ": keepalive, apache, reactor or keepalive-memo");
    };
  }

  private static long cpuNanos() {
    return ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : -1;
  }

  private static void report(
      Options o, Run r, long cpuNanos, Map<String, Long> counters, long distinct)
      throws IOException {
    Histogram h = r.latency.getIntervalHistogram();
    double seconds = r.elapsedNanos / 1e9;
    long done = r.ok.sum() + r.failed.sum();
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("client", o.client);
    line.put("requests", done);
    line.put("failed", r.failed.sum());
    line.put("seconds", fmt(seconds));
    line.put("rps", fmt(done / seconds));
    line.put("p50ms", fmt(h.getValueAtPercentile(50) / 1e3));
    line.put("p99ms", fmt(h.getValueAtPercentile(99) / 1e3));
    line.put("p999ms", fmt(h.getValueAtPercentile(99.9) / 1e3));
    line.put("maxms", fmt(h.getMaxValue() / 1e3));
    line.put("cpuUsPerReq", cpuNanos < 0 ? "n/a" : fmt(cpuNanos / 1e3 / done));
    line.put("hosts", o.hosts);
    line.put("distinct", distinct);
    line.put("concurrency", o.concurrency);
    // Reactor Netty has no limit across hosts
    line.put("maxOpen", o.client.equals("reactor") ? "none" : o.maxOpen);
    line.putAll(counters);
    StringBuilder sb = new StringBuilder("crawl-result");
    line.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
    System.out.printf(
        Locale.ROOT,
        "  Requests    %,d in %.2f s = %,.1f/s (%,d failed)%n"
            + "  Latency     p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.1f ms%n"
            + "  CPU         %s us per request (this process)%n"
            + "  Connections %s%n",
        done,
        seconds,
        done / seconds,
        r.failed.sum(),
        h.getValueAtPercentile(50) / 1e3,
        h.getValueAtPercentile(99) / 1e3,
        h.getValueAtPercentile(99.9) / 1e3,
        h.getMaxValue() / 1e3,
        line.get("cpuUsPerReq"),
        counters);
    if (!r.errors.isEmpty()) {
      System.out.println("  Errors      " + r.errors);
    }
    System.out.println(sb);
    if (o.result != null) {
      Files.writeString(
          o.result,
          sb + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
  }

  private static String fmt(double d) {
    return String.format(Locale.ROOT, "%.3f", d);
  }

  /** One pass over a host sequence with {@code concurrency} chains. */
  static final class Run {
    final CrawlClient client;
    final int[] hosts;
    final int concurrency;
    final AtomicInteger next = new AtomicInteger();
    final Recorder latency = new Recorder(3);
    final LongAdder ok = new LongAdder();
    final LongAdder failed = new LongAdder();
    final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    final CountDownLatch finished;
    long elapsedNanos;

    Run(CrawlClient client, int[] hosts, int concurrency) {
      this.client = client;
      this.hosts = hosts;
      this.concurrency = concurrency;
      this.finished = new CountDownLatch(concurrency);
    }

    void go(long timeoutSeconds) throws InterruptedException {
      long t0 = System.nanoTime();
      for (int i = 0; i < concurrency; i++) {
        new Chain().next();
      }
      if (!finished.await(timeoutSeconds, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the run did not finish in " + timeoutSeconds + " s: "
            + ok.sum() + " ok, " + failed.sum() + " failed of " + hosts.length);
      }
      elapsedNanos = System.nanoTime() - t0;
    }

    private void fail(Throwable t) {
      failed.increment();
      Throwable c = t;
      while (c.getCause() != null && c.getCause() != c) {
        c = c.getCause();
      }
      errors
          .computeIfAbsent(
              c.getClass().getSimpleName() + ": " + c.getMessage(), k -> new LongAdder())
          .increment();
    }

    /** One chain: its next request when its last completes. */
    final class Chain {
      private final AtomicBoolean inSend = new AtomicBoolean();

      void next() {
        int i = next.getAndIncrement();
        if (i >= hosts.length) {
          finished.countDown();
          return;
        }
        long t0 = System.nanoTime();
        inSend.set(true);
        try {
          client.get(hosts[i], (status, t) -> {
            if (t != null) {
              fail(t);
            } else if (status != 200) {
              fail(new IllegalStateException("status " + status));
            } else {
              latency.recordValue((System.nanoTime() - t0) / 1_000);
              ok.increment();
            }
            if (t != null && inSend.get()) {
              // failed inside get() on this thread: no recursion, go on from another thread
              ForkJoinPool.commonPool().execute(this::next);
            } else {
              next();
            }
          });
        } catch (RuntimeException e) {
          fail(e);
          ForkJoinPool.commonPool().execute(this::next);
        } finally {
          inSend.set(false);
        }
      }
    }
  }
}
