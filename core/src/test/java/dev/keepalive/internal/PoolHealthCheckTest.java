package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pool's side of idle health checks, with a manual clock: which hand-outs are checked, what a
 * failed check does to the socket and its request, and how a request's deadline, deallocate() and
 * shutdown end a check in progress. The fake I/O side records the checks it is asked for; the
 * test reports their outcome through {@link Pool#checked}.
 */
class PoolHealthCheckTest {
  static final long SECOND = Duration.ofSeconds(1).toNanos();
  static final long KEEP_ALIVE = 60 * SECOND;
  static final long TIMEOUT = 120 * SECOND;
  static final long CHECK_AFTER = 10 * SECOND;
  static final PoolKey A = new PoolKey("http", "127.0.0.1", 80, null, null, 0);
  static final PoolKey NAMED = new PoolKey("http", "example.org", 80, null, null, 0);

  /** Plays the I/O side: records connects, checks, closes and answers. */
  static final class Io implements Pool.Io {
    final List<Slot> connects = new ArrayList<>();
    final List<Slot> checks = new ArrayList<>();
    final List<Request> checkedFor = new ArrayList<>();
    final List<Request> resolves = new ArrayList<>();
    final Map<Slot, Boolean> closed = new IdentityHashMap<>();
    final List<Request> answers = new ArrayList<>();
    final List<String> violations = new ArrayList<>();

    @Override
    public void resolve(Request r) {
      resolves.add(r);
    }

    @Override
    public void abandonResolve(Request r) {}

    @Override
    public Failure connect(Slot s, Request r) {
      connects.add(s);
      return null;
    }

    @Override
    public boolean isClean(Slot s) {
      return true;
    }

    @Override
    public void watchIdle(Slot s) {}

    @Override
    public void close(Slot s, boolean reset) {
      if (closed.put(s, reset) != null) {
        violations.add("closed twice: " + s);
      }
    }

    @Override
    public void answer(Request r) {
      if (answers.contains(r)) {
        violations.add("answered twice: " + r);
      }
      answers.add(r);
    }

    @Override
    public void check(Slot s, Request r) {
      if (s.state != Slot.State.CHECKING) {
        violations.add("check of a socket in state " + s.state);
      }
      checks.add(s);
      checkedFor.add(r);
    }
  }

  long now = 1_000 * SECOND;
  final Io io = new Io();
  final Pool pool = new Pool(2, 8, KEEP_ALIVE, TIMEOUT, () -> now, io);
  long nextId = 1;

  PoolHealthCheckTest() {
    pool.healthCheckAfter(CHECK_AFTER);
  }

  @AfterEach
  void eachRequestAnsweredAtMostOnce() {
    assertThat(io.violations).isEmpty();
  }

  Request allocate(PoolKey key, long timeoutNanos) {
    Request r = Requests.of(nextId++, key, timeoutNanos);
    pool.allocate(r);
    return r;
  }

  /** A NEW socket of key A, given back to the pool now. */
  Slot idleSocket() {
    Request r = allocate(A, -1);
    Slot s = io.connects.get(io.connects.size() - 1);
    pool.connected(s);
    assertThat(r.slot).isSameAs(s);
    pool.giveBack(s, Pool.Disposal.POOL);
    assertThat(s.state).isEqualTo(Slot.State.IDLE);
    return s;
  }

  void assertStats(int open, int idle, int leased, int connecting, int pending) {
    assertThat(pool.stats()).isEqualTo(new PoolStats(open, idle, leased, connecting, pending));
    assertThat(pool.open()).isEqualTo(open);
  }

  @Test
  void aSocketIdleNoLongerThanTheThresholdIsHandedOutUncheckedALongerOneIsCheckedFirst() {
    Slot s = idleSocket();
    now += CHECK_AFTER; // idle exactly the threshold: not longer
    Request quick = allocate(A, -1);
    assertThat(io.checks).isEmpty();
    assertThat(io.answers).contains(quick);
    assertThat(quick.fromCache).isEqualTo(FromCache.IMMEDIATE);
    assertThat(quick.slot).isSameAs(s);
    pool.giveBack(s, Pool.Disposal.POOL);

    now += CHECK_AFTER + 1;
    Request late = allocate(A, -1);
    assertThat(io.checks).containsExactly(s);
    assertThat(io.checkedFor).containsExactly(late);
    assertThat(io.answers).doesNotContain(late);
    assertThat(late.phase).isEqualTo(Request.Phase.CHECKING);
    assertStats(1, 0, 1, 0, 0); // a socket under its check counts as leased
    assertThat(pool.stats(A)).isEqualTo(new PoolStats(1, 0, 1, 0, 0));

    pool.checked(s, true);
    assertThat(io.answers).contains(late);
    assertThat(late.failure).isNull();
    assertThat(late.slot).isSameAs(s);
    assertThat(late.fromCache).isEqualTo(FromCache.DEFERRED);
    assertThat(s.state).isEqualTo(Slot.State.LEASED);
    assertThat(s.handOuts).isEqualTo(3);
    assertThat(pool.trackedCount()).isZero();
    assertStats(1, 0, 1, 0, 0);
    assertThat(io.closed).isEmpty();
  }

  @Test
  void aFailedCheckClosesTheSocketAndServesTheRequestAgainOnceFromAnotherThenANewSocket() {
    Slot older = idleSocket();
    Request second = allocate(A, -1); // the first is idle: this one takes it, so connect another
    assertThat(second.slot).isSameAs(older);
    Request third = allocate(A, -1);
    Slot newer = io.connects.get(1);
    pool.connected(newer);
    assertThat(third.slot).isSameAs(newer);
    pool.giveBack(older, Pool.Disposal.POOL);
    pool.giveBack(newer, Pool.Disposal.POOL);
    now += CHECK_AFTER + 1;

    Request r = allocate(A, -1);
    assertThat(io.checks).containsExactly(newer); // the most recently used first
    pool.checked(newer, false);
    assertThat(io.closed).containsOnlyKeys(newer);
    assertThat(io.answers).doesNotContain(r);
    assertThat(io.checks).containsExactly(newer, older); // the next idle one, checked in turn
    assertStats(1, 0, 1, 0, 0);

    pool.checked(older, false);
    assertThat(io.closed).containsOnlyKeys(newer, older);
    assertThat(io.connects).hasSize(3); // then a NEW socket, in the slot the checked one held
    assertThat(r.phase).isEqualTo(Request.Phase.CONNECTING);
    assertStats(1, 0, 0, 1, 0);
    Slot fresh = io.connects.get(2);
    pool.connected(fresh);
    assertThat(io.answers.stream().filter(x -> x == r)).hasSize(1);
    assertThat(r.fromCache).isEqualTo(FromCache.NEW);
    assertThat(r.slot).isSameAs(fresh);

    pool.checked(older, true); // a late report for a socket already closed changes nothing
    assertStats(1, 0, 1, 0, 0);
  }

  @Test
  void aRequestToAHostNameWhoseOnlySocketFailsItsCheckResolvesThenConnects() throws Exception {
    Request first = allocate(NAMED, -1);
    pool.resolved(first, List.of(InetAddress.getByName("127.0.0.1")));
    Slot s = io.connects.get(0);
    pool.connected(s);
    pool.giveBack(s, Pool.Disposal.POOL);
    now += CHECK_AFTER + 1;

    Request r = allocate(NAMED, -1); // from the pool at once: it never resolved
    assertThat(io.resolves).containsExactly(first);
    pool.checked(s, false);
    assertThat(io.resolves).containsExactly(first, r);
    assertThat(r.phase).isEqualTo(Request.Phase.RESOLVING);
    pool.resolved(r, List.of(InetAddress.getByName("127.0.0.1")));
    assertThat(io.connects).hasSize(2);
    pool.connected(io.connects.get(1));
    assertThat(r.fromCache).isEqualTo(FromCache.NEW);
  }

  @Test
  void aQueuedRequestServedFromThePoolIsCheckedToo() {
    Slot s = idleSocket();
    Request held = allocate(A, -1);
    assertThat(held.slot).isSameAs(s);
    Request other = allocate(A, -1);
    Slot second = io.connects.get(1);
    pool.connected(second);
    Request waiting = allocate(A, -1); // maxPerHost 2: it queues
    assertStats(2, 0, 2, 0, 1);
    pool.giveBack(s, Pool.Disposal.POOL); // idle for no time: handed to the waiter unchecked
    assertThat(waiting.fromCache).isEqualTo(FromCache.DEFERRED);
    assertThat(io.checks).isEmpty();
    assertThat(other.slot).isSameAs(second);
  }

  @Test
  void theRequestsDeadlineCoversTheCheckAndALateOutcomeIsIgnored() {
    Slot s = idleSocket();
    now += CHECK_AFTER + 1;
    Request r = allocate(A, 5 * SECOND);
    assertThat(io.checks).containsExactly(s);
    assertThat(pool.nextDeadline()).isEqualTo(now + 5 * SECOND);
    now += 5 * SECOND - 1;
    pool.expire();
    assertThat(io.answers).doesNotContain(r);

    now += 1;
    pool.expire();
    assertThat(io.answers).containsOnlyOnce(r).hasSize(2);
    assertThat(r.failure).isEqualTo(Failure.TIMEOUT);
    assertThat(io.closed).containsOnlyKeys(s);
    assertThat(s.state).isEqualTo(Slot.State.CLOSED);
    pool.checked(s, true);
    assertThat(io.answers).containsOnlyOnce(r).hasSize(2);
    assertStats(0, 0, 0, 0, 0);
    assertThat(pool.trackedCount()).isZero();
    assertThat(pool.keyCount()).isZero();
  }

  @Test
  void deallocateDuringACheckCancelsTheRequestAndClosesTheSocket() {
    Slot s = idleSocket();
    now += CHECK_AFTER + 1;
    Request r = allocate(A, -1);
    assertThat(pool.cancel(r.id)).isTrue();
    assertThat(r.phase).isEqualTo(Request.Phase.CANCELLED);
    assertThat(io.closed).containsOnlyKeys(s);
    pool.checked(s, true);
    assertThat(io.answers).doesNotContain(r);
    assertThat(pool.cancel(r.id)).isFalse();
    assertStats(0, 0, 0, 0, 0);
    assertThat(pool.keyCount()).isZero();
  }

  @Test
  void shutdownDuringACheckAnswersTheRequestAndClosesTheSocket() {
    Slot s = idleSocket();
    now += CHECK_AFTER + 1;
    Request r = allocate(A, -1);
    pool.shutdown();
    assertThat(io.answers).containsOnlyOnce(r).hasSize(2);
    assertThat(r.failure).isEqualTo(Failure.SHUTDOWN);
    assertThat(io.closed).containsOnlyKeys(s);
    assertStats(0, 0, 0, 0, 0);
  }

  @Test
  void aSocketUnderItsCheckCountsAgainstBothLimits() {
    Pool small = new Pool(1, 1, KEEP_ALIVE, TIMEOUT, () -> now, io);
    small.healthCheckAfter(0);
    Request r = Requests.of(nextId++, A, -1);
    small.allocate(r);
    Slot s = io.connects.get(0);
    small.connected(s);
    small.giveBack(s, Pool.Disposal.POOL);
    now += 1;
    Request checked = Requests.of(nextId++, A, -1);
    small.allocate(checked);
    assertThat(io.checks).containsExactly(s);
    Request other = Requests.of(nextId++, NAMED, -1);
    small.allocate(other);
    small.resolved(other, List.of(InetAddress.getLoopbackAddress()));
    assertThat(io.connects).hasSize(1); // maxOpen 1: it waits, nothing is evicted
    assertThat(small.stats()).isEqualTo(new PoolStats(1, 0, 1, 0, 1));
    small.checked(s, false); // the check failed: its request takes the freed slot first
    assertThat(io.connects).hasSize(2);
    assertThat(checked.phase).isEqualTo(Request.Phase.CONNECTING);
    assertThat(other.phase).isEqualTo(Request.Phase.QUEUED);
  }
}
