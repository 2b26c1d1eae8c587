package dev.keepalive.internal;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.reliability.LogCapture;
import dev.keepalive.testkit.AcceptingServer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The wiring of the lifetime and leak timers, with real sockets and a manual clock: the TCP stage
 * stamps the connect time from the settings' clock and the manager hands it to the pool; the
 * manager's leak watch fires on that clock, once per hand-out, and forgets a hand-out given back.
 * Nothing here depends on how fast the machine is.
 */
class LifecycleWiringTest {
  private static final long SECOND = 1_000_000_000L;
  private static final String HELD = "a connection to http://127.0.0.1:";

  private final AtomicLong now = new AtomicLong(1_000 * SECOND);
  private final AtomicLong ids = new AtomicLong();
  private AcceptingServer server;
  private Manager core;
  private Allocation to;

  @BeforeEach
  void startServer() {
    server = new AcceptingServer();
    to = Allocation.to("http", "127.0.0.1", server.port());
  }

  @AfterEach
  void stop() {
    if (core != null) {
      core.close();
    }
    server.close();
  }

  private Manager manager(long maxLifetimeNanos, long leakNanos) {
    // jitter 0: each socket lives exactly maxLifetime
    core = new Manager(TestSettings.of(4, 16, 3600 * SECOND, now::get, Pool.DEFAULT_EXPIRE_BATCH)
        .withProductionRules(
            maxLifetimeNanos,
            0,
            Integer.MAX_VALUE,
            Integer.MAX_VALUE,
            Settings.DEFAULT_CONNECT_ATTEMPT_DELAY_NANOS,
            leakNanos));
    return core;
  }

  private Connection get(Throwable site) throws Exception {
    CompletableFuture<Connection> f = new CompletableFuture<>();
    core.submit(
        ids.incrementAndGet(),
        to,
        false,
        (c, how) -> f.complete(c),
        failure -> f.completeExceptionally(new AssertionError(failure.toString())),
        site);
    return f.get(10, TimeUnit.SECONDS);
  }

  /** Returns once the loop has run a whole turn (its timers included) after this call. */
  private void turn() throws Exception {
    for (int i = 0; i < 2; i++) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      core.execute(() -> done.complete(null));
      done.get(10, TimeUnit.SECONDS);
    }
  }

  private PoolStats statsOnLoop() throws Exception {
    CompletableFuture<PoolStats> f = new CompletableFuture<>();
    core.execute(() -> f.complete(core.stats()));
    return f.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aSocketsLifetimeCountsFromItsTcpConnectOnTheSettingsClock() throws Exception {
    manager(10 * SECOND, 0);
    long connectedAt = now.get();
    Connection c = get(null);
    now.addAndGet(4 * SECOND);
    c.close();
    await().until(() -> statsOnLoop().idle() == 1);

    now.set(connectedAt + 10 * SECOND - 1);
    turn();
    assertThat(statsOnLoop().idle()).as("1 ns before its lifetime ends").isEqualTo(1);
    now.set(connectedAt + 10 * SECOND);
    turn();
    assertThat(statsOnLoop()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
    assertThat(get(null).fromCache()).isEqualTo(FromCache.NEW);
  }

  @Test
  void aLeakIsReportedOnceOnTheSettingsClockAndNeverAfterGiveBack() throws Exception {
    try (LogCapture log = new LogCapture()) {
      manager(0, 5 * SECOND);
      String held = HELD + server.port() + " has been held";
      Connection c = get(new Throwable("allocate() called here"));
      now.addAndGet(5 * SECOND - 1);
      turn();
      assertThat(log.at(LogCapture.WARNING, held)).isEmpty();
      now.addAndGet(1);
      turn();
      assertThat(log.at(LogCapture.WARNING, held))
          .hasSize(1)
          .allSatisfy(e -> assertThat(e.thrown()).hasMessage("allocate() called here"));
      now.addAndGet(3600 * SECOND);
      turn();
      assertThat(log.at(LogCapture.WARNING, held)).as("once").hasSize(1);
      assertThat(c.isOpen()).isTrue();
      c.close();

      Connection again = get(new Throwable("allocate() called here"));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      again.close();
      turn(); // the give-back is on the loop before the clock moves: no turn may see it held
      now.addAndGet(3600 * SECOND);
      turn();
      assertThat(log.at(LogCapture.WARNING, held)).as("given back in time").hasSize(1);
    }
  }

  @Test
  void withoutASiteNothingIsWatched() throws Exception {
    try (LogCapture log = new LogCapture()) {
      manager(0, 5 * SECOND);
      Connection c = get(null); // a manager whose public face captures no site: leak detection off
      now.addAndGet(3600 * SECOND);
      turn();
      assertThat(log.at(LogCapture.WARNING, HELD)).isEmpty();
      c.close();
    }
  }
}
