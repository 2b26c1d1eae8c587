package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionManager;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Small request/response cycles over plain TCP and TLS against a {@link TlsSink} echo server,
 * driven from the event loop ({@link EchoChain}). One operation = one {@value #SIZE}-byte request
 * written with {@code write()} and its echo read back through {@code start(handler)}.
 *
 * <ul>
 *   <li>{@link #pooledRequest} ({@code scheme} = http, https): on one cached connection, given
 *       back with {@code close()} after each echo and taken again IMMEDIATE. https vs http is
 *       the cost of the TLS record path (encrypt, decrypt, the TLS layer's reads and buffers).
 *   <li>{@link #newTlsRequest} ({@code resume} = true, false): a new TLS connection per request
 *       (TCP connect, handshake, request/response, {@code discard()}, which sends close_notify).
 *       resume=true keeps the manager's context and its session cache, so the JDK resumes the
 *       session (TLS 1.3 PSK from the server's ticket); resume=false forgets every cached
 *       session after each request, so every handshake is full (certificate, signature, ECDHE).
 * </ul>
 *
 * <p>Checked after every iteration: every allocation answered as claimed (IMMEDIATE for pooled,
 * NEW for new), no failure, one verified echo per cycle, the pool as it was; and the handshakes
 * seen on both sides (the client's trust manager counts full handshakes, the sink counts
 * handshakes and full ones): none while pooled, one per request for new, all full for
 * resume=false and none full for resume=true.
 *
 * <p>Secondary results (JMH aux counters, per second like the score): {@code loopCpu}, the CPU
 * time of the manager's event-loop thread in ns, and {@code sinkCpu}, that of the sink's serving
 * thread, both measured around each invocation (outside its timing). Divided by the score they
 * give the CPU ns per request on each side; the rest of a request's time is waiting (wake-ups
 * across the two processes, the loopback).
 */
@Warmup(iterations = 6, time = 1)
public class TlsBenchmark extends JmhSettings {
  /** Request (and echo) size in bytes. */
  static final int SIZE = 64;
  /** Request/response cycles per JMH invocation on a pooled connection. */
  static final int POOLED_CYCLES = 1_000;
  /** Request/response cycles per JMH invocation with a new connection each. */
  static final int NEW_CYCLES = 20;

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** The sink's counters at some point. */
  record SinkStats(long handshakes, long full, long echoes, long cpuNanos) {
    static SinkStats of(SinkProcess sink) throws IOException {
      String line = sink.ask("STATS");
      String[] w = line.split(" ");
      if (w.length < 6 || !w[0].equals("STATS")) {
        throw new IllegalStateException("unexpected answer from the sink: " + line);
      }
      return new SinkStats(
          Long.parseLong(w[1]), Long.parseLong(w[2]), Long.parseLong(w[3]), Long.parseLong(w[5]));
    }
  }

  /** What both benchmarks hold: a sink, a client context, a manager and a chain. */
  abstract static class Target {
    /**
     * The one set up for the benchmark running now, for {@link Cpu}: a JVM runs one benchmark
     * at a time (JMH forks one per benchmark).
     */
    static volatile Target running;

    SinkProcess sink;
    TlsClient client;
    ConnectionManager manager;
    EchoChain chain;
    // as of the last check
    long responses;
    long clientFull;
    SinkStats server;

    void start(int plainListeners, int tlsListeners) throws Exception {
      sink = SinkProcess.startTls(plainListeners, tlsListeners);
      client = TlsClient.trusting(sink);
      manager = ConnectionManager.builder()
          .sslContext(client.context)
          .keepAlive(Duration.ofHours(1)) // nothing expires during a run
          .build();
      running = this;
    }

    /** CPU ns of the manager's loop thread so far (-1 before the first request). */
    long loopCpu() {
      Thread t = chain.loopThread;
      return t == null ? -1 : THREADS.getThreadCpuTime(t.getId());
    }

    void stop(String label) {
      if (manager != null) {
        System.out.println("\n[" + label + "] " + chain + "; pool " + manager.stats());
        manager.close();
      }
      if (sink != null) {
        sink.close();
      }
    }
  }

  /** One connection to the sink's plain or TLS port, reused for every request. */
  @State(Scope.Benchmark)
  public static class Pooled extends Target {
    @Param({"http", "https"})
    public String scheme;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      start(1, 1);
      boolean https = scheme.equals("https");
      int port = https ? sink.headerPorts("TLS")[0] : sink.headerPorts("PLAIN")[0];
      chain = new EchoChain(manager, Allocation.to(scheme, "127.0.0.1", port), SIZE, false, null);
      chain.run(1); // connects (and handshakes): the one NEW of the trial
      if (chain.fresh != 1 || chain.responses != 1) {
        throw new IllegalStateException("first request: " + chain);
      }
      chain.fresh = 0;
      chain.responses = 0;
      if (https != chain.tls.startsWith("TLS")) {
        throw new IllegalStateException(scheme + " connection speaks " + chain.tls);
      }
      Pools.awaitStats(manager, s -> s.idle() == 1 && s.open() == 1, "1 idle socket");
      clientFull = client.fullHandshakes();
      server = SinkStats.of(sink);
      if (https && (clientFull != 1 || server.handshakes() != 1 || server.full() != 1)) {
        throw new IllegalStateException(
            "expected one full handshake, client saw " + clientFull + ", server " + server);
      }
    }

    @TearDown(Level.Iteration)
    public void check() throws Exception {
      if (chain.fresh != 0
          || chain.deferred != 0
          || chain.failed != 0
          || chain.immediate == 0
          || chain.responses != chain.immediate) {
        throw new IllegalStateException("not a pooled request benchmark: " + chain);
      }
      if (scheme.equals("https") != chain.tls.startsWith("TLS")) {
        throw new IllegalStateException(scheme + " connection speaks " + chain.tls);
      }
      Pools.awaitStats(
          manager, s -> s.idle() == 1 && s.open() == 1 && s.leased() == 0, "1 idle socket");
      SinkStats now = SinkStats.of(sink);
      long full = client.fullHandshakes();
      long requests = chain.responses - responses;
      if (now.handshakes() != server.handshakes() || full != clientFull) {
        throw new IllegalStateException("handshakes while pooled: server " + server + " -> " + now
            + ", client full " + clientFull + " -> " + full);
      }
      if (now.echoes() - server.echoes() < requests) {
        throw new IllegalStateException("the sink echoed " + (now.echoes() - server.echoes())
            + " times for " + requests + " requests");
      }
      responses = chain.responses;
      server = now;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      stop("pooledRequest " + scheme);
    }
  }

  /** A new TLS connection per request; sessions resumed or not. */
  @State(Scope.Benchmark)
  public static class NewTls extends Target {
    @Param({"true", "false"})
    public boolean resume;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      start(0, 1);
      int port = sink.headerPorts("TLS")[0];
      chain = new EchoChain(
          manager,
          Allocation.to("https", "127.0.0.1", port),
          SIZE,
          true,
          resume ? null : c -> client.forgetSessions(c.sslSession()));
      chain.run(1); // the first handshake is full either way; resume=true resumes from it
      Pools.awaitStats(manager, s -> s.open() == 0, "no socket open");
      responses = chain.responses;
      clientFull = client.fullHandshakes();
      server = SinkStats.of(sink);
      if (clientFull != 1 || server.full() != 1) {
        throw new IllegalStateException(
            "expected one full handshake, client saw " + clientFull + ", server " + server);
      }
    }

    @TearDown(Level.Iteration)
    public void check() throws Exception {
      if (chain.immediate != 0
          || chain.deferred != 0
          || chain.failed != 0
          || chain.fresh == 0
          || chain.responses != chain.fresh
          || !chain.tls.startsWith("TLS")) {
        throw new IllegalStateException("not a new-connection TLS benchmark: " + chain);
      }
      Pools.awaitStats(manager, s -> s.open() == 0 && s.pending() == 0, "no socket open");
      long requests = chain.responses - responses;
      long full = client.fullHandshakes() - clientFull;
      SinkStats now = SinkStats.of(sink);
      long handshakes = now.handshakes() - server.handshakes();
      long serverFull = now.full() - server.full();
      String seen = requests + " requests: " + handshakes + " handshakes at the server, "
          + serverFull + " of them full; " + full + " full at the client";
      if (handshakes != requests) {
        throw new IllegalStateException("not one handshake per request: " + seen);
      }
      if (full != serverFull || full != (resume ? 0 : requests)) {
        throw new IllegalStateException(
            (resume ? "sessions not resumed: " : "sessions resumed: ") + seen);
      }
      responses = chain.responses;
      clientFull = client.fullHandshakes();
      server = now;
      System.out.print(" [" + seen + "]");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      stop("newTlsRequest resume=" + resume);
    }
  }

  /**
   * Both benchmarks' CPU counters, ns (JMH shows them per second, like the score): the CPU time
   * of the manager's loop thread and of the sink's serving thread, read before and after each
   * invocation (outside its timing), of the {@link Target} set up for the running benchmark.
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Cpu {
    public long loopCpu;
    public long sinkCpu;
    private long loopStart = -1;
    private long sinkStart = -1;

    @Setup(Level.Iteration)
    public void reset() {
      loopCpu = 0;
      sinkCpu = 0;
    }

    @Setup(Level.Invocation)
    public void before() throws IOException {
      loopStart = Target.running.loopCpu();
      sinkStart = SinkStats.of(Target.running.sink).cpuNanos();
    }

    @TearDown(Level.Invocation)
    public void after() throws IOException {
      long l = Target.running.loopCpu();
      loopCpu += loopStart >= 0 && l >= 0 ? l - loopStart : 0;
      long s = SinkStats.of(Target.running.sink).cpuNanos();
      sinkCpu += sinkStart >= 0 && s >= 0 ? s - sinkStart : 0;
    }
  }

  @Benchmark
  @OperationsPerInvocation(POOLED_CYCLES)
  public void pooledRequest(Pooled p, Cpu cpu) throws InterruptedException {
    p.chain.run(POOLED_CYCLES);
  }

  /** Warm-up 6 x 2 s: the handshake code of both JVMs takes about 12 s to compile here. */
  @Benchmark
  @OperationsPerInvocation(NEW_CYCLES)
  @Warmup(iterations = 6, time = 2)
  public void newTlsRequest(NewTls t, Cpu cpu) throws InterruptedException {
    t.chain.run(NEW_CYCLES);
  }
}
