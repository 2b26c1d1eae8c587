package dev.keepalive.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.HdrHistogram.Histogram;

/**
 * One closed-loop run of a Java peer client, the same shape as {@code keepalive bench}:
 * {@code -c N} workers each send the GET and wait for the whole response before sending the next,
 * for {@code -d} seconds (after an optional warm-up not counted), latencies (send to last body
 * byte) in HdrHistograms, then one JSON line on stdout.
 *
 * <pre>
 *   run CLIENT URL [-c 16] [-d 10] [--warmup 0] [--no-keepalive] [--ca ca.crt] [--timeout 10]
 * </pre>
 */
final class Harness {
  private Harness() {}

  static int main(String[] args) throws Exception {
    // before java.net.http loads: let the JDK client send "Connection: close"
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "connection");
    if (args.length < 2) {
      System.err.println("usage: run CLIENT URL [-c N] [-d SECONDS] [--warmup SECONDS] "
          + "[--no-keepalive] [--ca FILE] [--timeout SECONDS]");
      return 2;
    }
    String name = args[0];
    String url = args[1];
    int concurrency = 16;
    double duration = 10;
    double warmup = 0;
    boolean keepAlive = true;
    Path ca = null;
    double timeout = 10;
    for (int i = 2; i < args.length; i++) {
      switch (args[i]) {
        case "-c" -> concurrency = Integer.parseInt(args[++i]);
        case "-d" -> duration = seconds(args[++i]);
        case "--warmup" -> warmup = seconds(args[++i]);
        case "--no-keepalive" -> keepAlive = false;
        case "--ca" -> ca = Path.of(args[++i]);
        case "--timeout" -> timeout = seconds(args[++i]);
        default -> {
          System.err.println("unknown option " + args[i]);
          return 2;
        }
      }
    }
    SSLContext ssl = null;
    X509TrustManager tm = null;
    if (url.startsWith("https:")) {
      if (ca == null) {
        System.err.println("https needs --ca FILE (the nginx CA)");
        return 2;
      }
      tm = trustManager(ca);
      ssl = SSLContext.getInstance("TLS");
      ssl.init(null, new TrustManager[] {tm}, null);
    }
    Peer.Config config =
        new Peer.Config(url, concurrency, keepAlive, ssl, tm, ca, (long) (timeout * 1000));
    Result warm = null;
    Result r;
    try (Peer peer = Peer.create(name, config)) {
      if (warmup > 0) {
        warm = run(peer, concurrency, (long) (warmup * 1e9));
      }
      long cpu0 = processCpuNanos();
      r = run(peer, concurrency, (long) (duration * 1e9));
      r.cpuNanos = processCpuNanos() - cpu0;
    }
    System.out.println(json(name, config, duration, warmup, warm, r));
    System.out.flush();
    return r.succeeded == 0 && r.failed > 0 ? 1 : 0;
  }

  private static double seconds(String s) {
    return Double.parseDouble(s.endsWith("s") ? s.substring(0, s.length() - 1) : s);
  }

  /** CPU time of this whole process (every thread: the client's, the JIT's, the GC's), or -1. */
  static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return -1;
  }

  static X509TrustManager trustManager(Path caFile) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    try (InputStream in = Files.newInputStream(caFile)) {
      int i = 0;
      for (Certificate c : cf.generateCertificates(in)) {
        ks.setCertificateEntry("ca" + i++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager t : tmf.getTrustManagers()) {
      if (t instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new IllegalStateException("no X509TrustManager");
  }

  /** The counts of one worker (or of the whole run, merged). */
  static final class Result {
    final Histogram latency = new Histogram(3);
    final TreeMap<Integer, Long> status = new TreeMap<>();
    final TreeMap<String, Long> errors = new TreeMap<>();
    final TreeMap<String, String> examples = new TreeMap<>();
    long succeeded;
    long failed;
    long bytes;
    long elapsedNanos;
    long cpuNanos = -1;

    void ok(long t0, long result) {
      latency.recordValue(Math.max(1, System.nanoTime() - t0));
      succeeded++;
      status.merge((int) (result >>> 32), 1L, Long::sum);
      bytes += result & 0xffffffffL;
    }

    void fail(Throwable t) {
      failed++;
      Throwable root = t;
      while ((root instanceof java.util.concurrent.CompletionException
              || root instanceof java.util.concurrent.ExecutionException)
          && root.getCause() != null) {
        root = root.getCause();
      }
      String kind = root.getClass().getSimpleName();
      errors.merge(kind, 1L, Long::sum);
      examples.putIfAbsent(kind, String.valueOf(root.getMessage()));
    }

    void add(Result w) {
      latency.add(w.latency);
      w.status.forEach((k, v) -> status.merge(k, v, Long::sum));
      w.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
      w.examples.forEach(examples::putIfAbsent);
      succeeded += w.succeeded;
      failed += w.failed;
      bytes += w.bytes;
    }

    long requests() {
      return succeeded + failed;
    }
  }

  static Result run(Peer peer, int concurrency, long nanos) throws InterruptedException {
    return peer.async()
        ? runAsync(peer, concurrency, nanos)
        : runBlocking(peer, concurrency, nanos);
  }

  private static Result runBlocking(Peer peer, int concurrency, long nanos)
      throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + nanos;
    Result[] results = new Result[concurrency];
    Thread[] threads = new Thread[concurrency];
    for (int i = 0; i < concurrency; i++) {
      Result w = results[i] = new Result();
      threads[i] = new Thread(
          () -> {
            while (true) {
              long t0 = System.nanoTime();
              if (t0 - deadline >= 0) {
                return;
              }
              try {
                w.ok(t0, peer.send());
              } catch (Exception e) {
                w.fail(e);
              }
            }
          },
          "e2e-worker-" + (i + 1));
      threads[i].setDaemon(true);
      threads[i].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    Result all = new Result();
    all.elapsedNanos = System.nanoTime() - start;
    for (Result w : results) {
      all.add(w);
    }
    return all;
  }

  private static Result runAsync(Peer peer, int concurrency, long nanos)
      throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + nanos;
    Result[] results = new Result[concurrency];
    CountDownLatch finished = new CountDownLatch(concurrency);
    for (int i = 0; i < concurrency; i++) {
      results[i] = new Result();
      new Chain(peer, results[i], deadline, finished).next();
    }
    // every chain stops at the deadline once its request in flight completes (timeout-bounded)
    finished.await(nanos + TimeUnit.SECONDS.toNanos(30), TimeUnit.NANOSECONDS);
    Result all = new Result();
    all.elapsedNanos = System.nanoTime() - start;
    for (Result w : results) {
      synchronized (w) {
        all.add(w);
      }
    }
    return all;
  }

  /** One asynchronous worker: sends the next request from the completion of the previous one. */
  private static final class Chain {
    private final Peer peer;
    private final Result result;
    private final long deadline;
    private final CountDownLatch finished;
    private final AtomicBoolean inSend = new AtomicBoolean();

    Chain(Peer peer, Result result, long deadline, CountDownLatch finished) {
      this.peer = peer;
      this.result = result;
      this.deadline = deadline;
      this.finished = finished;
    }

    void next() {
      long t0 = System.nanoTime();
      if (t0 - deadline >= 0) {
        finished.countDown();
        return;
      }
      inSend.set(true);
      try {
        peer.sendAsync((v, t) -> {
          synchronized (result) {
            if (t == null) {
              result.ok(t0, v);
            } else {
              result.fail(t);
            }
          }
          if (t != null && inSend.get()) {
            // failed inside sendAsync on this thread: no recursion, go on from another thread
            ForkJoinPool.commonPool().execute(this::next);
          } else {
            next();
          }
        });
      } catch (RuntimeException e) {
        synchronized (result) {
          result.fail(e);
        }
        ForkJoinPool.commonPool().execute(this::next);
      } finally {
        inSend.set(false);
      }
    }
  }

  private static String json(
      String name, Peer.Config c, double duration, double warmup, Result warm, Result r)
      throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("client", name);
    m.put("url", c.url());
    m.put("concurrency", c.concurrency());
    m.put("keepAlive", c.keepAlive());
    m.put("durationSeconds", duration);
    m.put("warmupSeconds", warmup);
    m.put("warmupRequests", warm == null ? null : warm.requests());
    m.put("elapsedSeconds", r.elapsedNanos / 1e9);
    m.put("requests", r.requests());
    m.put("succeeded", r.succeeded);
    m.put("failed", r.failed);
    m.put("requestsPerSecond", r.elapsedNanos <= 0 ? 0 : r.requests() / (r.elapsedNanos / 1e9));
    m.put("bodyBytes", r.bytes);
    // the process's CPU time during the measured run only (no start-up, no warm-up)
    m.put("cpuSeconds", r.cpuNanos < 0 ? null : r.cpuNanos / 1e9);
    m.put(
        "cpuUsPerRequest",
        r.cpuNanos < 0 || r.requests() == 0 ? null : r.cpuNanos / 1e3 / r.requests());
    Map<String, Object> lat = new LinkedHashMap<>();
    Histogram h = r.latency;
    boolean any = h.getTotalCount() > 0;
    lat.put("p50", any ? h.getValueAtPercentile(50) / 1e6 : null);
    lat.put("p90", any ? h.getValueAtPercentile(90) / 1e6 : null);
    lat.put("p99", any ? h.getValueAtPercentile(99) / 1e6 : null);
    lat.put("max", any ? h.getMaxValue() / 1e6 : null);
    lat.put("mean", any ? h.getMean() / 1e6 : null);
    m.put("latencyMs", lat);
    Map<String, Object> st = new LinkedHashMap<>();
    r.status.forEach((k, v) -> st.put(String.valueOf(k), v));
    m.put("status", st);
    Map<String, Object> errors = new LinkedHashMap<>();
    r.errors.forEach((k, v) -> errors.put(k, Map.of("count", v, "example", r.examples.get(k))));
    m.put("errors", errors);
    m.put("version", Versions.all());
    return new ObjectMapper().writeValueAsString(m);
  }
}
