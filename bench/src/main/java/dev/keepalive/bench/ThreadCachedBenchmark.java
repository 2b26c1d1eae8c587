package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Cached cycles from plain threads, the way blocking client code uses the manager:
 * {@code allocate(a).get()}, then {@code close()}. Each operation crosses to the event loop and
 * back (request, delivery, give-back). {@code keys} distinct pool keys (proxy-style targets on
 * the sink, as in {@link PoolCycleBenchmark}): with one key it holds two idle sockets, so each of
 * up to two threads always finds one; with more keys one idle socket per key and the threads
 * take disjoint keys (thread i of n the keys i, i + n, ...), each round-robin over its own.
 * Every answer must be IMMEDIATE. The peers' equivalents are in
 * {@code dev.keepalive.bench.peers}.
 */
public class ThreadCachedBenchmark extends JmhSettings {
  /** Idle sockets of the one key when keys = 1 (one per thread, up to two threads). */
  static final int IDLE_ONE_KEY = 2;
  /** Requests left waiting on a blocked key in {@link #threadCachedWithQueue}. */
  static final int QUEUED = PoolCycleBenchmark.QUEUED;

  static final int MAX_PER_HOST = PoolCycleBenchmark.MAX_PER_HOST;

  @State(Scope.Benchmark)
  public static class Target extends SinkFixture {
    @Param({"1", "100", "10000"})
    public int keys;

    Allocation[] allocations;
    int idle;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      sink = SinkProcess.start();
      int perKey = keys == 1 ? IDLE_ONE_KEY : 1;
      idle = keys * perKey;
      manager = Pools.manager(MAX_PER_HOST, idle + 16);
      allocations = Pools.distinctKeys(sink.port(), keys);
      Pools.prewarm(manager, allocations, perKey);
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      Pools.awaitStats(
          manager,
          s -> s.idle() == idle && s.open() == idle,
          idle + " idle sockets and nothing else");
    }
  }

  /**
   * One key with one idle socket cycled from one thread, while another key has all its
   * {@value #MAX_PER_HOST} slots leased and {@value #QUEUED} more requests wait behind them (as
   * in {@link PoolCycleBenchmark#loopCachedWithQueue}).
   */
  @State(Scope.Benchmark)
  public static class WithQueue extends SinkFixture {
    Allocation[] allocations;
    Pools.BlockedQueue queue;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      queue = startWithBlockedQueue(MAX_PER_HOST, QUEUED);
      allocations = queue.measured;
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      queue.check();
      Pools.awaitStats(
          manager,
          s -> s.pending() == QUEUED
              && s.leased() == MAX_PER_HOST
              && s.idle() == 1
              && s.open() == MAX_PER_HOST + 1,
          QUEUED + " pending, " + MAX_PER_HOST + " leased, 1 idle");
    }
  }

  /** What one benchmark thread saw, and the keys it cycles over. */
  abstract static class Cycler extends KeyCycle<Allocation> {
    long immediate;
    long other;

    void verify() {
      if (other != 0 || immediate == 0) {
        throw new IllegalStateException(
            "not a cached benchmark: IMMEDIATE " + immediate + ", other " + other);
      }
    }
  }

  /** A thread of {@link #threadCached} or {@link #threadCached2}. */
  @State(Scope.Thread)
  public static class Seen extends Cycler {
    @Setup(Level.Trial)
    public void setUp(Target t, ThreadParams thread) {
      mine = mine(t.allocations, thread);
    }

    @TearDown(Level.Iteration)
    public void check() {
      verify();
    }
  }

  /** The thread of {@link #threadCachedWithQueue}. */
  @State(Scope.Thread)
  public static class SeenWithQueue extends Cycler {
    @Setup(Level.Trial)
    public void setUp(WithQueue q) {
      mine = q.allocations;
    }

    @TearDown(Level.Iteration)
    public void check() {
      verify();
    }
  }

  /**
   * This thread's keys: all of them when there are fewer keys than threads, else thread i of n
   * takes the keys i, i + n, i + 2n, ... (the peers' benchmarks split theirs alike).
   */
  public static <T> T[] mine(T[] all, ThreadParams thread) {
    int n = thread.getThreadCount();
    int first = thread.getThreadIndex();
    if (all.length < n) {
      return all;
    }
    T[] mine = Arrays.copyOf(all, (all.length - first + n - 1) / n);
    for (int i = first, j = 0; i < all.length; i += n, j++) {
      mine[j] = all[i];
    }
    return mine;
  }

  static FromCache cycle(ConnectionManager manager, Cycler seen)
      throws InterruptedException, ExecutionException {
    Connection c = manager.allocate(seen.next()).get();
    FromCache how = c.fromCache();
    c.close();
    if (how == FromCache.IMMEDIATE) {
      seen.immediate++;
    } else {
      seen.other++;
    }
    return how;
  }

  @Benchmark
  @Threads(1)
  public FromCache threadCached(Target t, Seen seen)
      throws InterruptedException, ExecutionException {
    return cycle(t.manager, seen);
  }

  @Benchmark
  @Threads(2)
  public FromCache threadCached2(Target t, Seen seen)
      throws InterruptedException, ExecutionException {
    return cycle(t.manager, seen);
  }

  @Benchmark
  @Threads(1)
  public FromCache threadCachedWithQueue(WithQueue q, SeenWithQueue seen)
      throws InterruptedException, ExecutionException {
    return cycle(q.manager, seen);
  }
}
