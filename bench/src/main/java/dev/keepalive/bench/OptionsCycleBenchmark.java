package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionListener;
import dev.keepalive.ConnectionManager;
import dev.keepalive.micrometer.KeepaliveMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the production options cost a cached cycle (issue 12: within 5% of a manager without
 * them): {@link PoolCycleBenchmark#loopCached}'s chain, on one manager built with none of them
 * ({@code options=none}), with every one that a cached cycle passes through but leak detection
 * ({@code options=all}), and with leak detection too ({@code options=all+leak}: it captures the
 * allocate() stack of every request, the price of naming the allocation site). The options are
 * set so that none of them acts during the run (lifetime, leak threshold and health-check age 1 h,
 * a use limit never reached, a queue bound never hit, TCP keepalive set at connect): what is
 * measured is their bookkeeping. keepWarm is left out: a minimum of idle sockets is per key and
 * adds a socket per key while one is leased (the keys without one pay a field test per hand-out,
 * measured here).
 *
 * <p>Observability: {@code options=listener} adds a listener that overrides nothing (every
 * event is built and delivered to an empty method: the price of being observed), {@code
 * options=jfr} runs the cycle under a JFR recording with keepalive's events at their default
 * settings (the Acquire event's 10 ms threshold: begun and ended per request, never committed).
 * {@code none} is the manager with neither: what "costs nothing when unused" is measured against.
 * {@code options=metrics} binds keepalive-micrometer's {@link KeepaliveMetrics} (to a {@link
 * SimpleMeterRegistry}): a timer and a counter per hand-out; {@code options=metrics+keys} does
 * the same with per-key tags for up to 16 keys (the rest share one tag value): a map look-up of the
 * key per event on top.
 */
public class OptionsCycleBenchmark extends JmhSettings {
  /** Keys cycled round-robin, each with one idle socket to the sink. */
  @State(Scope.Benchmark)
  public static class Options extends SinkFixture {
    @Param({"none", "all", "all+leak", "listener", "jfr", "metrics", "metrics+keys"})
    public String options;

    @Param({"1", "10000"})
    public int keys;

    Chain chain;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      sink = SinkProcess.start();
      manager = manager(options, keys + 16);
      Allocation[] allocations = Pools.distinctKeys(sink.port(), keys);
      Pools.prewarm(manager, allocations, 1);
      chain = new Chain(manager, allocations, false);
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      PoolCycleBenchmark.verifyCached(chain, manager, keys, 0);
    }

    @Override
    String report() {
      return "[optionsCached options=" + options + " keys=" + keys + "] " + chain;
    }
  }

  /** A manager as {@link Pools#manager} builds it, with the options {@code which} names. */
  static ConnectionManager manager(String which, int maxOpen) {
    ConnectionManager.Builder b = ConnectionManager.builder()
        .maxPerHost(PoolCycleBenchmark.MAX_PER_HOST)
        .maxOpen(maxOpen)
        .keepAlive(Duration.ofHours(1));
    if (which.equals("none")) {
      return b.build();
    }
    if (which.equals("listener")) {
      return b.listener(new ConnectionListener() {}).build();
    }
    if (which.equals("metrics") || which.equals("metrics+keys")) {
      KeepaliveMetrics metrics = KeepaliveMetrics.builder(new SimpleMeterRegistry())
          .name("bench")
          .perKeyTags(which.equals("metrics") ? 0 : 16)
          .build();
      ConnectionManager m = b.listener(metrics).build();
      metrics.bindTo(m);
      return m;
    }
    if (which.equals("jfr")) {
      startRecording();
      return b.build();
    }
    if (!which.equals("all") && !which.equals("all+leak")) {
      throw new IllegalArgumentException(
          "options must be none, all, all+leak, listener, jfr, metrics or metrics+keys: " + which);
    }
    if (which.equals("all+leak")) {
      b.leakDetection(Duration.ofHours(1));
    }
    b.maxLifetime(Duration.ofHours(2))
        .lifetimeJitter(0.1)
        .maxUses(1 << 30)
        .maxQueued(100_000)
        .connectAttemptDelay(Duration.ofMillis(250))
        .tcpKeepAlive(Duration.ofSeconds(60), Duration.ofSeconds(10), 3)
        // a check due only after an hour of idleness: what a cycle pays is the test of the age
        .healthCheck(Duration.ofHours(1), c -> CompletableFuture.completedFuture(true));
    return b.build();
  }

  /** A JFR recording of keepalive's events at their defaults, for the rest of this JVM. */
  private static void startRecording() {
    jdk.jfr.Recording r = new jdk.jfr.Recording();
    for (String e : new String[] {"Connect", "TlsHandshake", "Acquire", "Close", "Leak"}) {
      r.enable("dev.keepalive." + e); // each at its own default (Acquire: 10 ms threshold)
    }
    r.setToDisk(false);
    r.start();
  }

  @Benchmark
  @OperationsPerInvocation(PoolCycleBenchmark.CYCLES)
  public void optionsCached(Options o) throws InterruptedException {
    o.chain.run(PoolCycleBenchmark.CYCLES);
  }
}
