package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pool's side of retirement (ConnectionManager.retire/retireAll): a retired idle socket is
 * closed at once and never handed out, a retired leased or connecting one is closed when given
 * back instead of pooled, and sockets opened afterwards are untouched. Manual clock, fake I/O.
 */
class PoolRetireTest {
  static final long SECOND = PoolTest.SECOND;
  static final PoolKey A = PoolTest.A;
  static final PoolKey B = PoolTest.B;

  long now = 1_000 * SECOND;
  final PoolTest.FakeIo io = new PoolTest.FakeIo();
  final Pool pool = new Pool(4, 128, PoolTest.KEEP_ALIVE, PoolTest.TIMEOUT, () -> now, io);
  long nextId = 1;

  @AfterEach
  void noViolations() {
    assertThat(io.violations).isEmpty();
  }

  Request allocate(PoolKey key) {
    Request r = Requests.of(nextId++, key, -1);
    pool.allocate(r);
    return r;
  }

  Slot connectNew(PoolKey key) {
    Request r = allocate(key);
    Slot s = io.lastConnect();
    pool.connected(s);
    assertThat(io.answerOf(r).fromCache()).isEqualTo(FromCache.NEW);
    return s;
  }

  @Test
  void retiringClosesIdleSocketsNowAndLeasedOnesWhenGivenBack() {
    Slot idle = connectNew(A);
    Slot leased = connectNew(A);
    pool.giveBack(idle, Pool.Disposal.POOL);
    Request connecting = allocate(B);
    Slot dialing = io.lastConnect();

    assertThat(pool.retire(s -> true)).isEqualTo(3);
    assertThat(io.closed).containsOnlyKeys(idle);
    assertThat(pool.stats()).isEqualTo(new PoolStats(2, 0, 1, 1, 0));

    pool.giveBack(leased, Pool.Disposal.POOL);
    assertThat(io.closed).containsKey(leased);

    pool.connected(dialing);
    assertThat(io.answerOf(connecting).socket())
        .as("a retired connecting socket still serves its request")
        .isSameAs(dialing);
    pool.giveBack(dialing, Pool.Disposal.POOL);
    assertThat(io.closed).containsKey(dialing);
    assertThat(pool.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
  }

  @Test
  void socketsOpenedAfterTheCallAreNotAffectedAndRetiredOnesAreNotCountedTwice() {
    Slot old = connectNew(A);
    assertThat(pool.retire(s -> true)).isEqualTo(1);
    assertThat(pool.retire(s -> true)).as("already retired").isZero();
    Slot fresh = connectNew(A);
    assertThat(fresh).isNotSameAs(old);
    pool.giveBack(old, Pool.Disposal.POOL);
    pool.giveBack(fresh, Pool.Disposal.POOL);
    assertThat(io.closed).containsOnlyKeys(old);
    Request next = allocate(A);
    assertThat(io.answerOf(next).socket()).isSameAs(fresh);
    assertThat(io.answerOf(next).fromCache()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void thePredicateSelectsAndSeesEachOpenSocketOnce() {
    Slot a = connectNew(A);
    Slot b = connectNew(B);
    pool.giveBack(a, Pool.Disposal.POOL);
    pool.giveBack(b, Pool.Disposal.POOL);
    List<Slot> seen = new ArrayList<>();
    int n = pool.retire(s -> {
      seen.add(s);
      return s.owner.key.equals(B);
    });
    assertThat(n).isEqualTo(1);
    assertThat(seen).containsExactly(a, b); // idle ones, oldest first
    assertThat(io.closed).containsOnlyKeys(b);
    assertThat(io.answerOf(allocate(A)).socket()).isSameAs(a);
  }

  @Test
  void aThrowingPredicateLeavesWhatItJudgedRetiredAndTheRestUntouched() {
    Slot a = connectNew(A);
    Slot b = connectNew(A);
    pool.giveBack(a, Pool.Disposal.POOL);
    pool.giveBack(b, Pool.Disposal.POOL);
    int[] calls = {0};
    assertThatThrownBy(() -> pool.retire(s -> {
          if (calls[0]++ == 1) {
            throw new IllegalStateException("boom");
          }
          return true;
        }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("boom");
    assertThat(io.closed).containsOnlyKeys(a);
    assertThat(pool.stats()).isEqualTo(new PoolStats(1, 1, 0, 0, 0));
    assertThat(io.answerOf(allocate(A)).socket()).isSameAs(b);
  }

  @Test
  void aRetiredWarmUpSocketIsClosedInsteadOfPooled() {
    Request w = new Request(nextId++, A, Requests.allocation(A), -1, false, null, null, null, 1);
    pool.allocate(w);
    Slot s = io.lastConnect();
    assertThat(pool.retire(x -> true)).isEqualTo(1);
    pool.connected(s);
    assertThat(io.answerOf(w).fromCache()).as("it opened nothing for the pool").isNull();
    assertThat(io.closed).containsOnlyKeys(s);
    assertThat(pool.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
  }

  @Test
  void retiringAnIdleSocketServesAWaiterWithANewConnect() {
    Pool small = new Pool(1, 128, PoolTest.KEEP_ALIVE, PoolTest.TIMEOUT, () -> now, io);
    Request first = Requests.of(nextId++, A, -1);
    small.allocate(first);
    Slot s = io.lastConnect();
    small.connected(s);
    Request waiter = Requests.of(nextId++, A, -1);
    small.allocate(waiter);
    assertThat(io.connects).hasSize(1);
    small.retire(x -> true);
    small.giveBack(s, Pool.Disposal.POOL);
    assertThat(io.closed).containsOnlyKeys(s);
    assertThat(io.connects).as("the waiter connects anew").hasSize(2);
    small.connected(io.lastConnect());
    assertThat(io.answerOf(waiter).fromCache()).isEqualTo(FromCache.NEW);
  }
}
