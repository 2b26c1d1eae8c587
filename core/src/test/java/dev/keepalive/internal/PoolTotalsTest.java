package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.CloseReason;
import dev.keepalive.FromCache;
import dev.keepalive.PoolTotals;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The pool's running totals (ConnectionManager.totals()): each close is counted under the reason
 * it happens for, each hand-out by how, each failure by function. Manual clock, fake I/O.
 */
class PoolTotalsTest {
  static final long SECOND = PoolTest.SECOND;
  static final long KEEP_ALIVE = PoolTest.KEEP_ALIVE;
  static final PoolKey A = PoolTest.A;
  static final PoolKey B = PoolTest.B;

  long now = 1_000 * SECOND;
  final PoolTest.FakeIo io = new PoolTest.FakeIo();
  Pool pool = pool(4, 128, Pool.Options.NONE);
  long nextId = 1;

  Pool pool(int maxPerHost, int maxOpen, Pool.Options options) {
    pool = PoolTest.newPool(maxPerHost, maxOpen, options, () -> now, io);
    return pool;
  }

  Request allocate(PoolKey key) {
    Request r = Requests.of(nextId++, key, -1);
    pool.allocate(r);
    return r;
  }

  Slot connectNew(PoolKey key) {
    allocate(key);
    Slot s = io.lastConnect();
    pool.connected(s);
    return s;
  }

  /** An idle socket of {@code key}. */
  Slot idle(PoolKey key) {
    Slot s = connectNew(key);
    pool.giveBack(s, Pool.Disposal.POOL);
    return s;
  }

  /** Exactly these closes were counted (every other reason 0). */
  void assertCloses(Object... reasonThenCount) {
    Map<CloseReason, Long> expected = new EnumMap<>(CloseReason.class);
    for (CloseReason r : CloseReason.values()) {
      expected.put(r, 0L);
    }
    for (int i = 0; i < reasonThenCount.length; i += 2) {
      expected.put((CloseReason) reasonThenCount[i], ((Number) reasonThenCount[i + 1]).longValue());
    }
    assertThat(pool.totals().closes()).containsExactlyEntriesOf(expected);
    assertThat(io.closed)
        .hasSize(expected.values().stream().mapToInt(Long::intValue).sum());
  }

  @Test
  void handOutsAreCountedByHow() {
    Slot s = connectNew(A); // NEW
    pool.giveBack(s, Pool.Disposal.POOL);
    allocate(A); // IMMEDIATE
    Request waiting = allocate(A);
    allocate(A);
    allocate(A);
    Request deferred = allocate(A); // the 5th at maxPerHost 4: waits
    for (Slot c : io.connects.subList(1, io.connects.size())) {
      pool.connected(c);
    }
    assertThat(io.answerOf(waiting).fromCache()).isEqualTo(FromCache.NEW);
    pool.giveBack(s, Pool.Disposal.POOL);
    assertThat(io.answerOf(deferred).fromCache()).isEqualTo(FromCache.DEFERRED);
    PoolTotals t = pool.totals();
    assertThat(t.newHandOuts()).isEqualTo(4);
    assertThat(t.immediateHandOuts()).isEqualTo(1);
    assertThat(t.deferredHandOuts()).isEqualTo(1);
    assertThat(t.handOuts()).isEqualTo(6);
    assertCloses();
  }

  @Test
  void keepAliveExpiryAndTheHoldersLimitsAreCounted() {
    idle(A);
    now += KEEP_ALIVE;
    pool.expire();
    assertCloses(CloseReason.KEEP_ALIVE_EXPIRED, 1);
    Slot s = connectNew(A);
    pool.giveBack(s, Pool.Disposal.POOL, 0, Pool.NO_LIMIT); // "do not reuse"
    assertCloses(CloseReason.KEEP_ALIVE_EXPIRED, 2);
    Slot t = connectNew(A);
    pool.giveBack(t, Pool.Disposal.POOL, SECOND, Pool.NO_LIMIT);
    now += SECOND;
    pool.expire();
    assertCloses(CloseReason.KEEP_ALIVE_EXPIRED, 3);
    Slot u = connectNew(A);
    pool.giveBack(u, Pool.Disposal.POOL, Pool.NO_LIMIT, 0); // keepAliveMax reached
    assertCloses(CloseReason.KEEP_ALIVE_EXPIRED, 3, CloseReason.MAX_USES, 1);
  }

  @Test
  void lifetimesAndMaxUsesAreCounted() {
    pool(4, 128, PoolTest.lifetime(10 * SECOND, 0, PoolTest.draws(0)).maxUses(1));
    Slot used = connectNew(A);
    pool.giveBack(used, Pool.Disposal.POOL);
    assertCloses(CloseReason.MAX_USES, 1);
    pool(4, 128, PoolTest.lifetime(10 * SECOND, 0, PoolTest.draws(0)));
    idle(A);
    Slot leased = connectNew(B);
    now += 10 * SECOND;
    pool.expire(); // the idle one
    pool.giveBack(leased, Pool.Disposal.POOL); // the leased one
    assertThat(pool.totals().closed(CloseReason.LIFETIME)).isEqualTo(2);
  }

  @Test
  void activityWhileIdleAndDirtyHandOutsAreCounted() {
    Slot a = idle(A);
    pool.idleActivity(a, false); // EOF
    Slot b = idle(A);
    pool.idleActivity(b, true); // data
    Slot c = idle(A);
    io.dirty.add(c);
    allocate(A); // found unclean when taken out
    Slot d = idle(B);
    pool.idleActivity(d, false, true); // an I/O error, e.g. TCP keepalive found the peer gone
    assertCloses(CloseReason.PEER_CLOSED, 2, CloseReason.UNREAD_DATA, 1, CloseReason.ERROR, 1);
  }

  @Test
  void theHoldersVerdictIsCounted() {
    pool.giveBack(connectNew(A), Pool.Disposal.CLOSE);
    pool.giveBack(connectNew(A), Pool.Disposal.RESET);
    pool.giveBack(
        connectNew(A), Pool.Disposal.CLOSE, CloseReason.ERROR, Pool.NO_LIMIT, Pool.NO_LIMIT);
    pool.giveBack(
        connectNew(A),
        Pool.Disposal.CLOSE,
        CloseReason.LEAK_RECLAIMED,
        Pool.NO_LIMIT,
        Pool.NO_LIMIT);
    assertCloses(
        CloseReason.DISCARDED,
        1,
        CloseReason.UNREAD_DATA,
        1,
        CloseReason.ERROR,
        1,
        CloseReason.LEAK_RECLAIMED,
        1);
  }

  @Test
  void evictionsRetirementAndShutdownAreCounted() {
    pool(4, 2, Pool.Options.NONE);
    idle(A);
    idle(B);
    Request fresh = Requests.fresh(nextId++, B, -1);
    pool.allocate(fresh); // at maxOpen: A's idle socket makes room
    pool.connected(io.lastConnect());
    assertCloses(CloseReason.EVICTED_LRU, 1);
    pool.evictIdle(); // B's idle one
    assertCloses(CloseReason.EVICTED_LRU, 1, CloseReason.EVICTED, 1);
    Slot held = io.lastConnect();
    pool.giveBack(held, Pool.Disposal.POOL);
    pool.retire(s -> true);
    assertCloses(CloseReason.EVICTED_LRU, 1, CloseReason.EVICTED, 1, CloseReason.RETIRED, 1);
    Slot leased = connectNew(A);
    idle(B);
    allocate(A); // connecting at shutdown; at maxOpen, B's idle socket makes room
    pool.shutdown();
    pool.giveBack(leased, Pool.Disposal.POOL);
    assertCloses(
        CloseReason.EVICTED_LRU,
        2,
        CloseReason.EVICTED,
        1,
        CloseReason.RETIRED,
        1,
        CloseReason.SHUTDOWN,
        2);
  }

  @Test
  void connectsThatNeverFinishAreCountedAndFailuresByFunction() {
    allocate(A);
    pool.connectFailed(io.lastConnect(), IoFailures.REFUSED);
    Request cancelled = allocate(A);
    pool.cancel(cancelled.id);
    allocate(A);
    now += PoolTest.TIMEOUT;
    pool.expire();
    io.syncConnectFailures.add(IoFailures.NO_FDS);
    allocate(A);
    Request named = Requests.of(nextId++, PoolTest.NAMED, -1);
    pool.allocate(named);
    pool.resolveFailed(named, IoFailures.NXDOMAIN);
    assertCloses(CloseReason.CONNECT_FAILED, 2, CloseReason.CANCELLED, 1, CloseReason.TIMED_OUT, 1);
    PoolTotals t = pool.totals();
    assertThat(t.failures()).containsEntry("connect", 3L).containsEntry("resolve", 1L);
    assertThat(t.failures().keySet())
        .containsExactly("resolve", "connect", "sslify", "shutdown", "queue", "proxy");
    assertThat(t.failed("sslify")).isZero();
    assertThat(t.handOuts()).isZero();
  }
}
