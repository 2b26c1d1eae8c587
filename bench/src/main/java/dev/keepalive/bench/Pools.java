package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.PoolStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/** Set-up helpers shared by the benchmarks. */
final class Pools {
  /** Connects at most this many at once while pre-warming (below the sink's accept backlog). */
  private static final int WARM_BATCH = 512;

  private Pools() {}

  /**
   * A manager for the cached-cycle benchmarks: {@code maxPerHost} per key, {@code maxOpen} in
   * all, keep-alive 1 h (nothing expires during a run).
   */
  static ConnectionManager manager(int maxPerHost, int maxOpen) {
    return ConnectionManager.builder()
        .maxPerHost(maxPerHost)
        .maxOpen(maxOpen)
        .keepAlive(Duration.ofHours(1))
        .build();
  }

  /**
   * Another key, "blocked", with all its {@code slots} leased and {@code queued} more requests
   * (timeout 1 h) waiting behind them; the benchmarks check that none of them is answered while
   * they measure. Closing the manager answers them with "shutdown" and closes the blockers.
   */
  static final class BlockedQueue {
    final List<Connection> blockers = new ArrayList<>();
    final AtomicLong answered = new AtomicLong();
    final AtomicLong served = new AtomicLong();
    /** The measured key, from {@link #besideOneIdleKey}. */
    Allocation[] measured;

    BlockedQueue(ConnectionManager manager, int port, int slots, int queued) throws Exception {
      Allocation blocked = Allocation.to("http", "127.0.0.1", port)
          .forTarget("http", "blocked", 80)
          .timeout(Duration.ofHours(1));
      for (int i = 0; i < slots; i++) {
        blockers.add(manager.allocate(blocked).get(10, TimeUnit.SECONDS));
      }
      for (int i = 0; i < queued; i++) {
        manager.allocate(blocked, r -> {
          answered.incrementAndGet();
          if (r.isSuccess()) {
            served.incrementAndGet();
            r.connection().discard();
          }
        });
      }
    }

    /**
     * The with-queue set-up: one key (h0) pre-warmed with one idle socket, the one measured, and
     * the blocked key beside it; returns once the pool shows both.
     */
    static BlockedQueue besideOneIdleKey(ConnectionManager manager, int port, int slots, int queued)
        throws Exception {
      Allocation[] measured = distinctKeys(port, 1);
      prewarm(manager, measured, 1);
      BlockedQueue q = new BlockedQueue(manager, port, slots, queued);
      q.measured = measured;
      awaitStats(
          manager,
          s -> s.pending() == queued && s.leased() == slots && s.idle() == 1,
          queued + " pending, " + slots + " leased, 1 idle");
      return q;
    }

    /** Throws if a queued request was answered. */
    void check() {
      if (answered.get() != 0) {
        throw new IllegalStateException(answered.get() + " queued requests were answered "
            + "while measuring (" + served.get() + " served)");
      }
    }
  }

  /** {@code keys} distinct pool keys, all to the sink: proxy-style targets h0, h1, ... */
  static Allocation[] distinctKeys(int port, int keys) {
    Allocation[] a = new Allocation[keys];
    for (int i = 0; i < keys; i++) {
      a[i] = Allocation.to("http", "127.0.0.1", port).forTarget("http", "h" + i, 80);
    }
    return a;
  }

  /**
   * Opens {@code perKey} sockets for every allocation and gives them all back, so each key has
   * that many idle sockets; then waits until the pool shows them all idle.
   */
  static void prewarm(ConnectionManager manager, Allocation[] allocations, int perKey)
      throws Exception {
    List<Connection> held = new ArrayList<>();
    List<CompletableFuture<Connection>> batch = new ArrayList<>();
    for (int round = 0; round < perKey; round++) {
      for (Allocation a : allocations) {
        batch.add(manager.allocate(a));
        if (batch.size() == WARM_BATCH) {
          drain(batch, held);
        }
      }
    }
    drain(batch, held);
    for (Connection c : held) {
      c.close();
    }
    int expected = allocations.length * perKey;
    awaitStats(
        manager,
        s -> s.idle() == expected && s.open() == expected,
        "every pre-warmed socket idle (" + expected + ")");
  }

  private static void drain(List<CompletableFuture<Connection>> batch, List<Connection> held)
      throws Exception {
    for (CompletableFuture<Connection> f : batch) {
      held.add(f.get(60, TimeUnit.SECONDS));
    }
    batch.clear();
  }

  /**
   * Waits until the stats other threads see (published by the loop each turn) satisfy
   * {@code condition}; throws with {@code what} after 10 s.
   */
  static PoolStats awaitStats(
      ConnectionManager manager, Predicate<PoolStats> condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    PoolStats s;
    while (!condition.test(s = manager.stats())) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("expected " + what + ", pool is " + s);
      }
      Thread.sleep(1);
    }
    return s;
  }
}
