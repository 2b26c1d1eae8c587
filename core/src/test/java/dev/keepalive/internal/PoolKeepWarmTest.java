package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.CloseReason;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pool's side of a key's minimum of idle sockets (ConnectionManager.keepWarm): replacements,
 * the keep-alive exemption, limits, and the backoff with jitter after failures and churn. Manual
 * clock, fake I/O, fixed random draws.
 */
class PoolKeepWarmTest {
  static final long SECOND = PoolTest.SECOND;
  static final long MS = SECOND / 1000;
  static final long KEEP_ALIVE = PoolTest.KEEP_ALIVE;
  static final PoolKey A = PoolTest.A;
  static final PoolKey B = PoolTest.B;

  long now = 1_000 * SECOND;
  final PoolTest.FakeIo io = new PoolTest.FakeIo();
  Pool pool;
  long nextId = 1;
  long warmIds;
  int maxPerHost = 4;

  @AfterEach
  void noViolations() {
    assertThat(io.violations).isEmpty();
  }

  Pool pool(int maxPerHost, int maxOpen, DoubleSupplier random) {
    this.maxPerHost = maxPerHost;
    pool = PoolTest.newPool(
        maxPerHost, maxOpen, Pool.Options.NONE.maxLifetime(0, 0, random), () -> now, io);
    return pool;
  }

  Supplier<Request> warmUps(PoolKey key) {
    return () -> new Request(
        --warmIds, key, Requests.allocation(key), -1, true, null, null, null, maxPerHost);
  }

  void keepWarm(PoolKey key, int minIdle) {
    pool.keepWarm(key, minIdle, warmUps(key));
  }

  Request allocate(PoolKey key) {
    Request r = Requests.of(nextId++, key, -1);
    pool.allocate(r);
    return r;
  }

  /** Completes every connect still under way. */
  void connectAll() {
    for (Slot s : io.connects) {
      if (s.state == Slot.State.CONNECTING) {
        pool.connected(s);
      }
    }
  }

  int connectingNow() {
    return (int)
        io.connects.stream().filter(s -> s.state == Slot.State.CONNECTING).count();
  }

  @Test
  void itOpensTheMinimumAndReplacesWhatIsHandedOut() {
    pool(4, 128, PoolTest.draws(0.5));
    keepWarm(A, 2);
    assertThat(io.connects).hasSize(2);
    connectAll();
    assertThat(pool.stats(A)).isEqualTo(new PoolStats(2, 2, 0, 0, 0));
    Request r = allocate(A);
    assertThat(io.answerOf(r).fromCache()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(io.connects).as("a replacement").hasSize(3);
    connectAll();
    assertThat(pool.stats(A)).isEqualTo(new PoolStats(3, 2, 1, 0, 0));
    pool.giveBack(r.slot, Pool.Disposal.POOL);
    assertThat(pool.stats(A))
        .as("above the minimum: nothing more")
        .isEqualTo(new PoolStats(3, 3, 0, 0, 0));
    assertThat(io.connects).hasSize(3);
  }

  @Test
  void atMostMinIdleLessIdleConnectsAreInFlight() {
    pool(8, 128, PoolTest.draws(0.5));
    keepWarm(A, 3);
    assertThat(connectingNow()).isEqualTo(3);
    pool.expire();
    allocate(B); // other events do not add more
    assertThat(io.connects.stream().filter(s -> s.owner.key.equals(A)).count()).isEqualTo(3);
    pool.connected(io.connects.get(0));
    assertThat(connectingNow()).as("2 of A, 1 of B").isEqualTo(3);
  }

  @Test
  void itStaysWithinMaxPerHostAndMaxOpenAndNeverEvicts() {
    pool(2, 3, PoolTest.draws(0.5));
    Request b = allocate(B);
    pool.connected(io.lastConnect());
    pool.giveBack(b.slot, Pool.Disposal.POOL);
    keepWarm(A, 5); // capped at maxPerHost 2
    assertThat(io.connects).hasSize(3);
    connectAll();
    assertThat(io.closed).as("B's idle socket stays").isEmpty();
    assertThat(pool.stats(A)).isEqualTo(new PoolStats(2, 2, 0, 0, 0));
    allocate(A);
    assertThat(io.connects).as("at maxOpen: no replacement").hasSize(3);
  }

  @Test
  void itsIdleSocketsAreExemptFromKeepAliveUpToTheMinimum() {
    pool(4, 128, PoolTest.draws(0.5));
    keepWarm(A, 1);
    connectAll();
    Request r = allocate(A);
    connectAll(); // the replacement
    pool.giveBack(r.slot, Pool.Disposal.POOL); // 2 idle, minimum 1
    now += KEEP_ALIVE;
    pool.expire();
    assertThat(io.closed).hasSize(1);
    assertThat(pool.totals().closed(CloseReason.KEEP_ALIVE_EXPIRED)).isEqualTo(1);
    now += 10 * KEEP_ALIVE;
    pool.expire();
    assertThat(io.closed).as("the minimum's last one is kept").hasSize(1);
    assertThat(pool.stats(A)).isEqualTo(new PoolStats(1, 1, 0, 0, 0));
    pool.idleActivity(idleOf(A), false); // the peer closes it, long after its connect
    assertThat(io.connects).as("replaced after the peer closed it").hasSize(3);
  }

  private Slot idleOf(PoolKey key) {
    return io.connects.stream()
        .filter(s -> s.owner.key.equals(key) && s.state == Slot.State.IDLE)
        .findFirst()
        .orElseThrow();
  }

  @Test
  void failedConnectsBackOffDoublingWithJitterUpToTheCap() {
    pool(4, 128, PoolTest.draws(0.5)); // u = 0.5: no jitter, so the delays are exact
    keepWarm(A, 2);
    long[] expected = {
      100 * MS,
      200 * MS,
      400 * MS,
      800 * MS,
      1600 * MS,
      3200 * MS,
      6400 * MS,
      12_800 * MS,
      25_600 * MS,
      30 * SECOND,
      30 * SECOND
    };
    pool.connectFailed(io.connects.get(0), IoFailures.REFUSED);
    pool.connectFailed(io.connects.get(1), IoFailures.REFUSED);
    int connects = io.connects.size();
    // the two first failures: the second moved the retry to 200 ms
    for (int i = 2; i < expected.length; i++) {
      long delay = expected[i - 1];
      assertThat(pool.nextDeadline() - now).as("delay after %d failures", i).isEqualTo(delay);
      now += delay - 1;
      pool.expire();
      assertThat(io.connects).as("nothing before the delay").hasSize(connects);
      now += 1;
      pool.expire();
      assertThat(io.connects).as("one retry after %d failures", i).hasSize(connects + 1);
      connects++;
      pool.connectFailed(io.lastConnect(), IoFailures.REFUSED);
    }
  }

  @Test
  void theJitterSpreadsEachDelayOverHalfToOneAndAHalfTimes() {
    pool(4, 128, PoolTest.draws(0.0, 0.999));
    assertThat(pool.warmBackoff(1)).isEqualTo(50 * MS);
    assertThat(pool.warmBackoff(1)).isEqualTo((long) (100 * MS * 1.499));
    assertThat(pool.warmBackoff(3)).isEqualTo(200 * MS);
    assertThat(pool.warmBackoff(3)).isEqualTo((long) (400 * MS * 1.499));
    assertThat(pool.warmBackoff(30)).isEqualTo(15 * SECOND);
    assertThat(pool.warmBackoff(30)).as("capped").isEqualTo(30 * SECOND);
  }

  @Test
  void aServerThatAcceptsAndClosesAtOnceIsBackedOffToo() {
    pool(4, 128, PoolTest.draws(0.5));
    keepWarm(A, 1);
    for (int round = 0; round < 5; round++) {
      Slot s = io.lastConnect();
      pool.connected(s);
      pool.idleActivity(s, false); // EOF right away
      int connects = io.connects.size();
      assertThat(pool.nextDeadline() - now).isEqualTo((100 * MS) << round);
      pool.expire();
      assertThat(io.connects).as("no reconnect before the delay").hasSize(connects);
      now = pool.nextDeadline();
      pool.expire();
      assertThat(io.connects).hasSize(connects + 1);
    }
    Slot s = io.lastConnect();
    pool.connected(s);
    allocate(A); // handed out: the failures start over
    assertThat(io.connects).as("a replacement at once").hasSize(7);
    pool.connectFailed(io.lastConnect(), IoFailures.REFUSED);
    assertThat(pool.nextDeadline() - now).isEqualTo(100 * MS);
  }

  @Test
  void aBackoffThatEndsWithoutRoomLeavesNoPastDeadlineToSpinOn() {
    pool(1, 128, PoolTest.draws(0.5));
    keepWarm(A, 1);
    pool.connectFailed(io.lastConnect(), IoFailures.REFUSED);
    assertThat(pool.nextDeadline()).isEqualTo(now + 100 * MS);
    Request r = allocate(A);
    pool.connected(io.lastConnect()); // the key's one slot is leased
    now += 200 * MS;
    pool.expire();
    assertThat(io.connects).as("no room").hasSize(2);
    assertThat(pool.nextDeadline()).isEqualTo(Long.MAX_VALUE);
    pool.giveBack(r.slot, Pool.Disposal.CLOSE);
    assertThat(io.connects).as("room again: the retry").hasSize(3);
  }

  @Test
  void waitingRequestsComeFirst() {
    pool(1, 128, PoolTest.draws(0.5));
    Request held = allocate(A);
    pool.connected(io.lastConnect());
    Request waiting = allocate(A);
    keepWarm(A, 1);
    assertThat(io.connects).as("at maxPerHost, and a request waits").hasSize(1);
    pool.giveBack(held.slot, Pool.Disposal.POOL);
    assertThat(io.answerOf(waiting).fromCache()).isEqualTo(FromCache.DEFERRED);
    assertThat(io.connects).hasSize(1);
  }

  @Test
  void shutdownAndAMinimumOfZeroStopIt() {
    pool(4, 128, PoolTest.draws(0.5));
    keepWarm(A, 1);
    connectAll();
    keepWarm(A, 0);
    allocate(A);
    assertThat(io.connects).as("no replacement without a minimum").hasSize(1);
    keepWarm(B, 1);
    connectAll();
    pool.shutdown();
    assertThat(pool.keyCount()).isEqualTo(1); // A's leased socket
    keepWarm(B, 1);
    assertThat(io.connects).hasSize(2);
    assertThat(pool.stats(B)).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
  }
}
