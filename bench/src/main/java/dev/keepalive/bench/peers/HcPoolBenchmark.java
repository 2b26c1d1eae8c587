package dev.keepalive.bench.peers;

import dev.keepalive.bench.JmhSettings;
import dev.keepalive.bench.ThreadCachedBenchmark;
import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.function.IntFunction;
import org.apache.hc.core5.pool.ManagedConnPool;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * The benchmarks of {@link StrictConnPoolBenchmark} and {@link LaxConnPoolBenchmark}, which
 * differ only in the pool: JMH runs these methods once per subclass, under the subclass's name,
 * and the states pick that subclass's pool from the benchmark's name.
 */
public abstract class HcPoolBenchmark extends JmhSettings {
  /** The pool factory of the benchmark being run. */
  static IntFunction<ManagedConnPool<String, SocketConnection>> poolFor(BenchmarkParams params) {
    String name = params.getBenchmark();
    if (name.contains(".LaxConnPoolBenchmark.") || name.contains(".SafeLaxConnPoolBenchmark.")) {
      return LaxConnPoolBenchmark::newPool;
    }
    if (name.contains(".StrictConnPoolBenchmark.")
        || name.contains(".SafeStrictConnPoolBenchmark.")) {
      return StrictConnPoolBenchmark::newPool;
    }
    throw new IllegalStateException("no httpcore5 pool for " + name);
  }

  /** True for the equal-safety variants ({@code Safe*}): every lease checks its socket. */
  static boolean validates(BenchmarkParams params) {
    return params.getBenchmark().contains(".Safe");
  }

  @State(Scope.Benchmark)
  public static class Target extends PeerState<HcPool> {
    @Param({"1", "100", "10000"})
    public int keys;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
      pools = HcPool.cached(poolFor(params), keys, validates(params));
    }
  }

  /** One key cycled from one thread while {@value Keys#QUEUED} leases wait on another key. */
  @State(Scope.Benchmark)
  public static class WithQueue extends PeerState<HcPool> {
    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
      pools = HcPool.withQueue(poolFor(params), validates(params));
    }
  }

  @State(Scope.Thread)
  public static class Worker {
    HcPool.Worker w;

    @Setup(Level.Trial)
    public void setUp(Target t, ThreadParams thread) {
      w = new HcPool.Worker(ThreadCachedBenchmark.mine(t.pools.keys, thread));
    }

    @TearDown(Level.Iteration)
    public void check() {
      w.verify();
    }
  }

  @State(Scope.Thread)
  public static class QueueWorker {
    HcPool.Worker w;

    @Setup(Level.Trial)
    public void setUp(WithQueue q) {
      w = new HcPool.Worker(q.pools.keys);
    }

    @TearDown(Level.Iteration)
    public void check() {
      w.verify();
    }
  }

  @Benchmark
  @Threads(1)
  public SocketConnection threadCached(Target t, Worker w)
      throws InterruptedException, ExecutionException, IOException {
    return t.pools.cycle(w.w);
  }

  @Benchmark
  @Threads(2)
  public SocketConnection threadCached2(Target t, Worker w)
      throws InterruptedException, ExecutionException, IOException {
    return t.pools.cycle(w.w);
  }

  @Benchmark
  @Threads(1)
  public SocketConnection threadCachedWithQueue(WithQueue q, QueueWorker w)
      throws InterruptedException, ExecutionException, IOException {
    return q.pools.cycle(w.w);
  }
}
