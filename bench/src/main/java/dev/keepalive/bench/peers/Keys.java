package dev.keepalive.bench.peers;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The pool keys and limits every peer benchmark shares with {@code ThreadCachedBenchmark}: keys
 * {@code h0, h1, ...} (all to the one sink, like keepalive's proxy-style targets), 2 idle
 * sockets when there is one key (one per thread, up to two threads), else 1 per key, the threads
 * on disjoint keys; a per-key limit of 4 (keepalive's default maxPerHost).
 */
final class Keys {
  /** Per-key limit, as keepalive's maxPerHost in the keepalive benchmarks. */
  static final int MAX_PER_KEY = 4;
  /** Requests left waiting on the blocked key in the with-queue benchmarks. */
  static final int QUEUED = 10_000;
  /** The blocked key of the with-queue benchmarks. */
  static final String BLOCKED = "blocked";
  /** Connects at most this many at once while pre-warming (below the sink's accept backlog). */
  static final int WARM_BATCH = 512;

  private Keys() {}

  /** {@code keys} distinct keys {@code h0, h1, ...}. */
  static String[] names(int keys) {
    String[] names = new String[keys];
    for (int i = 0; i < keys; i++) {
      names[i] = "h" + i;
    }
    return names;
  }

  /** Idle sockets pre-warmed per key. */
  static int perKey(int keys) {
    return keys == 1 ? 2 : 1;
  }

  /** Waits until {@code condition} holds; throws with {@code what} after 10 s. */
  static void await(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(what.get());
      }
      Thread.sleep(1);
    }
  }
}
