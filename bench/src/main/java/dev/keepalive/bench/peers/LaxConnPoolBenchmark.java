package dev.keepalive.bench.peers;

import org.apache.hc.core5.pool.LaxConnPool;
import org.apache.hc.core5.pool.PoolReusePolicy;
import org.apache.hc.core5.util.TimeValue;

/**
 * {@code ThreadCachedBenchmark}'s work through httpcore5's {@link LaxConnPool} (httpclient5's
 * {@code PoolConcurrencyPolicy.LAX}): as {@link StrictConnPoolBenchmark}, but per-key pools of
 * concurrent deques and no lock; it has no total limit (the per-key limit is 4).
 */
public class LaxConnPoolBenchmark extends HcPoolBenchmark {
  /** A LaxConnPool; it has no total limit, so {@code maxTotal} is unused. */
  static LaxConnPool<String, SocketConnection> newPool(int maxTotal) {
    return new LaxConnPool<>(
        Keys.MAX_PER_KEY, TimeValue.NEG_ONE_MILLISECOND, PoolReusePolicy.LIFO, null);
  }
}
