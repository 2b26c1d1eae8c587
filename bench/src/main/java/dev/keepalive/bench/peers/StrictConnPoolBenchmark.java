package dev.keepalive.bench.peers;

import org.apache.hc.core5.pool.PoolReusePolicy;
import org.apache.hc.core5.pool.StrictConnPool;
import org.apache.hc.core5.util.TimeValue;

/**
 * {@code ThreadCachedBenchmark}'s work through httpcore5's {@link StrictConnPool} (the pool
 * behind httpclient5's default {@code PoolingHttpClientConnectionManager}): from plain threads,
 * {@code lease(key, null).get()} then {@code release(entry, true)}, round-robin over the
 * thread's keys, each entry holding a connected loopback socket to the sink. One lock around all
 * pool state; LIFO; no time-to-live; per-key limit 4, total limit the idle sockets + 16. Every
 * lease must find an idle, connected entry (no connect while measuring), and after every
 * iteration the pool must hold exactly the pre-warmed sockets, all available.
 */
public class StrictConnPoolBenchmark extends HcPoolBenchmark {
  static StrictConnPool<String, SocketConnection> newPool(int maxTotal) {
    return new StrictConnPool<>(
        Keys.MAX_PER_KEY, maxTotal, TimeValue.NEG_ONE_MILLISECOND, PoolReusePolicy.LIFO, null);
  }
}
