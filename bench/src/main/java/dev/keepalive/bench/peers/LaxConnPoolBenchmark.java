package dev.keepalive.bench.peers;

import java.util.concurrent.TimeUnit;
import org.apache.hc.core5.pool.PoolReusePolicy;
import org.apache.hc.core5.pool.LaxConnPool;
import org.apache.hc.core5.util.TimeValue;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

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
public class LaxConnPoolBenchmark extends HcPoolBenchmark {
  /** A LaxConnPool; it has no total limit, so {@code maxTotal} is unused. */
  static LaxConnPool<String, SocketConnection> newPool(int maxTotal) {
    return new LaxConnPool<>(Keys.MAX_PER_KEY, TimeValue.NEG_ONE_MILLISECOND,
        PoolReusePolicy.LIFO, null);
  }
}
