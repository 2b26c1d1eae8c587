package dev.keepalive.internal;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.CloseReason;
import dev.keepalive.Connection;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.testkit.AcceptingServer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A key's minimum of idle sockets (keepWarm) with real sockets on 127.0.0.1 and a manual clock:
 * it opens and replaces sockets, and against a server that accepts and closes at once it backs
 * off instead of reconnecting in a loop. Nothing here depends on how fast the machine is: the
 * clock moves only when the test moves it.
 */
class KeepWarmWiringTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long MS = SECOND / 1000;

  private final AtomicLong now = new AtomicLong(1_000 * SECOND);
  private final AtomicLong ids = new AtomicLong();
  private AcceptingServer server;
  private Manager core;

  @AfterEach
  void stop() {
    if (core != null) {
      core.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private Manager manager() {
    core = new Manager(TestSettings.of(4, 16, 3600 * SECOND, now::get, Pool.DEFAULT_EXPIRE_BATCH)
        .withProductionRules(0, 0, Integer.MAX_VALUE, Integer.MAX_VALUE, 0, 0));
    return core;
  }

  @Test
  void itOpensTheMinimumAndReplacesASocketHandedOut() throws Exception {
    server = new AcceptingServer();
    Allocation to = Allocation.to("http", "127.0.0.1", server.port());
    Manager m = manager();
    assertThat(m.keepWarm(to, 2)).isTrue();
    await().until(() -> m.stats(to).equals(new PoolStats(2, 2, 0, 0, 0)));
    Connection c = Requests.submit(m, ids.incrementAndGet(), to).get(10, TimeUnit.SECONDS);
    assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    await().until(() -> m.stats(to).equals(new PoolStats(3, 2, 1, 0, 0)));
    await().until(() -> server.acceptedCount() == 3);
    c.close();
    await().until(() -> m.stats(to).equals(new PoolStats(3, 3, 0, 0, 0)));
    m.shutdown();
    await().until(() -> m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));
  }

  @Test
  void aServerThatAcceptsAndClosesAtOnceIsRetriedOnlyAfterTheBackoff() {
    server = new AcceptingServer(peer -> peer.close());
    Allocation to = Allocation.to("http", "127.0.0.1", server.port());
    Manager m = manager(); // the jitter draws from the default random source
    m.keepWarm(to, 1);
    await()
        .until(() -> m.totals().closed(CloseReason.PEER_CLOSED) == 1
            && m.stats(to).equals(new PoolStats(0, 0, 0, 0, 0)));
    // The clock has not moved: the backoff (at least 50 ms) has not ended, so nothing connects,
    // however long the loop runs.
    for (int i = 0; i < 100; i++) {
      assertThat(m.stats(to)).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
    }
    assertThat(m.totals().closed(CloseReason.PEER_CLOSED)).isEqualTo(1);
    now.addAndGet(150 * MS); // past any first delay (100 ms +-50%)
    m.stats(to); // a loop turn
    await()
        .until(() -> m.totals().closed(CloseReason.PEER_CLOSED) == 2
            && m.stats(to).equals(new PoolStats(0, 0, 0, 0, 0)));
    for (int i = 0; i < 100; i++) {
      assertThat(m.stats(to).open()).isZero();
    }
    assertThat(m.totals().closed(CloseReason.PEER_CLOSED)).isEqualTo(2);
  }
}
