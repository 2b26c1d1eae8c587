package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Soak driver: hours-long churn of one {@link ConnectionManager} against a real nginx (http and
 * https, on 127.0.0.1 only), with faults, watching the heap and the file descriptors. Run by
 * {@link SoakTest} under the Maven profile soak, which {@code bench/soak.sh} uses (it starts the
 * nginx); never by the default build.
 *
 * <p>Workers send HTTP/1.1 GETs over {@link Connection#outputStream()} /
 * {@link Connection#inputStream()} to several pool keys (proxy targets) of nginx, give the
 * connection back with close() or, now and then, discard(), and mix in faults: a local TCP proxy
 * in front of nginx that resets, stalls or closes some of its connections (in use or idle in the
 * pool), a listener where connects hang until the request's timeout, a refused port, requests
 * deallocated at once, and cold keys that force eviction at maxOpen.
 *
 * <p>Every {@code --sample} (10 s) the workers are paused at a quiet point (nothing leased,
 * connecting or pending), the heap is measured after a full GC (MemoryMXBean) and the process's
 * descriptors are counted (/proc/self/fd), both written to a CSV. "Unaccounted" descriptors are
 * those not explained by the manager's open sockets and the proxy's: they must stay flat. After
 * the run the manager is closed and the descriptors must be back to the count before it was
 * made. The verdict ({@link #run}; {@link #main}'s exit status) is FAIL when the heap or the
 * descriptors grew beyond the limits, an invariant was broken, or nothing succeeded.
 *
 * <pre>
 * Soak.run("--duration", "30m", "--ca", "/tmp/keepalive-nginx/ca.crt", "--csv", "soak.csv",
 *     "--summary", "soak-summary.txt")
 * </pre>
 */
public final class Soak {
  // ---- settings ----
  private Duration duration = Duration.ofMinutes(30);
  private Duration warmup = Duration.ofSeconds(20);
  private Duration sampleEvery = Duration.ofSeconds(10);
  private String host = "127.0.0.1";
  private int httpPort = 18080;
  private int httpsPort = 18443;
  private Path ca;
  private int threads = 8;
  private int maxPerHost = 4;
  private int maxOpen = 32;
  private long maxHeapGrowthMb = 16;
  private int maxFdGrowth = 8;
  private int tlsSessionCache = 1000;
  private Path csvPath;
  private Path summaryPath;

  // ---- state ----
  private ConnectionManager manager;
  private final List<Allocation> keys = new ArrayList<>();
  private final List<Boolean> viaProxy = new ArrayList<>();
  private Allocation refused;
  private Allocation hanging;
  private FaultProxy proxy;
  private HangingListener hang;
  private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
  private volatile boolean stop;
  private final AtomicInteger outstandingHanging = new AtomicInteger();
  private final Queue<String> violations = new ConcurrentLinkedQueue<>();
  private final Counters counters = new Counters();
  private final List<Sample> samples = new ArrayList<>();

  /** What the workers did, cumulative. */
  static final class Counters {
    final LongAdder requests = new LongAdder();
    final LongAdder ok = new LongAdder();
    final LongAdder directFailures = new LongAdder();
    final LongAdder discards = new LongAdder();
    final LongAdder deallocated = new LongAdder();
    final LongAdder[] served = {new LongAdder(), new LongAdder(), new LongAdder()};
    final Map<String, LongAdder> failures = new ConcurrentHashMap<>();

    void fail(String why) {
      failures.computeIfAbsent(why, w -> new LongAdder()).increment();
    }
  }

  record Sample(
      double seconds,
      long heapAfterGc,
      int fds,
      int unaccounted,
      int threads,
      long requests,
      long ok,
      long failed,
      long newConns,
      long immediate,
      long deferred,
      long discards,
      PoolStats stats,
      int proxySockets,
      boolean quiet) {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args) ? 0 : 1);
  }

  /** Runs a soak with these options (see bench/soak.sh); true when it passed. */
  static boolean run(String... args) throws Exception {
    Soak soak = new Soak();
    soak.parse(args);
    return soak.run();
  }

  private void parse(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--duration" -> duration = parseDuration(v);
        case "--warmup" -> warmup = parseDuration(v);
        case "--sample" -> sampleEvery = parseDuration(v);
        case "--host" -> host = v;
        case "--http-port" -> httpPort = Integer.parseInt(v);
        case "--https-port" -> httpsPort = Integer.parseInt(v);
        case "--ca" -> ca = Path.of(v);
        case "--threads" -> threads = Integer.parseInt(v);
        case "--max-per-host" -> maxPerHost = Integer.parseInt(v);
        case "--max-open" -> maxOpen = Integer.parseInt(v);
        case "--max-heap-growth-mb" -> maxHeapGrowthMb = Long.parseLong(v);
        case "--max-fd-growth" -> maxFdGrowth = Integer.parseInt(v);
        case "--tls-session-cache" -> tlsSessionCache = Integer.parseInt(v);
        case "--csv" -> csvPath = Path.of(v);
        case "--summary" -> summaryPath = Path.of(v);
        default ->
          throw new IllegalArgumentException(
              "unknown argument " + a + "; see the " + "options in bench/soak.sh");
      }
      i++;
    }
    if (!InetAddress.getLoopbackAddress().getHostAddress().equals(host)
        && !host.startsWith("127.")) {
      throw new IllegalArgumentException("loopback only: --host " + host);
    }
  }

  /** 500ms, 10s, 1.5s, 3m, 1h, or ISO-8601 (PT30M). */
  static Duration parseDuration(String s) {
    if (s.startsWith("P") || s.startsWith("p")) {
      return Duration.parse(s);
    }
    String t = s.trim().toLowerCase(Locale.ROOT);
    String[][] units = {{"ms", "1"}, {"s", "1000"}, {"m", "60000"}, {"h", "3600000"}};
    for (String[] u : units) {
      if (t.endsWith(u[0]) && !(u[0].equals("s") && t.endsWith("ms"))) {
        double n = Double.parseDouble(t.substring(0, t.length() - u[0].length()));
        return Duration.ofMillis(Math.round(n * Long.parseLong(u[1])));
      }
    }
    return Duration.ofSeconds(Long.parseLong(t));
  }

  // ---- the run ----

  private boolean run() throws Exception {
    SSLContext tls = ca == null ? SSLContext.getDefault() : trusting(ca);
    // The JDK's client session cache keeps up to 20,480 sessions for 24 h by default: under this
    // churn (a new session per new https connection) it fills to about 14 MiB of heap in a minute
    // and then stays there. Bounded here so that what the heap figures show is the manager's.
    tls.getClientSessionContext().setSessionCacheSize(tlsSessionCache);
    proxy = new FaultProxy(new InetSocketAddress(host, httpPort));
    hang = new HangingListener();
    int refusedPort = refusedPort(host);
    // keys: 8 http and 4 https targets of nginx, 2 through the faulty proxy, 8 cold ones
    for (int k = 0; k < 22; k++) {
      Allocation a;
      boolean proxied = false;
      if (k < 8 || k >= 14) {
        a = Allocation.to("http", host, httpPort);
      } else if (k < 12) {
        a = Allocation.to("https", host, httpsPort);
      } else {
        a = Allocation.to("http", host, proxy.port());
        proxied = true;
      }
      keys.add(a.forTarget("http", "k" + k + ".soak", 80).timeout(Duration.ofSeconds(10)));
      viaProxy.add(proxied);
    }
    refused = Allocation.to("http", host, refusedPort).timeout(Duration.ofSeconds(5));
    hanging = Allocation.to("http", host, hang.port()).timeout(Duration.ofMillis(200));

    PrintStream out = System.out;
    out.printf(
        "soak: %s against %s, %s, sample every %s (warm-up %s first)%n",
        fmt(duration), target(), limits(), fmt(sampleEvery), fmt(warmup));

    PrintStream csv = csvPath == null
        ? null
        : new PrintStream(Files.newOutputStream(csvPath), true, StandardCharsets.UTF_8);
    // warm-up with a manager of its own: classes, JIT, TLS, lazily opened files
    manager = newManager(tls);
    runWorkers(warmup);
    closeManager();
    awaitProxyDrained();
    System.gc();
    int fdsBefore = fds();
    Map<Integer, String> fdListBefore = fdList();
    out.printf(
        "warm-up done: %,d requests; descriptors before the soak's manager: %d%n",
        counters.requests.sum(), fdsBefore);
    counters.requests.reset(); // the figures below are the soak's own
    counters.ok.reset();
    counters.directFailures.reset();
    counters.discards.reset();
    counters.deallocated.reset();
    for (LongAdder s : counters.served) {
      s.reset();
    }
    counters.failures.clear();

    manager = newManager(tls);
    if (csv != null) {
      csv.println("seconds,heap_after_gc_bytes,fds,unaccounted_fds,threads,requests,ok,failed,"
          + "new,immediate,deferred,discards,open,idle,leased,connecting,pending,proxy_sockets,"
          + "quiet");
    }
    long start = System.nanoTime();
    Thread[] workers = startWorkers();
    long next = start;
    while (true) {
      next += sampleEvery.toNanos();
      long end = start + duration.toNanos();
      long wake = Math.min(next, end);
      while (System.nanoTime() - wake < 0) {
        TimeUnit.NANOSECONDS.sleep(Math.max(1, Math.min(wake - System.nanoTime(), 200_000_000L)));
      }
      Sample s = sample(start);
      samples.add(s);
      if (csv != null) {
        csv.println(csvLine(s));
      }
      out.println(progress(s));
      if (System.nanoTime() - end >= 0) {
        break;
      }
    }
    stop = true;
    for (Thread w : workers) {
      w.join();
    }
    awaitQuiet(Duration.ofSeconds(30));
    closeManager();
    awaitProxyDrained();
    System.gc();
    int fdsAfter = fds();
    for (int i = 0; i < 50 && fdsAfter > fdsBefore; i++) {
      TimeUnit.MILLISECONDS.sleep(100); // the proxy's threads close their sockets
      fdsAfter = fds();
    }
    if (fdsAfter != fdsBefore) {
      Map<Integer, String> now = fdList();
      now.keySet().removeAll(fdListBefore.keySet());
      Map<Integer, String> gone = new TreeMap<>(fdListBefore);
      gone.keySet().removeAll(fdList().keySet());
      System.out.println(
          "descriptors opened since the manager was made: " + now + "; closed: " + gone);
    }
    proxy.close();
    hang.close();
    if (csv != null) {
      csv.close();
    }
    return summarize(fdsBefore, fdsAfter);
  }

  private ConnectionManager newManager(SSLContext tls) {
    return ConnectionManager.builder()
        .maxPerHost(maxPerHost)
        .maxOpen(maxOpen)
        .keepAlive(Duration.ofSeconds(15))
        .timeout(Duration.ofSeconds(10))
        .sslContext(tls)
        .build();
  }

  private void closeManager() {
    manager.close();
    PoolStats s = manager.stats();
    if (!s.equals(new PoolStats(0, 0, 0, 0, 0))) {
      violation("stats after close(): " + s);
    }
  }

  private void runWorkers(Duration d) throws InterruptedException {
    stop = false;
    Thread[] ws = startWorkers();
    long end = System.nanoTime() + d.toNanos();
    while (System.nanoTime() - end < 0) {
      TimeUnit.MILLISECONDS.sleep(100);
    }
    stop = true;
    for (Thread w : ws) {
      w.join();
    }
    awaitQuiet(Duration.ofSeconds(30));
    stop = false;
  }

  private Thread[] startWorkers() {
    Thread[] ws = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      final int me = t;
      ws[t] = new Thread(() -> work(me), "soak-" + t);
      ws[t].setDaemon(true);
      ws[t].start();
    }
    return ws;
  }

  // ---- one worker ----

  private void work(int me) {
    SplittableRandom rnd = new SplittableRandom(System.nanoTime() ^ (me * 0x9E3779B97F4A7C15L));
    while (!stop) {
      gate.readLock().lock();
      try {
        oneOperation(rnd);
      } catch (RuntimeException | Error e) {
        violation("worker crashed: " + e);
        e.printStackTrace();
      } finally {
        gate.readLock().unlock();
      }
      check(manager.stats(), "worker");
    }
  }

  private void oneOperation(SplittableRandom rnd) {
    int x = rnd.nextInt(10_000);
    if (x < 20) { // 0.2 %: refused port
      expectFailure(refused, "connect", 111);
      return;
    }
    if (x < 30) { // 0.1 %: a connect that hangs until the request's timeout (async)
      if (outstandingHanging.incrementAndGet() > 2) {
        outstandingHanging.decrementAndGet();
        return;
      }
      counters.requests.increment();
      long id = manager.allocate(hanging, r -> {
        outstandingHanging.decrementAndGet();
        if (r.isSuccess()) {
          violation("a connect to the hanging listener succeeded");
          r.connection().discard();
        } else {
          counters.fail("hanging: " + r.function() + "/" + r.errorNum());
        }
      });
      if (rnd.nextInt(4) == 0 && manager.deallocate(id)) {
        outstandingHanging.decrementAndGet();
        counters.deallocated.increment();
      }
      return;
    }
    int k = pickKey(rnd);
    Allocation a = keys.get(k);
    boolean proxied = viaProxy.get(k);
    counters.requests.increment();
    Connection c;
    if (x < 130) { // 1 %: deallocated at once (an answer that won the race is used)
      CompletableFuture<AllocationResult> f = new CompletableFuture<>();
      long id = manager.allocate(a, f::complete);
      if (manager.deallocate(id)) {
        counters.deallocated.increment();
        return;
      }
      AllocationResult r = waitFor(f);
      if (!r.isSuccess()) {
        failed(proxied, "allocate: " + r.function() + "/" + r.errorNum());
        return;
      }
      c = r.connection();
    } else {
      try {
        c = manager.allocate(a).get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        AllocationException ae = (AllocationException) e.getCause();
        failed(proxied, "allocate: " + ae.function() + "/" + ae.errorNum());
        return;
      } catch (InterruptedException | TimeoutException e) {
        violation("an allocation was not answered within 30 s: " + e);
        return;
      }
    }
    counters.served[c.fromCache().ordinal()].increment();
    exchange(c, proxied, rnd.nextInt(1000) < 5);
  }

  /** Hot keys most of the time, a cold one (eviction at maxOpen) now and then. */
  private int pickKey(SplittableRandom rnd) {
    return rnd.nextInt(100) < 2 ? 14 + rnd.nextInt(8) : rnd.nextInt(14);
  }

  private void expectFailure(Allocation a, String function, int errno) {
    counters.requests.increment();
    try {
      Connection c = manager.allocate(a).get(30, TimeUnit.SECONDS);
      violation("expected " + function + "/" + errno + ", got a connection " + c);
      c.discard();
    } catch (ExecutionException e) {
      AllocationException ae = (AllocationException) e.getCause();
      String got = ae.function() + "/" + ae.errorNum();
      counters.fail("expected: " + got);
      if (!got.equals(function + "/" + errno)) {
        violation("expected " + function + "/" + errno + ", got " + got);
      }
    } catch (InterruptedException | TimeoutException e) {
      violation("not answered within 30 s: " + e);
    }
  }

  private AllocationResult waitFor(CompletableFuture<AllocationResult> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      throw new IllegalStateException("not answered within 30 s", e);
    }
  }

  private void failed(boolean proxied, String why) {
    counters.fail((proxied ? "proxy " : "") + why);
    if (!proxied) {
      counters.directFailures.increment();
    }
  }

  /** One GET; the connection is given back when the response was complete and reusable. */
  private void exchange(Connection c, boolean proxied, boolean discardAnyway) {
    byte[] request = ("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: keepalive-soak\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    boolean reusable;
    try {
      c.readTimeout(Duration.ofSeconds(3));
      OutputStream out = c.outputStream();
      out.write(request);
      reusable = readResponse(c.inputStream());
      counters.ok.increment();
    } catch (SocketTimeoutException e) {
      failed(proxied, "read timed out");
      c.discard();
      counters.discards.increment();
      return;
    } catch (IOException e) {
      failed(
          proxied,
          c.fromCache() == FromCache.NEW
              ? "io on a new connection: " + e
              : "io on a reused connection: " + e.getClass().getSimpleName());
      c.discard();
      counters.discards.increment();
      return;
    }
    if (reusable && !discardAnyway) {
      c.close();
    } else {
      c.discard();
      counters.discards.increment();
    }
  }

  /**
   * Reads one response with a Content-Length body; true when the connection may be reused (no
   * Connection: close). Throws on a malformed, truncated or over-long response.
   */
  private static boolean readResponse(InputStream in) throws IOException {
    byte[] buf = new byte[16 * 1024];
    int len = 0;
    int headEnd = -1;
    while (headEnd < 0) {
      int n = in.read(buf, len, buf.length - len);
      if (n < 0) {
        throw new IOException("EOF in the response head");
      }
      len += n;
      for (int i = Math.max(0, len - n - 3); i + 3 < len; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
          headEnd = i + 4;
          break;
        }
      }
      if (headEnd < 0 && len == buf.length) {
        throw new IOException("response head too long");
      }
    }
    String head = new String(buf, 0, headEnd, StandardCharsets.ISO_8859_1);
    if (!head.startsWith("HTTP/1.1 200")) {
      throw new IOException("status " + head.lines().findFirst().orElse(""));
    }
    long contentLength = -1;
    boolean close = false;
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
      if (name.equals("content-length")) {
        contentLength = Long.parseLong(value);
      } else if (name.equals("connection") && value.contains("close")) {
        close = true;
      } else if (name.equals("transfer-encoding")) {
        throw new IOException("unexpected Transfer-Encoding " + value);
      }
    }
    if (contentLength < 0) {
      throw new IOException("no Content-Length");
    }
    long need = headEnd + contentLength;
    long have = len;
    while (have < need) {
      int n = in.read(buf, 0, buf.length);
      if (n < 0) {
        throw new IOException("EOF in the body");
      }
      have += n;
    }
    if (have > need) {
      throw new IOException((have - need) + " bytes after the response");
    }
    return !close;
  }

  // ---- invariants and samples ----

  private void check(PoolStats s, String where) {
    if (s.open() > maxOpen
        || s.open() != s.idle() + s.leased() + s.connecting()
        || s.idle() < 0
        || s.leased() < 0
        || s.connecting() < 0
        || s.pending() < 0) {
      violation(where + ": inconsistent " + s);
    }
  }

  private void violation(String what) {
    if (violations.size() < 100) {
      violations.add(what);
      System.err.println("VIOLATION: " + what);
    }
  }

  /** Waits until nothing is leased, connecting or pending (workers paused or stopped). */
  private boolean awaitQuiet(Duration atMost) throws InterruptedException {
    long end = System.nanoTime() + atMost.toNanos();
    while (System.nanoTime() - end < 0) {
      PoolStats s = manager.stats();
      if (s.leased() + s.connecting() + s.pending() == 0 && outstandingHanging.get() == 0) {
        return true;
      }
      TimeUnit.MILLISECONDS.sleep(5);
    }
    return false;
  }

  private void awaitProxyDrained() throws InterruptedException {
    for (int i = 0; i < 100 && proxy.sockets() > 0; i++) {
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  private Sample sample(long start) throws InterruptedException {
    gate.writeLock().lock(); // waits for the operations in flight
    try {
      boolean quiet = awaitQuiet(Duration.ofSeconds(10));
      System.gc();
      System.gc();
      MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
      long heap = mem.getHeapMemoryUsage().getUsed();
      PoolStats s = manager.stats();
      int fds = fds();
      int proxySockets = proxy.sockets();
      check(s, "sample");
      return new Sample(
          (System.nanoTime() - start) / 1e9,
          heap,
          fds,
          fds - s.open() - proxySockets,
          Thread.activeCount(),
          counters.requests.sum(),
          counters.ok.sum(),
          failedSum(),
          counters.served[0].sum(),
          counters.served[1].sum(),
          counters.served[2].sum(),
          counters.discards.sum(),
          s,
          proxySockets,
          quiet);
    } finally {
      gate.writeLock().unlock();
    }
  }

  private long failedSum() {
    long n = 0;
    for (LongAdder a : counters.failures.values()) {
      n += a.sum();
    }
    return n;
  }

  /** Descriptor number to what it is (socket:[inode], a file, anon_inode:[eventpoll]). */
  static Map<Integer, String> fdList() {
    Map<Integer, String> out = new TreeMap<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      fds.forEach(fd -> {
        try {
          out.put(Integer.valueOf(fd.getFileName().toString()), Files.readSymbolicLink(fd) + "");
        } catch (IOException | NumberFormatException gone) {
          // closed meanwhile (the stream's own descriptor, say)
        }
      });
    } catch (IOException noProc) {
      // not Linux: nothing to list
    }
    return out;
  }

  static int fds() {
    String[] names = new File("/proc/self/fd").list();
    return names == null ? -1 : names.length;
  }

  private static String csvLine(Sample s) {
    PoolStats p = s.stats();
    return String.format(
        Locale.ROOT,
        "%.1f,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%s",
        s.seconds(),
        s.heapAfterGc(),
        s.fds(),
        s.unaccounted(),
        s.threads(),
        s.requests(),
        s.ok(),
        s.failed(),
        s.newConns(),
        s.immediate(),
        s.deferred(),
        s.discards(),
        p.open(),
        p.idle(),
        p.leased(),
        p.connecting(),
        p.pending(),
        s.proxySockets(),
        s.quiet());
  }

  private static String progress(Sample s) {
    return String.format(
        Locale.ROOT,
        "%7.1f s  heap %6.2f MiB  fds %4d (unaccounted %3d)  "
            + "requests %,d  ok %,d  failed %,d  NEW %,d  %s%s",
        s.seconds(),
        s.heapAfterGc() / 1048576.0,
        s.fds(),
        s.unaccounted(),
        s.requests(),
        s.ok(),
        s.failed(),
        s.newConns(),
        s.stats(),
        s.quiet() ? "" : "  (not quiet)");
  }

  /** "nginx http://HOST:PORT and https://HOST:PORT". */
  private String target() {
    return String.format(
        Locale.ROOT, "nginx http://%s:%d and https://%s:%d", host, httpPort, host, httpsPort);
  }

  /** "N threads, maxPerHost N, maxOpen N". */
  private String limits() {
    return String.format(
        Locale.ROOT, "%d threads, maxPerHost %d, maxOpen %d", threads, maxPerHost, maxOpen);
  }

  private boolean summarize(int fdsBefore, int fdsAfter) throws IOException {
    List<String> problems = new ArrayList<>();
    StringBuilder b = new StringBuilder();
    double secs = samples.isEmpty() ? 0 : samples.get(samples.size() - 1).seconds();
    long requests = counters.requests.sum();
    b.append(String.format(
        Locale.ROOT,
        "soak: %s (%.0f s) against %s; %s%n",
        fmt(duration),
        secs,
        target(),
        limits()));
    b.append(String.format(
        Locale.ROOT,
        "requests   %,d (%,.0f/s), ok %,d, failed %,d "
            + "(on direct nginx keys: %,d), discarded %,d, deallocated %,d%n",
        requests,
        secs > 0 ? requests / secs : 0.0,
        counters.ok.sum(),
        failedSum(),
        counters.directFailures.sum(),
        counters.discards.sum(),
        counters.deallocated.sum()));
    b.append(String.format(
        Locale.ROOT,
        "served     NEW %,d  IMMEDIATE %,d  DEFERRED %,d%n",
        counters.served[0].sum(),
        counters.served[1].sum(),
        counters.served[2].sum()));
    Map<String, Long> failures = new TreeMap<>();
    counters.failures.forEach((k, v) -> failures.put(k, v.sum()));
    b.append("failures   ").append(failures).append('\n');
    b.append(String.format(
        Locale.ROOT,
        "proxy      connections %,d: reset %,d, stalled %,d, " + "closed %,d%n",
        proxy.accepted.sum(),
        proxy.resets.sum(),
        proxy.stalls.sum(),
        proxy.closes.sum()));
    // the first sample after the first 10 % of the run (at least the second one) is the
    // baseline: the first ones still include the JIT and lazily made buffers
    if (samples.size() >= 2) {
      int base = Math.max(1, samples.size() / 10);
      Sample first = samples.get(base);
      Sample last = samples.get(samples.size() - 1);
      long maxHeap = 0;
      int maxFds = 0;
      int maxUnaccounted = Integer.MIN_VALUE;
      for (Sample s : samples.subList(base, samples.size())) {
        maxHeap = Math.max(maxHeap, s.heapAfterGc());
        maxFds = Math.max(maxFds, s.fds());
        maxUnaccounted = Math.max(maxUnaccounted, s.unaccounted());
      }
      double growthMb = (last.heapAfterGc() - first.heapAfterGc()) / 1048576.0;
      b.append(String.format(
          Locale.ROOT,
          "heap       after GC: %.2f MiB at %.0f s, %.2f MiB at "
              + "%.0f s (%+.2f MiB), max %.2f MiB; limit +%d MiB%n",
          first.heapAfterGc() / 1048576.0,
          first.seconds(),
          last.heapAfterGc() / 1048576.0,
          last.seconds(),
          growthMb,
          maxHeap / 1048576.0,
          maxHeapGrowthMb));
      b.append(String.format(
          Locale.ROOT,
          "fds        %d at %.0f s, %d at %.0f s, max %d; "
              + "unaccounted (fds - manager's open - proxy's) %d -> %d, max %d; limit +%d%n",
          first.fds(),
          first.seconds(),
          last.fds(),
          last.seconds(),
          maxFds,
          first.unaccounted(),
          last.unaccounted(),
          maxUnaccounted,
          maxFdGrowth));
      if (growthMb > maxHeapGrowthMb) {
        problems.add(String.format(Locale.ROOT, "heap grew %.2f MiB", growthMb));
      }
      if (maxUnaccounted - first.unaccounted() > maxFdGrowth) {
        problems.add("unaccounted descriptors grew by " + (maxUnaccounted - first.unaccounted()));
      }
      long notQuiet = samples.stream().filter(s -> !s.quiet()).count();
      if (notQuiet > 0) {
        b.append(notQuiet).append(" samples were not taken at a quiet point\n");
      }
    } else {
      problems.add("fewer than 2 samples: run longer than " + fmt(sampleEvery));
    }
    b.append(String.format(
        Locale.ROOT, "after close descriptors %d, before the manager %d%n", fdsAfter, fdsBefore));
    if (fdsAfter - fdsBefore > 0) {
      problems.add((fdsAfter - fdsBefore) + " descriptors left open after close()");
    }
    if (counters.directFailures.sum() * 1000 > Math.max(1, requests)) {
      problems.add(counters.directFailures.sum() + " failures on keys straight to nginx "
          + "(more than 0.1 %)");
    }
    if (counters.ok.sum() == 0) {
      problems.add("no request succeeded (is nginx up?)");
    }
    if (!violations.isEmpty()) {
      problems.add(violations.size() + " invariant violations, first: " + violations.peek());
    }
    b.append(problems.isEmpty() ? "RESULT PASS" : "RESULT FAIL: " + String.join("; ", problems))
        .append('\n');
    System.out.print(b);
    if (summaryPath != null) {
      Files.writeString(summaryPath, b.toString());
    }
    return problems.isEmpty();
  }

  static String fmt(Duration d) {
    long s = d.toSeconds();
    if (s >= 60 && s % 60 == 0) {
      return (s / 60) + "m";
    }
    return s > 0 ? s + "s" : d.toMillis() + "ms";
  }

  private static SSLContext trusting(Path caFile) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(caFile)) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca" + i++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  // ---- fault fixtures ----

  /**
   * A TCP proxy on 127.0.0.1 in front of nginx that misbehaves on purpose: of its connections,
   * 30 % are reset (RST to the client) and 10 % closed (FIN) after 50 ms to 3 s, 10 % stall
   * (stop forwarding responses) after 50 ms to 3 s; the rest are passed through. A connection
   * may be in use or idle in the pool when its fault strikes.
   */
  static final class FaultProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "soak-proxy-timer"));
    private final AtomicInteger sockets = new AtomicInteger();
    private final SplittableRandom random = new SplittableRandom(42);
    final LongAdder accepted = new LongAdder();
    final LongAdder resets = new LongAdder();
    final LongAdder stalls = new LongAdder();
    final LongAdder closes = new LongAdder();

    FaultProxy(InetSocketAddress upstream) throws IOException {
      this.upstream = upstream;
      server = new ServerSocket(0, 128, upstream.getAddress());
      daemon(this::acceptLoop, "soak-proxy-accept").start();
    }

    int port() {
      return server.getLocalPort();
    }

    /** Sockets the proxy holds (both sides of each connection). */
    int sockets() {
      return sockets.get();
    }

    private void acceptLoop() {
      while (!server.isClosed()) {
        Socket client;
        try {
          client = server.accept();
        } catch (IOException e) {
          return;
        }
        sockets.incrementAndGet();
        accepted.increment();
        Pipe p = new Pipe(client);
        try {
          Socket up = new Socket();
          p.up = up;
          sockets.incrementAndGet();
          up.connect(upstream, 2_000);
          client.setTcpNoDelay(true);
          up.setTcpNoDelay(true);
        } catch (IOException e) {
          p.close(false);
          continue;
        }
        int fault;
        long delay;
        synchronized (random) {
          fault = random.nextInt(10);
          delay = 50 + random.nextInt(2_950);
        }
        if (fault < 3) {
          timer.schedule(
              () -> {
                resets.increment();
                p.close(true);
              },
              delay,
              TimeUnit.MILLISECONDS);
        } else if (fault < 4) {
          timer.schedule(
              () -> {
                closes.increment();
                p.close(false);
              },
              delay,
              TimeUnit.MILLISECONDS);
        } else if (fault < 5) {
          timer.schedule(
              () -> {
                stalls.increment();
                p.stalled = true;
              },
              delay,
              TimeUnit.MILLISECONDS);
        }
        daemon(() -> p.pump(true), "soak-proxy-up").start();
        daemon(() -> p.pump(false), "soak-proxy-down").start();
      }
    }

    /** One proxied connection. */
    final class Pipe {
      final Socket client;
      volatile Socket up;
      volatile boolean stalled;
      final AtomicBoolean closed = new AtomicBoolean();

      Pipe(Socket client) {
        this.client = client;
      }

      void pump(boolean toUpstream) {
        byte[] buf = new byte[16 * 1024];
        try {
          InputStream in = toUpstream ? client.getInputStream() : up.getInputStream();
          OutputStream out = toUpstream ? up.getOutputStream() : client.getOutputStream();
          int n;
          while ((n = in.read(buf)) >= 0) {
            if (!toUpstream && stalled) {
              continue; // swallowed: the client waits for a response that never comes
            }
            out.write(buf, 0, n);
          }
        } catch (IOException e) {
          // closed or reset: end the pair
        }
        close(false);
      }

      void close(boolean reset) {
        if (!closed.compareAndSet(false, true)) {
          return;
        }
        try {
          if (reset) {
            client.setSoLinger(true, 0);
          }
        } catch (IOException ignored) {
          // closing anyway
        }
        for (Socket s : new Socket[] {client, up}) {
          if (s == null) {
            continue;
          }
          try {
            s.close();
          } catch (IOException ignored) {
            // closing
          }
          sockets.decrementAndGet();
        }
      }
    }

    @Override
    public void close() {
      try {
        server.close();
      } catch (IOException ignored) {
        // closing
      }
      timer.shutdownNow();
    }
  }

  /**
   * A listener on 127.0.0.1 whose accept queue is full (backlog 1, never accepts, filled by its
   * own connections): further connects hang until the client gives up.
   */
  static final class HangingListener implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> fillers = new ArrayList<>();

    HangingListener() throws IOException {
      server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
      InetSocketAddress where =
          new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
      for (int i = 0; i < 2; i++) {
        Socket s = new Socket();
        fillers.add(s);
        s.connect(where, 5_000);
      }
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      for (Socket s : fillers) {
        s.close();
      }
      server.close();
    }
  }

  /**
   * A port where connects are refused. Port 1 (tcpmux: nothing listens there, and it is outside
   * the ephemeral range, so a connect can never meet itself: a client socket whose ephemeral
   * port equals the port it connects to on 127.0.0.1 is connected to itself). Falls back to a
   * freed ephemeral port when something does listen on 1.
   */
  static int refusedPort(String host) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, 1), 1_000);
    } catch (IOException e) {
      return 1; // refused (or filtered): nothing listens there
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return s.getLocalPort();
    }
  }

  static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
