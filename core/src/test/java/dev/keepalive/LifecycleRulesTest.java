package dev.keepalive;

import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerSawClose;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.reliability.LogCapture;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * The settings for production networks through the public API, with real sockets on 127.0.0.1:
 * prewarm, stats of one key, evictIdle, maxQueued, maxLifetime, maxUses, leak detection, and the
 * checks of every new argument. The pool's side of each rule, with a manual clock and fixed
 * random draws, is in PoolTest (Lifetimes, MaxUses, MaxQueued, KeyStats, EvictIdle, WarmUps).
 */
class LifecycleRulesTest {
  private static final PoolStats EMPTY = new PoolStats(0, 0, 0, 0, 0);

  @AutoClose
  private final AcceptingServer server = new AcceptingServer();

  private final Allocation to = Allocation.to("http", "127.0.0.1", server.port());
  /** The managers a test built; closed after it, before the server (fields close last). */
  private final List<ConnectionManager> managers = new ArrayList<>();

  @AfterEach
  void closeManagers() {
    managers.forEach(ConnectionManager::close);
  }

  private ConnectionManager manager(ConnectionManager.Builder b) {
    ConnectionManager m = b.build();
    managers.add(m);
    return m;
  }

  /** {@code c} still carries bytes to its peer. */
  private static void assertWorks(Connection c, Socket peer) throws Exception {
    c.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII))).get(10, TimeUnit.SECONDS);
    peer.setSoTimeout(10_000);
    byte[] got = peer.getInputStream().readNBytes(4);
    assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("ping");
  }

  // ---- prewarm ----

  @Test
  void prewarmOpensConnectionsThatTheFirstRequestsFindIdle() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder());
    assertThat(m.prewarm(to, 3).get(10, TimeUnit.SECONDS)).isEqualTo(3);
    assertThat(m.stats(to)).isEqualTo(new PoolStats(3, 3, 0, 0, 0));
    await().until(() -> server.acceptedCount() == 3);
    List<Connection> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Connection c = get(m, to);
      assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      held.add(c);
    }
    assertThat(get(m, to).fromCache()).as("a fourth").isEqualTo(FromCache.NEW);
    held.forEach(Connection::close);
  }

  @Test
  void prewarmOpensOnlyWhatTheKeyLacksWithinItsLimits() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().maxPerHost(2));
    assertThat(m.prewarm(to, 5).get(10, TimeUnit.SECONDS)).as("maxPerHost").isEqualTo(2);
    assertThat(m.prewarm(to, 2).get(10, TimeUnit.SECONDS)).as("it has 2").isZero();
    Connection c = get(m, to);
    assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(m.prewarm(to, 2).get(10, TimeUnit.SECONDS))
        .as("1 leased + 1 idle")
        .isZero();
    assertThat(m.stats(to)).isEqualTo(new PoolStats(2, 1, 1, 0, 0));
    c.close();
  }

  @Test
  void prewarmNeverEvictsAnotherKeysIdleSocketsAndOpensWhatMaxOpenLeaves() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().maxOpen(3));
    Allocation other = to.forTarget("http", "other.example", 80);
    assertThat(m.prewarm(other, 2).get(10, TimeUnit.SECONDS)).isEqualTo(2);
    assertThat(m.prewarm(to, 3).get(10, TimeUnit.SECONDS))
        .as("one left below maxOpen")
        .isEqualTo(1);
    assertThat(m.stats(other)).isEqualTo(new PoolStats(2, 2, 0, 0, 0));
    assertThat(m.stats(to)).isEqualTo(new PoolStats(1, 1, 0, 0, 0));
    assertThat(m.prewarm(to, 3).get(10, TimeUnit.SECONDS)).as("no room at all").isZero();
    assertThat(m.stats()).isEqualTo(new PoolStats(3, 3, 0, 0, 0));
  }

  @Test
  void prewarmCompletesExceptionallyWithTheFirstFailure() {
    ConnectionManager m = manager(ConnectionManager.builder());
    Allocation refused = Allocation.to("http", "127.0.0.1", Loopback.closedPort());
    CompletableFuture<Integer> f = m.prewarm(refused, 2);
    assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(AllocationException.class, e -> {
          assertThat(e.function()).isEqualTo("connect");
          assertThat(e.errorNum()).isEqualTo(111);
          assertThat(e.errorStr()).isEqualTo("Connection refused");
          assertThat(e.result().request()).isSameAs(refused);
        });
    await().until(() -> m.stats().equals(EMPTY));
  }

  @Test
  void prewarmAfterShutdownIsRefusedLikeAllocate() {
    ConnectionManager m = manager(ConnectionManager.builder());
    m.shutdown();
    assertThatThrownBy(() -> m.prewarm(to, 1)).isInstanceOf(IllegalStateException.class);
  }

  // ---- stats(key), evictIdle ----

  @Test
  void statsOfAKeyCountThatKeyAlone() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder());
    Allocation other = to.forTarget("http", "other.example", 80);
    Connection a1 = get(m, to);
    get(m, to).close();
    Connection b1 = get(m, other);
    assertThat(m.stats(to)).isEqualTo(new PoolStats(2, 1, 1, 0, 0));
    assertThat(m.stats(other)).isEqualTo(new PoolStats(1, 0, 1, 0, 0));
    assertThat(m.stats(to.context("x").timeout(Duration.ofSeconds(1)).fresh()))
        .as("context, timeout and freshness are no part of the key")
        .isEqualTo(m.stats(to));
    assertThat(m.stats(Allocation.to("http", "127.0.0.1", 1))).isEqualTo(EMPTY);
    a1.close();
    b1.close();
  }

  @Test
  void evictIdleClosesEveryIdleSocketAndLeavesLeasedOnes() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder());
    Connection held = get(m, to);
    Socket heldPeer = server.nextAccepted();
    Connection idle = get(m, to);
    Socket idlePeer = server.nextAccepted();
    idle.close();
    await().until(() -> m.stats().idle() == 1);

    m.evictIdle();
    assertThat(m.stats()).as("done when it returns").isEqualTo(new PoolStats(1, 0, 1, 0, 0));
    assertThat(peerSawClose(idlePeer)).isTrue();
    assertThat(held.isOpen()).isTrue();
    assertWorks(held, heldPeer);
    held.close();
    await().until(() -> m.stats().idle() == 1);
    assertThat(get(m, to).fromCache()).as("pooled as usual").isEqualTo(FromCache.IMMEDIATE);
  }

  // ---- maxQueued ----

  @Test
  void aRequestBeyondMaxQueuedFailsThroughItsFutureWithEagain() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().maxPerHost(1).maxQueued(1));
    Connection c1 = get(m, to);
    CompletableFuture<Connection> waiting = m.allocate(to);
    CompletableFuture<Connection> refused = m.allocate(to);
    assertThatThrownBy(() -> refused.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(AllocationException.class, e -> {
          assertThat(e.function()).isEqualTo("queue");
          assertThat(e.errorNum()).isEqualTo(11);
          assertThat(e.errorStr()).isEqualTo("Resource temporarily unavailable");
        });
    assertThat(waiting).isNotDone();

    // a waiter that leaves frees its place
    assertThat(waiting.cancel(false)).isTrue();
    CompletableFuture<Connection> next = m.allocate(to);
    assertThat(m.stats(to).pending()).isEqualTo(1);
    c1.close();
    Connection c2 = next.get(10, TimeUnit.SECONDS);
    assertThat(c2.fromCache()).isEqualTo(FromCache.DEFERRED);
    c2.close();
  }

  @Test
  void withMaxQueuedZeroARequestThatCannotProceedFailsThroughItsEvent() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().maxPerHost(1).maxQueued(0));
    Connection c1 = get(m, to);
    CompletableFuture<AllocationResult> answer = new CompletableFuture<>();
    Consumer<AllocationResult> event = answer::complete;
    long id = m.allocate(to, event); // never throws for a full queue
    AllocationResult r = answer.get(10, TimeUnit.SECONDS);
    assertThat(r.requestId()).isEqualTo(id);
    assertThat(r.isSuccess()).isFalse();
    assertThat(r.function()).isEqualTo("queue");
    assertThat(r.errorNum()).isEqualTo(11);
    assertThat(r.errorStr()).isEqualTo("Resource temporarily unavailable");
    c1.close();
    assertThat(get(m, to).fromCache())
        .as("served at once: never refused")
        .isEqualTo(FromCache.IMMEDIATE);
  }

  // ---- maxLifetime, maxUses ----

  @Test
  void anIdleSocketIsClosedWhenItsLifetimeEnds() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder()
        .maxLifetime(Duration.ofMillis(200))
        .lifetimeJitter(0)); // keep-alive 15 s
    get(m, to).close();
    Socket peer = server.nextAccepted();
    assertThat(peerSawClose(peer)).isTrue();
    await().until(() -> m.stats().equals(EMPTY));
    assertThat(get(m, to).fromCache()).isEqualTo(FromCache.NEW);
  }

  @Test
  void aSocketWhoseLifetimeEndedWhileLeasedIsClosedWhenGivenBack() throws Exception {
    ConnectionManager m =
        manager(ConnectionManager.builder().maxLifetime(Duration.ofMillis(300)).lifetimeJitter(0));
    Connection first = get(m, to);
    Socket firstPeer = server.nextAccepted();
    // A second socket, connected after the first with the same lifetime, shows when the
    // first's lifetime is over: it retires while idle.
    get(m, to).close();
    assertThat(peerSawClose(server.nextAccepted())).isTrue();
    assertThat(first.isOpen()).as("a leased socket stays with its holder").isTrue();
    assertWorks(first, firstPeer);
    first.close();
    assertThat(peerSawClose(firstPeer)).as("closed at give-back, not pooled").isTrue();
    await().until(() -> m.stats().equals(EMPTY));
  }

  @Test
  void aSocketIsClosedAfterItsLastUse() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().maxUses(2));
    get(m, to).close();
    Socket peer = server.nextAccepted();
    Connection second = get(m, to);
    assertThat(second.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    second.close();
    assertThat(peerSawClose(peer)).isTrue();
    assertThat(get(m, to).fromCache()).isEqualTo(FromCache.NEW);
  }

  // ---- leak detection ----

  @Test
  void aConnectionHeldTooLongIsReportedOnceWithItsAllocateCall() throws Exception {
    try (AcceptingServer other = new AcceptingServer();
        LogCapture log = new LogCapture()) {
      ConnectionManager m =
          manager(ConnectionManager.builder().leakDetection(Duration.ofMillis(100)));
      Allocation toOther = Allocation.to("http", "127.0.0.1", other.port());
      String held = "a connection to http://127.0.0.1:" + server.port() + " has been held";
      String closedInTime = "a connection to http://127.0.0.1:" + other.port();

      // given back on the loop in the same task that handed it out: its threshold can never
      // have passed, whatever the scheduling
      m.allocate(toOther, r -> r.connection().close());
      await().until(() -> m.stats(toOther).idle() == 1);
      Connection leaked = get(m, to);
      Socket peer = server.nextAccepted();
      await().until(() -> !log.at(LogCapture.WARNING, held).isEmpty());
      LogCapture.Entry e = log.at(LogCapture.WARNING, held).get(0);
      assertThat(e.thrown()).as("the allocate() call's stack").isNotNull();
      List<StackTraceElement> frames = Arrays.asList(e.thrown().getStackTrace());
      assertThat(frames)
          .anyMatch(f -> f.getClassName().equals(ConnectionManager.class.getName())
              && f.getMethodName().equals("allocate"));
      assertThat(frames)
          .anyMatch(f -> f.getClassName().equals(getClass().getName())
              && f.getMethodName()
                  .equals("aConnectionHeldTooLongIsReportedOnceWithItsAllocateCall"));
      assertThat(leaked.isOpen()).as("it keeps working").isTrue();
      assertWorks(leaked, peer);

      // a second leak, reported after the first one's threshold passed again: the first is
      // still reported once only
      Connection second = get(m, to);
      await().until(() -> log.at(LogCapture.WARNING, held).size() == 2);
      assertThat(log.at(LogCapture.WARNING, closedInTime)).isEmpty();
      leaked.close();
      second.close();
      await().until(() -> m.stats().idle() == 3);
      assertThat(log.at(LogCapture.WARNING, held)).hasSize(2);
    }
  }

  @Test
  void theReclaimOfAForgottenConnectionNamesItsAllocateCall() throws Exception {
    try (LogCapture log = new LogCapture()) {
      ConnectionManager m = manager(ConnectionManager.builder().leakDetection(Duration.ofHours(1)));
      forget(m);
      await().pollInterval(Duration.ofMillis(20)).atMost(Duration.ofSeconds(30)).until(() -> {
        System.gc();
        return m.stats().leased() == 0;
      });
      String warning = "a connection to http://127.0.0.1:" + server.port() + " was never closed";
      await().until(() -> !log.at(LogCapture.WARNING, warning).isEmpty());
      Throwable site = log.at(LogCapture.WARNING, warning).get(0).thrown();
      assertThat(site).isNotNull();
      assertThat(site.getStackTrace()).anyMatch(f -> f.getMethodName().equals("forget"));
    }
  }

  /** Allocates a connection and drops it without close(). */
  private void forget(ConnectionManager m) throws Exception {
    get(m, to);
  }

  // ---- arguments ----

  @Test
  void badArgumentsAreRejectedNamingTheSettingOrParameter() {
    ConnectionManager.Builder b = ConnectionManager.builder();
    assertRejected(() -> b.maxLifetime(null), "maxLifetime");
    assertRejected(() -> b.maxLifetime(Duration.ZERO), "maxLifetime");
    assertRejected(() -> b.maxLifetime(Duration.ofSeconds(-1)), "maxLifetime");
    for (double bad :
        new double[] {Double.NaN, -0.1, 1.0, 1.5, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY
        }) {
      assertRejected(() -> b.lifetimeJitter(bad), "lifetimeJitter");
    }
    assertRejected(() -> b.maxUses(0), "maxUses");
    assertRejected(() -> b.maxUses(-1), "maxUses");
    assertRejected(() -> b.maxQueued(-1), "maxQueued");
    assertRejected(() -> b.connectAttemptDelay(null), "connectAttemptDelay");
    assertRejected(() -> b.connectAttemptDelay(Duration.ZERO), "connectAttemptDelay");
    assertRejected(() -> b.leakDetection(null), "leakDetection");
    assertRejected(() -> b.leakDetection(Duration.ZERO), "leakDetection");
    assertRejected(() -> b.leakDetection(Duration.ofMillis(-5)), "leakDetection");
    // the edges that are allowed
    b.lifetimeJitter(0)
        .lifetimeJitter(Math.nextDown(1.0))
        .maxUses(1)
        .maxQueued(0)
        .maxLifetime(Duration.ofNanos(1))
        .connectAttemptDelay(Duration.ofMillis(100))
        .leakDetection(Duration.ofDays(365_000_000L));

    ConnectionManager m = manager(ConnectionManager.builder());
    assertRejected(() -> m.stats(null), "key");
    assertRejected(() -> m.prewarm(null, 1), "key");
    assertRejected(() -> m.prewarm(to, 0), "n");
    assertRejected(() -> m.prewarm(to, -3), "n");
    assertThat(m.stats()).isEqualTo(EMPTY);
  }

  private static void assertRejected(Runnable call, String name) {
    assertThatThrownBy(call::run)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(name + " ");
  }
}
