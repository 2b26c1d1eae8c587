package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionManager;
import dev.keepalive.PoolStats;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Cached allocate/close cycles driven from the event loop: the allocation callback gives the
 * connection back and issues the next allocate, so one JMH operation is one pool round trip with
 * no cross-thread hand-off. Every cycle must be answered IMMEDIATE from the pool; a NEW or
 * DEFERRED answer, a failure, or a change in the socket count fails the run.
 */
public class PoolCycleBenchmark extends JmhSettings {
  /** Cycles per JMH invocation (one chain). */
  static final int CYCLES = 10_000;
  /** Per-key limit of every manager here (the default). */
  static final int MAX_PER_HOST = 4;
  /** Requests left waiting on a blocked key in {@link #loopCachedWithQueue}. */
  static final int QUEUED = 10_000;

  /** Keys cycled round-robin, each with one idle socket to the sink. */
  @State(Scope.Benchmark)
  public static class Keys extends SinkFixture {
    @Param({"1", "100", "10000"})
    public int keys;

    Chain chain;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      sink = SinkProcess.start();
      manager = Pools.manager(MAX_PER_HOST, keys + 16);
      Allocation[] allocations = Pools.distinctKeys(sink.port(), keys);
      Pools.prewarm(manager, allocations, 1);
      chain = new Chain(manager, allocations, false);
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      verifyCached(chain, manager, keys, 0);
    }

    @Override
    String report() {
      return "[loopCached keys=" + keys + "] " + chain;
    }
  }

  /**
   * One key cycled as in {@link Keys} with keys=1, while another key has all its
   * {@value #MAX_PER_HOST} slots leased and {@value #QUEUED} more requests waiting behind them,
   * never served while measuring.
   */
  @State(Scope.Benchmark)
  public static class WithQueue extends SinkFixture {
    Chain chain;
    Pools.BlockedQueue queue;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      queue = startWithBlockedQueue(MAX_PER_HOST, QUEUED);
      chain = new Chain(manager, queue.measured, false);
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      queue.check();
      PoolStats s = verifyCached(chain, manager, 1, MAX_PER_HOST);
      if (s.pending() != QUEUED) {
        throw new IllegalStateException("queue changed: " + s);
      }
    }

    @Override
    String report() {
      return "[loopCachedWithQueue] " + chain;
    }
  }

  /** Throws unless every cycle so far was IMMEDIATE and the pool holds what it held at start. */
  static PoolStats verifyCached(Chain chain, ConnectionManager manager, int idle, int leased)
      throws InterruptedException {
    if (chain.fresh != 0 || chain.deferred != 0 || chain.failed != 0 || chain.cycles() == 0) {
      throw new IllegalStateException("not a cached cycle benchmark: " + chain);
    }
    return Pools.awaitStats(
        manager,
        s -> s.idle() == idle
            && s.leased() == leased
            && s.connecting() == 0
            && s.open() == idle + leased,
        idle + " idle and " + leased + " leased");
  }

  @Benchmark
  @OperationsPerInvocation(CYCLES)
  public void loopCached(Keys k) throws InterruptedException {
    k.chain.run(CYCLES);
  }

  @Benchmark
  @OperationsPerInvocation(CYCLES)
  public void loopCachedWithQueue(WithQueue q) throws InterruptedException {
    q.chain.run(CYCLES);
  }
}
