package dev.keepalive.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keepalive.ConnectionManager;
import java.lang.reflect.Method;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.Timeout;

/**
 * The blocking style most Java code is written in: N threads (platform, or virtual on a JVM with
 * them, 21+), each sending the same GET and reading the whole body in a loop, through one shared
 * client whose connection pool holds N connections (bench/run-blocking-bench.sh runs it, one JVM
 * per run):
 *
 * <pre>
 *   blocking CLIENT URL [--threads 16] [--virtual] [--warmup 3] [-d 5] [--expect-bytes N]
 * </pre>
 *
 * Clients: {@code keepalive} (keepalive-http's {@code HttpClient.sendBlocking} over one {@link
 * ConnectionManager}, max per host = max open = N), {@code apache-classic} (Apache HttpClient 5's
 * classic {@code CloseableHttpClient} over a {@code PoolingHttpClientConnectionManager}, max per
 * route = max total = N, the body read with {@code EntityUtils.toByteArray}), {@code okhttp}
 * ({@code Call.execute()}, the dispatcher's limits and the pool's idle connections = N, HTTP/1.1)
 * and {@code jdk} ({@code java.net.http.HttpClient}, HTTP/1.1, {@code send()} with {@code
 * BodyHandlers.ofByteArray()}; its pool keeps at most N idle connections through {@code
 * jdk.httpclient.connectionPoolSize}). Every response must be a 200 whose body has exactly
 * {@code --expect-bytes} bytes (when given); anything else counts as a failure, and the run
 * exits 1 if there was one. Prints one JSON line: requests per second of the measured part,
 * failures, body bytes and the process's CPU time per request.
 */
final class BlockingBench {
  static final List<String> CLIENTS = List.of("keepalive", "apache-classic", "okhttp", "jdk");

  private BlockingBench() {}

  /** One client, set up for N threads; {@link #get} returns {@code status << 32 | bodyBytes}. */
  interface Client extends AutoCloseable {
    long get() throws Exception;
  }

  static int main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: blocking CLIENT URL [--threads N] [--virtual] [--warmup S]"
          + " [-d S] [--expect-bytes N]; clients: " + String.join(", ", CLIENTS));
      return 2;
    }
    String name = args[0];
    String url = args[1];
    int threads = 16;
    boolean virtual = false;
    double warmup = 3;
    double duration = 5;
    long expect = -1;
    for (int i = 2; i < args.length; i++) {
      switch (args[i]) {
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--virtual" -> virtual = true;
        case "--warmup" -> warmup = seconds(args[++i]);
        case "-d" -> duration = seconds(args[++i]);
        case "--expect-bytes" -> expect = Long.parseLong(args[++i]);
        default -> {
          System.err.println("unknown option " + args[i]);
          return 2;
        }
      }
    }
    if (virtual && Runtime.version().feature() < 21) {
      System.err.println("--virtual needs Java 21+, this is " + Runtime.version());
      return 2;
    }
    // before java.net.http loads: its pool keeps at most this many idle connections
    System.setProperty("jdk.httpclient.connectionPoolSize", String.valueOf(threads));
    Counts warm;
    Counts r;
    try (Client client = create(name, url, threads)) {
      warm = run(client, threads, virtual, (long) (warmup * 1e9), expect);
      long cpu0 = Harness.processCpuNanos();
      r = run(client, threads, virtual, (long) (duration * 1e9), expect);
      r.cpuNanos = Harness.processCpuNanos() - cpu0;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("client", name);
    m.put("url", url);
    m.put("threads", threads);
    m.put("virtual", virtual);
    m.put("java", System.getProperty("java.runtime.version"));
    m.put("warmupSeconds", warmup);
    m.put("warmupRequests", warm.ok + warm.failed);
    m.put("warmupFailed", warm.failed);
    m.put("durationSeconds", duration);
    m.put("elapsedSeconds", r.elapsedNanos / 1e9);
    m.put("requests", r.ok + r.failed);
    m.put("succeeded", r.ok);
    m.put("failed", r.failed);
    m.put("requestsPerSecond", r.ok / (r.elapsedNanos / 1e9));
    m.put("bodyBytes", r.bytes);
    m.put("expectBytesPerResponse", expect);
    m.put("cpuUsPerRequest", r.cpuNanos < 0 || r.ok == 0 ? null : r.cpuNanos / 1e3 / r.ok);
    m.put("errors", r.errors);
    m.put("version", Versions.all());
    System.out.println(new ObjectMapper().writeValueAsString(m));
    System.out.flush();
    return r.failed + warm.failed > 0 ? 1 : 0;
  }

  private static double seconds(String s) {
    return Double.parseDouble(s.endsWith("s") ? s.substring(0, s.length() - 1) : s);
  }

  static Client create(String name, String url, int threads) {
    return switch (name) {
      case "keepalive" -> keepalive(url, threads);
      case "apache-classic" -> apacheClassic(url, threads);
      case "okhttp" -> okhttp(url, threads);
      case "jdk" -> jdk(url, threads);
      default ->
        throw new IllegalArgumentException("unknown client " + name + "; one of " + CLIENTS);
    };
  }

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  static Client keepalive(String url, int threads) {
    ConnectionManager manager = ConnectionManager.builder()
        .maxPerHost(threads)
        .maxOpen(threads)
        .keepAlive(Duration.ofSeconds(15))
        .timeout(TIMEOUT)
        .build();
    // the peers' timeouts: connect, and each read of the response (no whole-exchange timeout)
    dev.keepalive.http.HttpClient client = dev.keepalive.http.HttpClient.builder(manager)
        .connectTimeout(TIMEOUT)
        .responseTimeout(TIMEOUT)
        .build();
    dev.keepalive.http.HttpRequest request = dev.keepalive.http.HttpRequest.get(url);
    return new Client() {
      @Override
      public long get() throws Exception {
        dev.keepalive.http.HttpResponse r = client.sendBlocking(request);
        return Peer.result(r.status(), r.body().length);
      }

      @Override
      public void close() {
        client.close();
        manager.close();
      }
    };
  }

  static Client apacheClassic(String url, int threads) {
    Timeout timeout = Timeout.of(TIMEOUT);
    PoolingHttpClientConnectionManager pool = PoolingHttpClientConnectionManagerBuilder.create()
        .setMaxConnTotal(threads)
        .setMaxConnPerRoute(threads)
        .setDefaultConnectionConfig(ConnectionConfig.custom()
            .setConnectTimeout(timeout)
            .setSocketTimeout(timeout)
            .build())
        .build();
    CloseableHttpClient client = HttpClients.custom()
        .setConnectionManager(pool)
        .setDefaultRequestConfig(RequestConfig.custom()
            .setConnectionRequestTimeout(timeout)
            .setResponseTimeout(timeout)
            .build())
        .disableAutomaticRetries()
        .build();
    return new Client() {
      @Override
      public long get() throws Exception {
        // a new request each time: the exec chain adds headers to the request it is given
        return client.execute(
            new HttpGet(url),
            r -> Peer.result(r.getCode(), EntityUtils.toByteArray(r.getEntity()).length));
      }

      @Override
      public void close() {
        client.close(CloseMode.GRACEFUL);
      }
    };
  }

  static Client okhttp(String url, int threads) {
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(threads);
    dispatcher.setMaxRequestsPerHost(threads);
    OkHttpClient client = new OkHttpClient.Builder()
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(threads, 5, TimeUnit.MINUTES))
        .protocols(List.of(Protocol.HTTP_1_1))
        .connectTimeout(TIMEOUT)
        .readTimeout(TIMEOUT)
        .writeTimeout(TIMEOUT)
        .build();
    Request request = new Request.Builder().url(url).build();
    return new Client() {
      @Override
      public long get() throws Exception {
        try (Response r = client.newCall(request).execute()) {
          return Peer.result(r.code(), r.body().bytes().length);
        }
      }

      @Override
      public void close() {
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
      }
    };
  }

  static Client jdk(String url, int threads) {
    java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
        .version(java.net.http.HttpClient.Version.HTTP_1_1)
        .connectTimeout(TIMEOUT)
        .build();
    java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(URI.create(url))
        .GET()
        .timeout(TIMEOUT)
        .build();
    return new Client() {
      @Override
      public long get() throws Exception {
        java.net.http.HttpResponse<byte[]> r =
            client.send(request, java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        return Peer.result(r.statusCode(), r.body().length);
      }

      @Override
      public void close() {
        // AutoCloseable only from JDK 21; its threads are daemons
      }
    };
  }

  /** One thread's counts, or the run's (merged). */
  static final class Counts {
    long ok;
    long failed;
    long bytes;
    long elapsedNanos;
    long cpuNanos = -1;
    final TreeMap<String, Long> errors = new TreeMap<>();

    void add(Counts c) {
      ok += c.ok;
      failed += c.failed;
      bytes += c.bytes;
      c.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
    }
  }

  /** {@code threads} threads each call {@code client.get()} in a loop until {@code nanos} pass. */
  static Counts run(Client client, int threads, boolean virtual, long nanos, long expect)
      throws Exception {
    long start = System.nanoTime();
    long deadline = start + nanos;
    Counts[] counts = new Counts[threads];
    Thread[] ts = new Thread[threads];
    for (int i = 0; i < threads; i++) {
      Counts w = counts[i] = new Counts();
      Runnable loop = () -> {
        while (System.nanoTime() - deadline < 0) {
          try {
            long r = client.get();
            int status = (int) (r >>> 32);
            long bytes = r & 0xffffffffL;
            if (status != 200 || (expect >= 0 && bytes != expect)) {
              w.failed++;
              w.errors.merge("status " + status + ", " + bytes + " bytes", 1L, Long::sum);
            } else {
              w.ok++;
              w.bytes += bytes;
            }
          } catch (Exception e) {
            w.failed++;
            w.errors.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1L, Long::sum);
          }
        }
      };
      ts[i] = virtual ? virtualThread(loop) : new Thread(loop, "blocking-" + (i + 1));
      ts[i].setDaemon(true);
      ts[i].start();
    }
    for (Thread t : ts) {
      t.join();
    }
    Counts all = new Counts();
    all.elapsedNanos = System.nanoTime() - start;
    for (Counts c : counts) {
      all.add(c);
    }
    return all;
  }

  /** An unstarted virtual thread (Java 21+; this module compiles for 17, hence reflection). */
  private static Thread virtualThread(Runnable task) {
    try {
      Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
      Method unstarted =
          Class.forName("java.lang.Thread$Builder").getMethod("unstarted", Runnable.class);
      return (Thread) unstarted.invoke(builder, task);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("no virtual threads in " + Runtime.version(), e);
    }
  }
}
