package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionManager;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * New-connection cycles driven from the event loop: allocate (nothing idle, so the manager
 * connects: NEW), then discard() (closed, never pooled), and the callback issues the next
 * allocate. One operation = one TCP connect + accept (in the sink process) + close. Every answer
 * must be NEW.
 *
 * <p>The sink listens on {@code ports} ports, used round-robin (one key each). Each discarded
 * connection leaves a TIME_WAIT entry on its client port, and Linux reuses such a port for the
 * same destination only after a second (net.ipv4.tcp_tw_reuse=2, loopback): at 15,000+ connects
 * a second to one address:port the kernel's port search, not the manager, sets the pace.
 * Several destination ports give each client port several 4-tuples. {@code -p ports=1} measures
 * the single-destination case.
 */
public class NewConnectionBenchmark extends JmhSettings {
  static final int CYCLES = 1_000;

  @State(Scope.Benchmark)
  public static class Target {
    @Param({"4"})
    public int ports;

    SinkProcess sink;
    ConnectionManager manager;
    Chain chain;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      sink = SinkProcess.start(ports);
      manager = ConnectionManager.builder().keepAlive(Duration.ofHours(1)).build();
      int[] p = sink.ports();
      Allocation[] allocations = new Allocation[p.length];
      for (int i = 0; i < p.length; i++) {
        allocations[i] = Allocation.to("http", "127.0.0.1", p[i]);
      }
      chain = new Chain(manager, allocations, true);
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      if (chain.immediate != 0 || chain.deferred != 0 || chain.failed != 0 || chain.fresh == 0) {
        throw new IllegalStateException("not a new-connection benchmark: " + chain);
      }
      Pools.awaitStats(manager, s -> s.open() == 0 && s.pending() == 0, "no socket open");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (manager != null) {
        System.out.println("\n[newConnection] " + chain + "; pool " + manager.stats());
        manager.close();
      }
      if (sink != null) {
        sink.close();
      }
    }
  }

  @Benchmark
  @OperationsPerInvocation(CYCLES)
  public void newConnection(Target t) throws InterruptedException {
    t.chain.run(CYCLES);
  }
}
