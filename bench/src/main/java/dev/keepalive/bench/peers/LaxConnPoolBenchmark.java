package dev.keepalive.bench.peers;

import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.hc.core5.pool.PoolReusePolicy;
import org.apache.hc.core5.pool.LaxConnPool;
import org.apache.hc.core5.util.TimeValue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * {@code ThreadCachedBenchmark}'s work through httpcore5's {@link LaxConnPool} (httpclient5's
 * {@code PoolConcurrencyPolicy.LAX}): as {@link StrictConnPoolBenchmark}, but per-key pools of
 * concurrent deques and no lock; it has no total limit (the per-key limit is 4).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LaxConnPoolBenchmark {
  /** A LaxConnPool; it has no total limit, so {@code maxTotal} is unused. */
  static LaxConnPool<String, SocketConnection> newPool(int maxTotal) {
    return new LaxConnPool<>(Keys.MAX_PER_KEY, TimeValue.NEG_ONE_MILLISECOND,
        PoolReusePolicy.LIFO, null);
  }

  @State(Scope.Benchmark)
  public static class Target {
    @Param({"1", "100", "10000"})
    public int keys;

    HcPool pool;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      pool = HcPool.cached(LaxConnPoolBenchmark::newPool, keys);
    }

    @TearDown(Level.Iteration)
    public void check() {
      pool.verify();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (pool != null) {
        pool.close();
      }
    }
  }

  /** One key cycled from one thread while {@value Keys#QUEUED} leases wait on another key. */
  @State(Scope.Benchmark)
  public static class WithQueue {
    HcPool pool;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      pool = HcPool.withQueue(LaxConnPoolBenchmark::newPool);
    }

    @TearDown(Level.Iteration)
    public void check() {
      pool.verify();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (pool != null) {
        pool.close();
      }
    }
  }

  @State(Scope.Thread)
  public static class Worker {
    HcPool.Worker w;

    @Setup(Level.Trial)
    public void setUp(Target t, ThreadParams thread) {
      w = new HcPool.Worker(Keys.mine(t.pool.keys, thread));
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
      w = new HcPool.Worker(q.pool.keys);
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
    return t.pool.cycle(w.w);
  }

  @Benchmark
  @Threads(2)
  public SocketConnection threadCached2(Target t, Worker w)
      throws InterruptedException, ExecutionException, IOException {
    return t.pool.cycle(w.w);
  }

  @Benchmark
  @Threads(1)
  public SocketConnection threadCachedWithQueue(WithQueue q, QueueWorker w)
      throws InterruptedException, ExecutionException, IOException {
    return q.pool.cycle(w.w);
  }
}
