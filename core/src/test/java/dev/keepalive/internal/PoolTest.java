package dev.keepalive.internal;

import static dev.keepalive.internal.IoFailures.NO_FDS;
import static dev.keepalive.internal.IoFailures.NXDOMAIN;
import static dev.keepalive.internal.IoFailures.REFUSED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Deterministic tests of the pool's decisions: the {@link Pool} is driven by hand through a fake
 * {@link Pool.Io} that records every call, and a manual clock.
 */
class PoolTest {
  static final long SECOND = Duration.ofSeconds(1).toNanos();
  static final long KEEP_ALIVE = 15 * SECOND;
  static final long TIMEOUT = 120 * SECOND;

  static final PoolKey A = literalKey("127.0.0.1");
  static final PoolKey B = literalKey("127.0.0.2");
  static final PoolKey C = literalKey("127.0.0.3");
  static final PoolKey D = literalKey("127.0.0.4");
  static final PoolKey E = literalKey("127.0.0.5");
  static final PoolKey NAMED = new PoolKey("http", "example.org", 80, null, null, 0);

  static PoolKey literalKey(String addr) {
    return new PoolKey("http", addr, 80, null, null, 0);
  }

  // ---- fixtures ----

  /** The answer as it was when the pool gave it. */
  record Answer(Request request, FromCache fromCache, Slot socket, Failure failure) {}

  /** Records every call, and plays the I/O side as configured. */
  static final class FakeIo implements Pool.Io {
    final List<String> log = new ArrayList<>();
    final Map<Slot, String> names = new IdentityHashMap<>();
    final List<Slot> connects = new ArrayList<>();
    final Map<Slot, Request> connectedFor = new IdentityHashMap<>();
    final List<Request> resolves = new ArrayList<>();
    final List<Request> abandoned = new ArrayList<>();
    final Set<Slot> dirty = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    final List<Slot> watched = new ArrayList<>();
    final Map<Slot, Boolean> closed = new IdentityHashMap<>();
    final List<Answer> answers = new ArrayList<>();
    final Deque<Failure> syncConnectFailures = new ArrayDeque<>();
    final List<String> violations = new ArrayList<>();

    String name(Slot s) {
      String n = names.get(s);
      return n == null ? "s?" : n;
    }

    @Override
    public void resolve(Request r) {
      resolves.add(r);
      log.add("resolve #" + r.id);
    }

    @Override
    public void abandonResolve(Request r) {
      abandoned.add(r);
      log.add("abandonResolve #" + r.id);
    }

    @Override
    public Failure connect(Slot s, Request r) {
      if (names.containsKey(s)) {
        violations.add("connect called twice for " + name(s));
      }
      names.put(s, "s" + (names.size() + 1));
      connects.add(s);
      connectedFor.put(s, r);
      log.add("connect " + name(s) + " #" + r.id);
      if (s.state != Slot.State.CONNECTING) {
        violations.add("connect of a socket in state " + s.state);
      }
      return syncConnectFailures.poll();
    }

    @Override
    public boolean isClean(Slot s) {
      log.add("isClean " + name(s));
      return !dirty.contains(s);
    }

    @Override
    public void watchIdle(Slot s) {
      watched.add(s);
      log.add("watchIdle " + name(s));
    }

    @Override
    public void close(Slot s, boolean reset) {
      if (closed.containsKey(s)) {
        violations.add("closed twice: " + name(s));
      }
      closed.put(s, reset);
      log.add((reset ? "reset " : "close ") + name(s));
    }

    @Override
    public void answer(Request r) {
      if (answers.stream().anyMatch(a -> a.request == r)) {
        violations.add("answered twice: #" + r.id);
      }
      answers.add(new Answer(r, r.fromCache, r.slot, r.failure));
      if (r.failure == null) {
        log.add("answer #" + r.id + " " + r.fromCache + " " + name(r.slot));
      } else {
        log.add("answer #" + r.id + " " + r.failure.functionName() + "/" + r.failure.errorNum());
      }
    }

    Slot lastConnect() {
      return connects.get(connects.size() - 1);
    }

    int answerCount(Request r) {
      return (int) answers.stream().filter(a -> a.request == r).count();
    }

    Answer answerOf(Request r) {
      List<Answer> found = answers.stream().filter(a -> a.request == r).toList();
      assertThat(found).as("answers of #%d", r.id).hasSize(1);
      return found.get(0);
    }

    List<Long> answeredIds() {
      return answers.stream().map(a -> a.request.id).collect(Collectors.toList());
    }

    List<String> closedNames() {
      return log.stream()
          .filter(l -> l.startsWith("close ") || l.startsWith("reset "))
          .collect(Collectors.toList());
    }
  }

  long now = 1_000 * SECOND; // arbitrary origin: nothing may assume the clock starts at 0
  final FakeIo io = new FakeIo();
  Pool pool;
  long nextId = 1;
  final List<Request> requests = new ArrayList<>();

  Pool pool(int maxPerHost, int maxOpen) {
    pool = new Pool(maxPerHost, maxOpen, KEEP_ALIVE, TIMEOUT, () -> now, io);
    return pool;
  }

  Request request(PoolKey key) {
    return request(key, -1);
  }

  Request request(PoolKey key, long timeoutNanos) {
    Request r = Requests.of(nextId++, key, timeoutNanos);
    requests.add(r);
    return r;
  }

  Request allocate(PoolKey key) {
    return allocate(key, -1);
  }

  Request allocate(PoolKey key, long timeoutNanos) {
    Request r = request(key, timeoutNanos);
    pool.allocate(r);
    return r;
  }

  /** Allocates on {@code key}, expects a new connect and completes it: returns the leased socket. */
  Slot connectNew(PoolKey key) {
    int before = io.connects.size();
    Request r = allocate(key);
    assertThat(io.connects).as("a connect for #%d", r.id).hasSize(before + 1);
    Slot s = io.lastConnect();
    pool.connected(s);
    assertAnswered(r, FromCache.NEW, s);
    return s;
  }

  void assertAnswered(Request r, FromCache how, Slot s) {
    Answer a = io.answerOf(r);
    assertThat(a.failure).as("failure of #%d", r.id).isNull();
    assertThat(a.fromCache).as("fromCache of #%d", r.id).isEqualTo(how);
    assertThat(a.socket).as("socket of #%d", r.id).isSameAs(s);
    assertThat(s.state).isEqualTo(Slot.State.LEASED);
    assertThat(r.phase).isEqualTo(Request.Phase.ANSWERED);
  }

  void assertFailed(Request r, Failure f) {
    Answer a = io.answerOf(r);
    assertThat(a.failure).as("failure of #%d", r.id).isEqualTo(f);
    assertThat(a.socket).isNull();
    assertThat(r.phase).isEqualTo(Request.Phase.ANSWERED);
  }

  void assertUnanswered(Request r) {
    assertThat(io.answerCount(r)).as("answers of #%d", r.id).isZero();
  }

  void assertStats(int open, int idle, int leased, int connecting, int pending) {
    assertThat(pool.stats()).isEqualTo(new PoolStats(open, idle, leased, connecting, pending));
    assertThat(pool.open()).isEqualTo(open);
  }

  /** Nothing is held any more: no socket, no request, and no bookkeeping left behind. */
  void assertNothingLeft() {
    assertStats(0, 0, 0, 0, 0);
    assertThat(pool.keyCount()).as("hostCount").isZero();
    assertThat(pool.trackedCount()).as("trackedCount").isZero();
    assertThat(pool.nextDeadline()).isEqualTo(Long.MAX_VALUE);
  }

  @AfterEach
  void everyRequestAnsweredAtMostOnce() {
    assertThat(io.violations).isEmpty();
    for (Request r : requests) {
      assertThat(io.answerCount(r)).as("answers of #%d", r.id).isLessThanOrEqualTo(1);
    }
  }

  /** Whatever a test did, the per-key counts add up to the pool's (they are kept apart). */
  @AfterEach
  void perKeyCountsAddUpToThePools() {
    if (pool == null) {
      return;
    }
    int open = 0;
    int idle = 0;
    int leased = 0;
    int connecting = 0;
    int pending = 0;
    for (PoolKey k : pool.keyList()) {
      PoolStats s = pool.stats(k);
      assertThat(s.open()).as("open of %s", k).isEqualTo(s.idle() + s.leased() + s.connecting());
      assertThat(s.leased()).as("leased of %s", k).isNotNegative();
      assertThat(s.connecting()).as("connecting of %s", k).isNotNegative();
      open += s.open();
      idle += s.idle();
      leased += s.leased();
      connecting += s.connecting();
      pending += s.pending();
    }
    assertThat(new PoolStats(open, idle, leased, connecting, pending)).isEqualTo(pool.stats());
  }

  void assertKeyStats(PoolKey key, int open, int idle, int leased, int connecting, int pending) {
    assertThat(pool.stats(key))
        .as("stats of %s", key)
        .isEqualTo(new PoolStats(open, idle, leased, connecting, pending));
  }

  Request allocateFresh(PoolKey key) {
    Request r = Requests.fresh(nextId++, key, -1);
    requests.add(r);
    pool.allocate(r);
    return r;
  }

  // ---- per-connection reuse rules: fresh requests, holders' limits ----

  @Nested
  class ReuseRules {
    @Test
    void aFreshRequestIsNeverServedFromThePool() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      Request r = allocateFresh(A);
      assertThat(io.connects).hasSize(2);
      assertThat(io.closed).isEmpty(); // room below maxPerHost: the idle socket stays
      Slot s2 = io.lastConnect();
      pool.connected(s2);
      assertAnswered(r, FromCache.NEW, s2);
      assertThat(allocate(A).slot).as("a plain request still gets the idle one").isSameAs(s1);
    }

    @Test
    void aFreshRequestAtThePerHostLimitReplacesTheKeysOldestIdleSocket() {
      pool(2, 128);
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      pool.giveBack(s2, Pool.Disposal.POOL);
      Request r = allocateFresh(A);
      assertThat(io.closed).containsOnlyKeys(s1); // the least recently used of the key
      pool.connected(io.lastConnect());
      assertAnswered(r, FromCache.NEW, io.lastConnect());
      assertStats(2, 1, 1, 0, 0);
    }

    @Test
    void aFreshRequestAtMaxOpenEvictsTheOldestIdleSocket() {
      pool(4, 2);
      Slot a = connectNew(A);
      Slot b = connectNew(B);
      pool.giveBack(a, Pool.Disposal.POOL);
      pool.giveBack(b, Pool.Disposal.POOL);
      allocateFresh(B);
      assertThat(io.closed).containsOnlyKeys(a);
      assertThat(pool.open()).isEqualTo(2);
    }

    @Test
    void aFreshRequestWaitsLikeAnyOtherAtThePerHostLimit() {
      pool(1, 128);
      Slot s1 = connectNew(A);
      Request r = allocateFresh(A);
      assertThat(r.phase).isEqualTo(Request.Phase.QUEUED);
      pool.giveBack(s1, Pool.Disposal.POOL); // pooled, then replaced for the fresh waiter
      assertThat(io.closed).containsOnlyKeys(s1);
      pool.connected(io.lastConnect());
      assertAnswered(r, FromCache.NEW, io.lastConnect());
    }

    @Test
    void aSocketPastItsHoldersIdleLimitIsClosedByExpiry() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 2 * SECOND, Pool.NO_LIMIT);
      assertThat(pool.nextDeadline()).isEqualTo(now + 2 * SECOND);
      now += 2 * SECOND - 1;
      pool.expire();
      assertThat(io.closed).isEmpty();
      now += 1;
      pool.expire();
      assertThat(io.closed).containsOnlyKeys(s1);
      assertNothingLeft();
    }

    @Test
    void aSocketPastItsHoldersIdleLimitIsNeverHandedOutEvenBeforeExpiryRuns() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 2 * SECOND, Pool.NO_LIMIT);
      now += 2 * SECOND;
      Request r = allocate(A); // no expire() in between
      assertThat(io.closed).containsOnlyKeys(s1);
      assertThat(r.phase).isEqualTo(Request.Phase.CONNECTING);
    }

    @Test
    void anIdleLimitLongerThanTheKeepAliveChangesNothing() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 2 * KEEP_ALIVE, Pool.NO_LIMIT);
      assertThat(pool.nextDeadline()).isEqualTo(now + KEEP_ALIVE);
      now += SECOND;
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
    }

    @Test
    void anIdleLimitAppliesToOneIdlePeriodOnly() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 2 * SECOND, Pool.NO_LIMIT);
      now += SECOND;
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
      pool.giveBack(s1, Pool.Disposal.POOL);
      now += 5 * SECOND;
      pool.expire();
      assertThat(io.closed).isEmpty();
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
    }

    @Test
    void aZeroIdleLimitClosesAtGiveBack() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 0, Pool.NO_LIMIT);
      assertThat(io.closed).containsEntry(s1, false);
      assertNothingLeft();
    }

    @Test
    void aUseLimitClosesTheSocketWhenItsLastUseIsGivenBack() {
      pool(4, 128);
      Slot s1 = connectNew(A); // hand-out 1
      pool.giveBack(s1, Pool.Disposal.POOL, Pool.NO_LIMIT, 2); // two more
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1); // 2
      pool.giveBack(s1, Pool.Disposal.POOL, Pool.NO_LIMIT, 5); // a limit only ever gets lower
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1); // 3
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsEntry(s1, false);
      assertNothingLeft();
    }

    @Test
    void aZeroUseLimitClosesAtGiveBackAndServesTheNextWaiter() {
      pool(1, 128);
      Slot s1 = connectNew(A);
      Request waiting = allocate(A);
      pool.giveBack(s1, Pool.Disposal.POOL, Pool.NO_LIMIT, 0);
      assertThat(io.closed).containsOnlyKeys(s1);
      Slot s2 = io.lastConnect();
      pool.connected(s2);
      assertAnswered(waiting, FromCache.NEW, s2);
    }

    @Test
    void closingAReuseLimitedIdleSocketForgetsItsDeadline() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 2 * SECOND, Pool.NO_LIMIT);
      pool.idleActivity(s1, false);
      assertNothingLeft(); // including the next deadline
    }
  }

  // ---- production rules: lifetimes, uses, queue bound, per-key counts, evictIdle, warm-ups ----

  static final long LIFE = 10 * SECOND; // shorter than the keep-alive

  Pool pool(int maxPerHost, int maxOpen, Pool.Options options) {
    pool = newPool(maxPerHost, maxOpen, options, () -> now, io);
    return pool;
  }

  /** A pool with these limits and options, the tests' keep-alive and timeout, the default batch. */
  static Pool newPool(int maxPerHost, int maxOpen, Pool.Options options, Clock clock, Pool.Io io) {
    return new Pool(
        maxPerHost, maxOpen, KEEP_ALIVE, TIMEOUT, Pool.DEFAULT_EXPIRE_BATCH, options, clock, io);
  }

  /** A random source that draws {@code us} in turn, over and over. */
  static DoubleSupplier draws(double... us) {
    int[] next = {0};
    return () -> us[next[0]++ % us.length];
  }

  static Pool.Options lifetime(long nanos, double jitter, DoubleSupplier random) {
    return Pool.Options.NONE.maxLifetime(nanos, jitter, random);
  }

  /** A warm-up for {@code key} with target {@code n}, allocated. */
  Request warm(PoolKey key, int n) {
    Request r =
        new Request(nextId++, key, Requests.allocation(key), -1, false, null, null, null, n);
    requests.add(r);
    pool.allocate(r);
    return r;
  }

  /** {@code r} was answered: it opened a socket for the pool (true) or found no need or room. */
  void assertWarmed(Request r, boolean opened) {
    Answer a = io.answerOf(r);
    assertThat(a.failure).as("failure of #%d", r.id).isNull();
    assertThat(a.socket).as("a warm-up hands out nothing").isNull();
    assertThat(a.fromCache).isEqualTo(opened ? FromCache.NEW : null);
  }

  @Nested
  class Lifetimes {
    @Test
    void anIdleSocketIsClosedWhenItsLifetimeEndsThoughItsKeepAliveWouldKeepIt() {
      pool(4, 128, lifetime(LIFE, 0, draws(0.5)));
      long t0 = now;
      Slot s1 = connectNew(A);
      now += 4 * SECOND;
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(pool.nextDeadline()).as("its lifetime, not its keep-alive").isEqualTo(t0 + LIFE);
      now = t0 + LIFE - 1;
      pool.expire();
      assertThat(io.closed).isEmpty();
      now = t0 + LIFE;
      pool.expire();
      assertThat(io.closed).containsOnlyKeys(s1).containsEntry(s1, false);
      assertNothingLeft();
    }

    @Test
    void aLifetimeEndingAfterTheKeepAliveLeavesTheSocketToKeepAliveExpiry() {
      pool(4, 128, lifetime(4 * KEEP_ALIVE, 0, draws(0)));
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(pool.nextDeadline()).isEqualTo(now + KEEP_ALIVE);
      assertThat(s1.heapIndex).as("not among the sockets due early").isEqualTo(-1);
      now += KEEP_ALIVE - 1;
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
    }

    @Test
    void aSocketPastItsLifetimeIsClosedWhenGivenBackNotPooled() {
      pool(4, 128, lifetime(LIFE, 0, draws(0)));
      Slot s1 = connectNew(A);
      now += LIFE;
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(s1).containsEntry(s1, false);
      assertThat(io.watched).doesNotContain(s1);
      assertNothingLeft();
    }

    @Test
    void aLifetimeEndingMidLeaseClosesTheSocketAtGiveBackAndItsWaiterGetsANewOne() {
      pool(1, 128, lifetime(LIFE, 0, draws(0)));
      Slot s1 = connectNew(A);
      Request waiting = allocate(A);
      now += LIFE + SECOND; // the lifetime ends while it is leased
      pool.expire();
      assertThat(io.closed).as("a leased socket stays with its holder").isEmpty();
      assertKeyStats(A, 1, 0, 1, 0, 1);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(s1);
      Slot s2 = io.lastConnect();
      assertThat(s2).isNotSameAs(s1);
      pool.connected(s2);
      assertAnswered(waiting, FromCache.NEW, s2);
      assertKeyStats(A, 1, 0, 1, 0, 0);
    }

    @Test
    void aRequestThatWouldHaveTakenARetiredSocketGetsAnotherOneEvenBeforeExpiryRuns() {
      pool(4, 128, lifetime(LIFE, 0, draws(0)));
      long t0 = now;
      Slot s1 = connectNew(A);
      now += 2 * SECOND;
      Slot s2 = connectNew(A);
      pool.giveBack(s2, Pool.Disposal.POOL);
      pool.giveBack(s1, Pool.Disposal.POOL); // the newest idle: first to be taken
      now = t0 + LIFE; // s1's lifetime is over, s2's is not; no expire() in between
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s2);
      assertThat(io.closed).containsOnlyKeys(s1).containsEntry(s1, false);
      assertThat(io.log).doesNotContain("isClean s1");
    }

    @Test
    void aRequestWhoseOnlyIdleSocketRetiredGetsANewOne() {
      pool(4, 128, lifetime(LIFE, 0, draws(0)));
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      now += LIFE;
      Request r = allocate(A);
      assertThat(io.closed).containsOnlyKeys(s1);
      Slot s2 = io.lastConnect();
      pool.connected(s2);
      assertAnswered(r, FromCache.NEW, s2);
    }

    @Test
    void ageCountsFromTheTcpConnectNotFromTheEndOfTheTlsHandshake() {
      pool(4, 128, lifetime(LIFE, 0, draws(0)));
      long tcp = now;
      Request r = allocate(A);
      Slot s1 = io.lastConnect();
      now += 3 * SECOND; // the TLS handshake
      pool.connected(s1, tcp);
      assertAnswered(r, FromCache.NEW, s1);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(pool.nextDeadline()).isEqualTo(tcp + LIFE);
    }

    @Test
    void jitterSpreadsTheRetirementOfSocketsOpenedTogether() {
      // u for each socket in turn; every lifetime LIFE * (1 - u / 2) is exact in binary
      double[] us = {0, 0.25, 0.5, 0.75, 31 / 32.0};
      pool(8, 128, lifetime(LIFE, 0.5, draws(us)));
      long t0 = now;
      List<Slot> slots = new ArrayList<>();
      for (int i = 0; i < us.length; i++) {
        slots.add(connectNew(A));
      }
      slots.forEach(s -> pool.giveBack(s, Pool.Disposal.POOL));
      // the last drawn retires first
      for (int i = us.length - 1; i >= 0; i--) {
        long end = t0 + (long) (LIFE * (1 - us[i] / 2));
        assertThat(end - t0).isBetween(LIFE / 2, LIFE);
        assertThat(pool.nextDeadline()).isEqualTo(end);
        now = end - 1;
        pool.expire();
        assertThat(io.closed).as("before socket %d retires", i).hasSize(us.length - 1 - i);
        now = end;
        pool.expire();
        assertThat(io.closed)
            .as("socket %d retired", i)
            .hasSize(us.length - i)
            .containsKey(slots.get(i));
      }
      assertNothingLeft();
    }

    @Test
    void lifetimesDrawnFromAGeneratorStayWithinTheirRangeAndSpreadOverIt() {
      double jitter = 0.2;
      int n = 200;
      pool(n, n, lifetime(LIFE, jitter, new SplittableRandom(12345)::nextDouble));
      long t0 = now;
      Set<Long> lifetimes = new HashSet<>();
      long min = Long.MAX_VALUE;
      long max = 0;
      for (int i = 0; i < n; i++) {
        Slot s = connectNew(A);
        long life = s.retireAt - t0;
        assertThat(life).isBetween((long) (LIFE * (1 - jitter)), LIFE);
        lifetimes.add(life);
        min = Math.min(min, life);
        max = Math.max(max, life);
      }
      assertThat(lifetimes)
          .as("sockets opened together retire apart")
          .hasSizeGreaterThan(n * 9 / 10);
      assertThat(max - min).as("spread over most of the jitter's range").isGreaterThan((long)
          (LIFE * jitter * 0.9));
    }

    @Test
    void retirementIsBatchedLikeKeepAliveExpiryAndAHandOutClosesTheRestOfTheBacklog() {
      pool = new Pool(8, 128, KEEP_ALIVE, TIMEOUT, 2, lifetime(LIFE, 0, draws(0)), () -> now, io);
      long t0 = now;
      List<Slot> slots = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        slots.add(connectNew(A));
      }
      slots.forEach(s -> pool.giveBack(s, Pool.Disposal.POOL));
      now = t0 + LIFE; // all retire at once
      pool.expire();
      assertThat(io.closed).hasSize(2);
      assertThat(pool.nextDeadline())
          .as("more are due: the loop must not sleep")
          .isLessThanOrEqualTo(now);
      Request r = allocate(A); // the three left are closed, not handed out
      assertThat(io.closed)
          .hasSize(5)
          .containsOnlyKeys(slots.toArray(new Slot[0]))
          .doesNotContainValue(true);
      assertThat(r.phase).isEqualTo(Request.Phase.CONNECTING);
      pool.connected(io.lastConnect());
      assertAnswered(r, FromCache.NEW, io.lastConnect());
    }

    @Test
    void theEarlierOfAHoldersIdleLimitAndTheLifetimeApplies() {
      pool(4, 128, lifetime(LIFE, 0, draws(0)));
      long t0 = now;
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, 2 * SECOND, Pool.NO_LIMIT);
      assertThat(pool.nextDeadline()).as("the holder's limit").isEqualTo(t0 + 2 * SECOND);
      now = t0 + 5 * SECOND;
      pool.expire();
      assertThat(io.closed).containsOnlyKeys(s1); // closed at its holder's limit
      Slot s2 = connectNew(A); // connected at t0 + 5 s
      pool.giveBack(s2, Pool.Disposal.POOL, 12 * SECOND, Pool.NO_LIMIT);
      assertThat(pool.nextDeadline()).as("its lifetime").isEqualTo(now + LIFE);
    }

    @Test
    void aWarmSocketWhoseLifetimeEndedDuringItsHandshakeIsNotPooled() {
      pool(4, 128, lifetime(LIFE, 0, draws(0)));
      long tcp = now;
      Request w = warm(A, 1);
      now += LIFE; // a very slow handshake
      pool.connected(io.lastConnect(), tcp);
      assertWarmed(w, false);
      assertThat(io.closed).containsOnlyKeys(io.lastConnect());
      assertNothingLeft();
    }
  }

  @Nested
  class MaxUses {
    @Test
    void aSocketIsHandedOutAtMostMaxUsesTimesThenClosed() {
      pool(4, 128, Pool.Options.NONE.maxUses(3));
      Slot s1 = connectNew(A); // 1
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1); // 2
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1); // 3
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(s1).containsEntry(s1, false);
      assertNothingLeft();
      Request r = allocate(A);
      assertThat(r.phase).isEqualTo(Request.Phase.CONNECTING);
    }

    @Test
    void oneUseClosesEverySocketAfterItsFirstHandOutAndServesTheNextWaiter() {
      pool(1, 128, Pool.Options.NONE.maxUses(1));
      Slot s1 = connectNew(A);
      Request waiting = allocate(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(s1);
      Slot s2 = io.lastConnect();
      pool.connected(s2);
      assertAnswered(waiting, FromCache.NEW, s2);
    }

    @Test
    void aHoldersKeepAliveMaxOnlyLowersIt() {
      pool(4, 128, Pool.Options.NONE.maxUses(2));
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL, Pool.NO_LIMIT, 5); // more than maxUses allows
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(s1);

      Slot s2 = connectNew(A);
      pool.giveBack(s2, Pool.Disposal.POOL, Pool.NO_LIMIT, 0); // lower: closed now
      assertThat(io.closed).containsKey(s2);
      assertNothingLeft();
    }

    @Test
    void aWarmSocketsUsesCountFromItsFirstHandOut() {
      pool(4, 128, Pool.Options.NONE.maxUses(1));
      Request w = warm(A, 1);
      Slot s1 = io.lastConnect();
      pool.connected(s1);
      assertWarmed(w, true);
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(s1);
    }
  }

  @Nested
  class MaxQueued {
    @Test
    void aRequestThatWouldWaitWhileNAlreadyWaitFailsAtOnce() {
      pool(1, 128, Pool.Options.NONE.maxQueued(2));
      connectNew(A);
      Request r2 = allocate(A);
      Request r3 = allocate(A);
      Request r4 = allocate(A);
      assertUnanswered(r2);
      assertUnanswered(r3);
      assertFailed(r4, Failure.QUEUE_FULL);
      assertThat(Failure.QUEUE_FULL)
          .isEqualTo(new Failure(Failure.Function.QUEUE, 11, "Resource temporarily unavailable"));
      assertThat(Failure.QUEUE_FULL.functionName()).isEqualTo("queue");
      assertStats(1, 0, 1, 0, 2);
      assertKeyStats(A, 1, 0, 1, 0, 2);
      assertThat(pool.trackedCount()).isEqualTo(2);
    }

    @Test
    void theBoundIsOneQueueForAllKeys() {
      pool(1, 128, Pool.Options.NONE.maxQueued(1));
      connectNew(A);
      connectNew(B);
      Request ra = allocate(A);
      Request rb = allocate(B);
      assertUnanswered(ra);
      assertFailed(rb, Failure.QUEUE_FULL);
    }

    @Test
    void withZeroARequestFailsWheneverItCannotProceedAtOnce() {
      pool(1, 2, Pool.Options.NONE.maxQueued(0));
      Slot a = connectNew(A); // a connect could start: no failure
      assertFailed(allocate(A), Failure.QUEUE_FULL); // per-host limit
      Request rb = allocate(B);
      assertThat(rb.phase).as("room for a connect").isEqualTo(Request.Phase.CONNECTING);
      pool.connected(io.lastConnect());
      assertFailed(allocate(C), Failure.QUEUE_FULL); // maxOpen, every socket busy
      pool.giveBack(a, Pool.Disposal.POOL);
      Request rc = allocate(C); // an idle socket of another key makes room: evicted
      assertThat(io.closed).containsOnlyKeys(a);
      assertThat(rc.phase).isEqualTo(Request.Phase.CONNECTING);
      assertThat(pool.stats().pending()).isZero();
    }

    @Test
    void aRequestServedFromThePoolIsNeverRefused() {
      pool(1, 128, Pool.Options.NONE.maxQueued(0));
      Slot s1 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s1);
    }

    @Test
    void aWaiterThatTimesOutFreesItsPlace() {
      pool(1, 128, Pool.Options.NONE.maxQueued(1));
      connectNew(A);
      Request r2 = allocate(A, SECOND);
      assertFailed(allocate(A), Failure.QUEUE_FULL);
      now += SECOND;
      pool.expire();
      assertFailed(r2, Failure.TIMEOUT);
      Request r4 = allocate(A);
      assertUnanswered(r4);
      assertThat(r4.phase).isEqualTo(Request.Phase.QUEUED);
    }

    @Test
    void aWaiterThatIsCancelledFreesItsPlace() {
      pool(1, 128, Pool.Options.NONE.maxQueued(1));
      connectNew(A);
      Request r2 = allocate(A);
      assertThat(pool.cancel(r2.id)).isTrue();
      Request r3 = allocate(A);
      assertThat(r3.phase).isEqualTo(Request.Phase.QUEUED);
      assertFailed(allocate(A), Failure.QUEUE_FULL);
    }

    @Test
    void aWaiterThatIsServedFreesItsPlace() {
      pool(1, 128, Pool.Options.NONE.maxQueued(1));
      Slot s1 = connectNew(A);
      Request r2 = allocate(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertAnswered(r2, FromCache.DEFERRED, s1);
      Request r3 = allocate(A);
      assertThat(r3.phase).isEqualTo(Request.Phase.QUEUED);
    }

    @Test
    void requestsStillResolvingDoNotCount() {
      pool(1, 128, Pool.Options.NONE.maxQueued(1));
      Request r1 = allocate(NAMED);
      List<java.net.InetAddress> addresses = List.of(InetAddress.getLoopbackAddress());
      pool.resolved(r1, addresses);
      pool.connected(io.lastConnect());
      Request r2 = allocate(NAMED);
      Request r3 = allocate(NAMED);
      Request r4 = allocate(NAMED);
      assertThat(List.of(r2, r3, r4)).allMatch(r -> r.phase == Request.Phase.RESOLVING);
      assertKeyStats(NAMED, 1, 0, 1, 0, 3);
      pool.resolved(r2, addresses);
      assertThat(r2.phase).isEqualTo(Request.Phase.QUEUED);
      pool.resolved(r3, addresses);
      assertFailed(r3, Failure.QUEUE_FULL);
      pool.resolved(r4, addresses);
      assertFailed(r4, Failure.QUEUE_FULL);
      assertKeyStats(NAMED, 1, 0, 1, 0, 1);
    }

    @Test
    void aRefusedRequestOfANewKeyLeavesNoStateBehind() {
      pool(1, 1, Pool.Options.NONE.maxQueued(0));
      Slot a = connectNew(A);
      assertFailed(allocate(B), Failure.QUEUE_FULL);
      assertThat(pool.keyCount()).isEqualTo(1);
      pool.giveBack(a, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }
  }

  @Nested
  class KeyStats {
    @Test
    void aKeysCountsAreItsOwn() {
      pool(3, 128);
      connectNew(A);
      pool.giveBack(connectNew(A), Pool.Disposal.POOL);
      allocateFresh(A); // connecting beside the idle one
      for (int i = 0; i < 3; i++) {
        connectNew(B);
      }
      allocate(B); // waits
      allocate(NAMED); // resolving
      assertKeyStats(A, 3, 1, 1, 1, 0);
      assertKeyStats(B, 3, 0, 3, 0, 1);
      assertKeyStats(NAMED, 0, 0, 0, 0, 1);
      assertKeyStats(C, 0, 0, 0, 0, 0);
      assertStats(6, 1, 4, 1, 2);
    }

    @Test
    void aKeysCountsFollowEachOfItsSocketsAndRequests() {
      pool(2, 128);
      Request r1 = allocate(A);
      assertKeyStats(A, 1, 0, 0, 1, 0);
      Slot s1 = io.lastConnect();
      pool.connected(s1);
      assertAnswered(r1, FromCache.NEW, s1);
      assertKeyStats(A, 1, 0, 1, 0, 0);
      Request r2 = allocate(A);
      pool.connectFailed(io.lastConnect(), REFUSED);
      assertFailed(r2, REFUSED);
      assertKeyStats(A, 1, 0, 1, 0, 0);
      Request r3 = allocate(A, SECOND);
      assertKeyStats(A, 2, 0, 1, 1, 0);
      Slot s3 = io.lastConnect();
      pool.connected(s3);
      assertAnswered(r3, FromCache.NEW, s3);
      Request r4 = allocate(A, SECOND);
      assertKeyStats(A, 2, 0, 2, 0, 1);
      now += SECOND;
      pool.expire();
      assertFailed(r4, Failure.TIMEOUT);
      assertKeyStats(A, 2, 0, 2, 0, 0);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertKeyStats(A, 2, 1, 1, 0, 0);
      pool.giveBack(s3, Pool.Disposal.CLOSE);
      assertKeyStats(A, 1, 1, 0, 0, 0);
      pool.idleActivity(s1, false);
      assertKeyStats(A, 0, 0, 0, 0, 0);
      assertNothingLeft();
    }
  }

  @Nested
  class EvictIdle {
    @Test
    void closesEveryIdleSocketOfEveryKeyAndLeavesTheOthers() {
      pool(4, 128);
      Slot a1 = connectNew(A);
      Slot a2 = connectNew(A);
      Slot leased = connectNew(A);
      Slot b1 = connectNew(B);
      Request connecting = allocate(C);
      pool.giveBack(a1, Pool.Disposal.POOL);
      pool.giveBack(a2, Pool.Disposal.POOL, 2 * SECOND, Pool.NO_LIMIT); // due early
      pool.giveBack(b1, Pool.Disposal.POOL);
      pool.evictIdle();
      assertThat(io.closed).containsOnlyKeys(a1, a2, b1).doesNotContainValue(true);
      assertStats(2, 0, 1, 1, 0);
      assertThat(pool.keyCount()).as("B is forgotten").isEqualTo(2);
      assertThat(pool.nextDeadline())
          .as("only the request's deadline is left")
          .isEqualTo(connecting.deadline);
      pool.giveBack(leased, Pool.Disposal.POOL);
      assertStats(2, 1, 0, 1, 0);
      assertThat(io.watched).contains(leased);
    }

    @Test
    void withNothingIdleItDoesNothing() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      pool.evictIdle();
      assertThat(io.closed).isEmpty();
      assertKeyStats(A, 1, 0, 1, 0, 0);
      pool.giveBack(s1, Pool.Disposal.CLOSE);
      pool.evictIdle();
      assertNothingLeft();
    }
  }

  @Nested
  class WarmUps {
    @Test
    void aWarmUpConnectsASocketStraightIntoTheIdlePool() {
      pool(4, 128);
      Request w1 = warm(A, 2);
      Request w2 = warm(A, 2);
      assertThat(io.connects).hasSize(2);
      assertKeyStats(A, 2, 0, 0, 2, 0);
      Slot s1 = io.connects.get(0);
      Slot s2 = io.connects.get(1);
      pool.connected(s1);
      pool.connected(s2);
      assertWarmed(w1, true);
      assertWarmed(w2, true);
      assertThat(io.watched).containsExactly(s1, s2);
      assertKeyStats(A, 2, 2, 0, 0, 0);
      assertThat(pool.trackedCount()).isZero();
      assertAnswered(allocate(A), FromCache.IMMEDIATE, s2); // the newest
      assertThat(s2.handOuts).isEqualTo(1);
      assertThat(pool.nextDeadline()).isEqualTo(now + KEEP_ALIVE); // s1 idle
    }

    @Test
    void aWarmUpOpensNothingWhenTheKeyAlreadyHasItsTarget() {
      pool(4, 128);
      connectNew(A); // leased
      pool.giveBack(connectNew(A), Pool.Disposal.POOL); // idle
      allocateFresh(A); // connecting
      Request w = warm(A, 3);
      assertWarmed(w, false);
      assertThat(io.connects).hasSize(3);
      Request w4 = warm(A, 4);
      assertThat(io.connects).as("one more to reach 4").hasSize(4);
      pool.connected(io.lastConnect());
      assertWarmed(w4, true);
    }

    @Test
    void roomIsLimitedByMaxPerHost() {
      pool(2, 128);
      List<Request> ws = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        ws.add(warm(A, 5));
      }
      assertThat(io.connects).hasSize(2);
      for (int i = 2; i < 5; i++) {
        assertWarmed(ws.get(i), false);
      }
      assertKeyStats(A, 2, 0, 0, 2, 0);
    }

    @Test
    void roomIsLimitedByMaxOpenAndAWarmUpNeverEvicts() {
      pool(4, 3);
      Slot b1 = connectNew(B);
      Slot b2 = connectNew(B);
      pool.giveBack(b1, Pool.Disposal.POOL);
      pool.giveBack(b2, Pool.Disposal.POOL);
      Request w1 = warm(A, 3);
      Request w2 = warm(A, 3);
      assertThat(io.connects).as("one left below maxOpen").hasSize(3);
      assertWarmed(w2, false);
      assertThat(io.closed).as("B's idle sockets stay").isEmpty();
      pool.connected(io.lastConnect());
      assertWarmed(w1, true);
      assertStats(3, 3, 0, 0, 0);
      // a request would have evicted B's oldest
      Request r = allocate(C);
      assertThat(io.closed).containsOnlyKeys(b1);
      assertThat(r.phase).isEqualTo(Request.Phase.CONNECTING);
    }

    @Test
    void aWarmUpNeverQueuesNorCountsAgainstMaxQueued() {
      pool(1, 128, Pool.Options.NONE.maxQueued(0));
      connectNew(A);
      Request w = warm(A, 1);
      assertWarmed(w, false);
      Request w2 = warm(A, 2);
      assertWarmed(w2, false); // at maxPerHost: no room, and no "queue" failure
      assertStats(1, 0, 1, 0, 0);
    }

    @Test
    void aRequestArrivingWhileAWarmUpConnectsWaitsForItsSocket() {
      pool(1, 128);
      Request w = warm(A, 1);
      Slot s1 = io.lastConnect();
      Request r = allocate(A);
      assertThat(r.phase).as("the key is at its limit").isEqualTo(Request.Phase.QUEUED);
      pool.connected(s1);
      assertWarmed(w, true);
      assertAnswered(r, FromCache.DEFERRED, s1);
      assertKeyStats(A, 1, 0, 1, 0, 0);
    }

    @Test
    void aWarmUpResolvesLikeARequest() {
      pool(4, 128);
      Request w = warm(NAMED, 1);
      assertThat(io.resolves).containsExactly(w);
      assertKeyStats(NAMED, 0, 0, 0, 0, 1);
      pool.resolved(w, List.of(InetAddress.getLoopbackAddress()));
      pool.connected(io.lastConnect());
      assertWarmed(w, true);
      assertKeyStats(NAMED, 1, 1, 0, 0, 0);
    }

    @Test
    void aFailedWarmUpIsAnsweredWithItsFailureAndLeavesNothing() {
      pool(4, 128);
      Request w = warm(A, 1);
      pool.connectFailed(io.lastConnect(), REFUSED);
      assertFailed(w, REFUSED);
      assertNothingLeft();
    }

    @Test
    void aWarmUpTimesOutLikeARequest() {
      pool(4, 128);
      Request w = warm(A, 1);
      now += TIMEOUT;
      pool.expire();
      assertFailed(w, Failure.TIMEOUT);
      assertThat(io.closed).containsOnlyKeys(io.lastConnect());
      assertNothingLeft();
    }

    @Test
    void aWarmUpAfterShutdownIsAnsweredShutdown() {
      pool(4, 128);
      Request w = warm(A, 1);
      pool.shutdown();
      assertFailed(w, Failure.SHUTDOWN);
      assertFailed(warm(A, 1), Failure.SHUTDOWN);
      assertNothingLeft();
    }
  }

  // ---- IMMEDIATE, DEFERRED, NEW ----

  @Nested
  class Decisions {
    @Test
    void newThenImmediate() {
      pool(4, 128);
      Request r1 = allocate(A);
      assertThat(io.log).containsExactly("connect s1 #1");
      assertThat(r1.phase).isEqualTo(Request.Phase.CONNECTING);
      assertStats(1, 0, 0, 1, 0);
      assertThat(pool.trackedCount()).isEqualTo(1);
      assertUnanswered(r1);

      Slot s1 = io.lastConnect();
      pool.connected(s1);
      assertAnswered(r1, FromCache.NEW, s1);
      assertStats(1, 0, 1, 0, 0);
      assertThat(pool.trackedCount()).isZero();

      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.watched).containsExactly(s1);
      assertStats(1, 1, 0, 0, 0);
      assertThat(pool.keyCount()).isEqualTo(1);

      Request r2 = allocate(A);
      assertAnswered(r2, FromCache.IMMEDIATE, s1);
      assertThat(io.connects).hasSize(1);
      assertThat(io.log).contains("isClean s1");
      assertThat(pool.trackedCount()).as("an IMMEDIATE answer is never tracked").isZero();
      assertStats(1, 0, 1, 0, 0);

      pool.giveBack(s1, Pool.Disposal.CLOSE);
      assertThat(io.closed).containsEntry(s1, false);
      assertNothingLeft();
    }

    @Test
    void immediateTakesTheNewestIdleSocketOfItsOwnHost() {
      pool(3, 128);
      Slot a1 = connectNew(A);
      Slot a2 = connectNew(A);
      Slot a3 = connectNew(A);
      Slot b1 = connectNew(B);
      pool.giveBack(a1, Pool.Disposal.POOL);
      now += SECOND;
      pool.giveBack(a2, Pool.Disposal.POOL);
      now += SECOND;
      pool.giveBack(b1, Pool.Disposal.POOL); // newest of all, but another key
      now += SECOND;
      pool.giveBack(a3, Pool.Disposal.POOL);
      now += SECOND;

      Request r1 = allocate(A);
      Request r2 = allocate(A);
      Request r3 = allocate(A);
      assertAnswered(r1, FromCache.IMMEDIATE, a3);
      assertAnswered(r2, FromCache.IMMEDIATE, a2);
      assertAnswered(r3, FromCache.IMMEDIATE, a1);
      assertThat(io.connects).hasSize(4);
      assertStats(4, 1, 3, 0, 0);

      Request r4 = allocate(B);
      assertAnswered(r4, FromCache.IMMEDIATE, b1);
      for (Slot s : List.of(a1, a2, a3, b1)) {
        pool.giveBack(s, Pool.Disposal.CLOSE);
      }
      assertNothingLeft();
    }

    @Test
    void aReturnedSocketIsTheNewestAgain() {
      pool(2, 128);
      Slot a1 = connectNew(A);
      Slot a2 = connectNew(A);
      pool.giveBack(a1, Pool.Disposal.POOL);
      pool.giveBack(a2, Pool.Disposal.POOL);
      Request r1 = allocate(A);
      assertAnswered(r1, FromCache.IMMEDIATE, a2);
      pool.giveBack(a2, Pool.Disposal.POOL);
      Request r2 = allocate(A);
      assertAnswered(r2, FromCache.IMMEDIATE, a2);
    }

    @Test
    void immediateForAHostNameSkipsTheLookup() {
      pool(4, 128);
      Request r1 = allocate(NAMED);
      assertThat(io.resolves).containsExactly(r1);
      assertStats(0, 0, 0, 0, 1);
      pool.resolved(r1, List.of(InetAddress.getLoopbackAddress()));
      assertThat(io.connects).hasSize(1);
      Slot s = io.lastConnect();
      pool.connected(s);
      assertAnswered(r1, FromCache.NEW, s);
      pool.giveBack(s, Pool.Disposal.POOL);

      Request r2 = allocate(new PoolKey("HTTP", "Example.ORG", 80, null, null, 0));
      assertAnswered(r2, FromCache.IMMEDIATE, s);
      assertThat(io.resolves).hasSize(1);
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void deferredGoesToTheOldestWaiterWhenASocketIsGivenBack() {
      pool(1, 128);
      Slot s = connectNew(A);
      Request r2 = allocate(A);
      Request r3 = allocate(A);
      assertThat(r2.phase).isEqualTo(Request.Phase.QUEUED);
      assertThat(r3.phase).isEqualTo(Request.Phase.QUEUED);
      assertStats(1, 0, 1, 0, 2);
      assertThat(io.connects).hasSize(1);

      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r2, FromCache.DEFERRED, s);
      assertUnanswered(r3);
      assertStats(1, 0, 1, 0, 1);

      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r3, FromCache.DEFERRED, s);
      assertStats(1, 0, 1, 0, 0);
      assertThat(io.connects).hasSize(1);

      pool.giveBack(s, Pool.Disposal.POOL);
      assertStats(1, 1, 0, 0, 0);
      assertThat(pool.trackedCount()).isZero();
      pool.idleActivity(s, false);
      assertNothingLeft();
    }

    @Test
    void seed03MaxPerHostOneNewDeferredImmediateDeferred() {
      pool(1, 128);
      Request r1 = allocate(A);
      Slot s = io.lastConnect();
      pool.connected(s);
      assertAnswered(r1, FromCache.NEW, s);
      Request r2 = allocate(A);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r2, FromCache.DEFERRED, s);
      pool.giveBack(s, Pool.Disposal.POOL);
      Request r3 = allocate(A);
      assertAnswered(r3, FromCache.IMMEDIATE, s);
      Request r4 = allocate(A);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r4, FromCache.DEFERRED, s);
      assertThat(io.connects).hasSize(1);
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void seed02MaxOpenOneDeferredImmediateThenEvictionForAnotherKey() {
      pool(4, 1);
      Request r1 = allocate(A);
      Slot s = io.lastConnect();
      pool.connected(s);
      assertAnswered(r1, FromCache.NEW, s);

      Request r2 = allocate(A);
      assertThat(io.connects).as("maxOpen 1: no second socket").hasSize(1);
      assertStats(1, 0, 1, 0, 1);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r2, FromCache.DEFERRED, s);

      pool.giveBack(s, Pool.Disposal.POOL);
      Request r3 = allocate(A);
      assertAnswered(r3, FromCache.IMMEDIATE, s);
      pool.giveBack(s, Pool.Disposal.POOL);

      Request r4 = allocate(B); // a closed port
      assertThat(io.closed).as("the idle A socket is evicted").containsEntry(s, false);
      assertThat(io.connects).hasSize(2);
      Slot b = io.lastConnect();
      assertStats(1, 0, 0, 1, 0);
      pool.connectFailed(b, REFUSED);
      assertFailed(r4, REFUSED);
      assertThat(io.closed).containsKey(b);
      assertNothingLeft();
    }

    @Test
    void releaseClosingOrResettingNeverPools() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.CLOSE);
      pool.giveBack(s2, Pool.Disposal.RESET);
      assertThat(io.closed).containsEntry(s1, false).containsEntry(s2, true);
      assertThat(io.watched).isEmpty();
      assertNothingLeft();
      Request r = allocate(A);
      assertThat(io.connects).hasSize(3);
      assertUnanswered(r);
    }

    @Test
    void releaseOfASocketNotLeasedIsIgnored() {
      pool(4, 128);
      Slot s = connectNew(A);
      pool.giveBack(s, Pool.Disposal.POOL);
      pool.giveBack(s, Pool.Disposal.CLOSE); // idle: not the holder's any more
      assertStats(1, 1, 0, 0, 0);
      assertThat(io.closed).isEmpty();
      pool.idleActivity(s, false);
      pool.giveBack(s, Pool.Disposal.POOL); // closed
      assertNothingLeft();
    }
  }

  // ---- limits ----

  @Nested
  class Limits {
    @Test
    void maxPerHostCountsConnectingAndLeased() {
      pool(2, 128);
      Request r1 = allocate(A);
      Request r2 = allocate(A);
      Request r3 = allocate(A);
      Request r4 = allocate(A);
      assertThat(io.connects).hasSize(2);
      assertStats(2, 0, 0, 2, 2);
      Slot s1 = io.connects.get(0);
      Slot s2 = io.connects.get(1);
      pool.connected(s1);
      assertAnswered(r1, FromCache.NEW, s1);
      assertThat(io.connects).as("leased counts as connecting did").hasSize(2);
      pool.connected(s2);
      assertAnswered(r2, FromCache.NEW, s2);
      assertStats(2, 0, 2, 0, 2);

      pool.giveBack(s1, Pool.Disposal.CLOSE);
      assertThat(io.connects).hasSize(3);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r3);
      pool.giveBack(s2, Pool.Disposal.POOL);
      assertAnswered(r4, FromCache.DEFERRED, s2);
      assertStats(2, 0, 1, 1, 0);

      pool.connected(io.lastConnect());
      assertAnswered(r3, FromCache.NEW, io.lastConnect());
      pool.giveBack(io.lastConnect(), Pool.Disposal.CLOSE);
      pool.giveBack(s2, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void idleSocketsDoNotCountAgainstMaxPerHost() {
      pool(1, 128);
      Slot s = connectNew(A);
      pool.giveBack(s, Pool.Disposal.POOL);
      Request r = allocate(A);
      assertAnswered(r, FromCache.IMMEDIATE, s);
      Request r2 = allocate(A);
      assertThat(io.connects).hasSize(1);
      assertThat(r2.phase).isEqualTo(Request.Phase.QUEUED);
      assertThat(pool.cancel(r2.id)).isTrue();
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void maxOpenCountsEverySocket() {
      pool(5, 2);
      Slot a = connectNew(A);
      Request rb = allocate(B);
      Request rc = allocate(C);
      assertThat(io.connects).hasSize(2);
      assertStats(2, 0, 1, 1, 1);
      assertThat(rc.phase).isEqualTo(Request.Phase.QUEUED);

      pool.giveBack(a, Pool.Disposal.CLOSE);
      assertThat(io.connects).hasSize(3);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(rc);
      assertStats(2, 0, 0, 2, 0);
      pool.connectFailed(io.connects.get(1), REFUSED);
      pool.connectFailed(io.connects.get(2), REFUSED);
      assertFailed(rb, REFUSED);
      assertFailed(rc, REFUSED);
      assertNothingLeft();
    }

    @Test
    void atMaxOpenTheLeastRecentlyUsedIdleSocketOfAnotherKeyIsEvicted() {
      pool(4, 3);
      Slot a = connectNew(A);
      Slot b = connectNew(B);
      Slot c = connectNew(C);
      pool.giveBack(b, Pool.Disposal.POOL); // least recently used
      now += SECOND;
      pool.giveBack(a, Pool.Disposal.POOL);
      // c stays leased
      assertStats(3, 2, 1, 0, 0);

      Request rd = allocate(D);
      assertThat(io.closedNames()).containsExactly("close s2");
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(rd);
      assertStats(3, 1, 1, 1, 0);
      assertThat(pool.keyCount()).as("B is forgotten with its last socket").isEqualTo(3);

      Request re = allocate(E);
      assertThat(io.closedNames()).containsExactly("close s2", "close s1");
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(re);

      Request rf = allocate(literalKey("127.0.0.6"));
      assertThat(io.closedNames()).as("a leased socket is never evicted").hasSize(2);
      assertThat(c.state).isEqualTo(Slot.State.LEASED);
      assertThat(rf.phase).isEqualTo(Request.Phase.QUEUED);
      assertStats(3, 0, 1, 2, 1);

      pool.giveBack(c, Pool.Disposal.POOL); // pooled, then evicted at once for rf
      assertThat(io.closedNames()).containsExactly("close s2", "close s1", "close s3");
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(rf);
      assertStats(3, 0, 0, 3, 0);

      pool.shutdown();
      assertFailed(rd, Failure.SHUTDOWN);
      assertFailed(re, Failure.SHUTDOWN);
      assertFailed(rf, Failure.SHUTDOWN);
      assertNothingLeft();
    }

    @Test
    void atMaxOpenAnOwnIdleSocketIsReusedRatherThanEvictingAnother() {
      pool(1, 2);
      Slot b = connectNew(B);
      pool.giveBack(b, Pool.Disposal.POOL); // the least recently used idle socket
      Slot a = connectNew(A);
      Request r = allocate(A); // waits: A at its limit
      assertThat(r.phase).isEqualTo(Request.Phase.QUEUED);
      pool.giveBack(a, Pool.Disposal.POOL);
      assertAnswered(r, FromCache.DEFERRED, a);
      assertThat(io.closed).as("b is not evicted").isEmpty();
      assertThat(b.state).isEqualTo(Slot.State.IDLE);
      assertStats(2, 1, 1, 0, 0);
    }

    @Test
    void aSocketHandedOutIsNeverEvicted() {
      // seed 51: a socket reused from the pool is never also chosen for eviction
      pool(4, 2);
      Slot a1 = connectNew(A);
      Slot a2 = connectNew(A);
      pool.giveBack(a1, Pool.Disposal.POOL); // oldest idle
      pool.giveBack(a2, Pool.Disposal.POOL);
      Request r1 = allocate(A);
      assertAnswered(r1, FromCache.IMMEDIATE, a2);
      Request r2 = allocate(A);
      assertAnswered(r2, FromCache.IMMEDIATE, a1);
      Request rb = allocate(B);
      assertThat(io.closed).isEmpty();
      assertThat(rb.phase).isEqualTo(Request.Phase.QUEUED);
      pool.giveBack(a1, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(a1);
      assertThat(a2.state).isEqualTo(Slot.State.LEASED);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(rb);
    }
  }

  // ---- fairness ----

  @Nested
  class Fairness {
    @Test
    void aBlockedKeyNeverBlocksAnotherKey() {
      pool(1, 128);
      Slot a = connectNew(A);
      Request a2 = allocate(A);
      Request a3 = allocate(A);
      Request b1 = allocate(B);
      Request a4 = allocate(A);
      Request c1 = allocate(C);
      assertThat(io.connects).hasSize(3);
      assertThat(io.connectedFor.get(io.connects.get(1))).isSameAs(b1);
      assertThat(io.connectedFor.get(io.connects.get(2))).isSameAs(c1);
      assertThat(List.of(a2.phase, a3.phase, a4.phase)).containsOnly(Request.Phase.QUEUED);
      assertStats(3, 0, 1, 2, 3);

      pool.giveBack(a, Pool.Disposal.CLOSE);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(a2);
      pool.connectFailed(io.lastConnect(), REFUSED);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(a3);
      assertFailed(a2, REFUSED);
    }

    @Test
    void waitersAreServedInArrivalOrderSkippingKeysAtTheirLimit() {
      pool(1, 2);
      Slot sa = connectNew(A);
      Slot sb = connectNew(B);
      Request a2 = allocate(A); // A at its limit
      Request c1 = allocate(C); // blocked by maxOpen
      Request b2 = allocate(B); // B at its limit
      Request d1 = allocate(D); // blocked by maxOpen
      assertThat(io.connects).hasSize(2);
      assertStats(2, 0, 2, 0, 4);

      pool.giveBack(sb, Pool.Disposal.CLOSE);
      // ready now: c1 (older), b2, d1; a2 is oldest but A is still at its limit
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(c1);
      assertThat(io.connects).hasSize(3);
      Slot sc = io.lastConnect();

      pool.giveBack(sa, Pool.Disposal.CLOSE);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(a2);
      Slot sa2 = io.lastConnect();
      assertThat(io.connects).hasSize(4);

      pool.connected(sc);
      pool.giveBack(sc, Pool.Disposal.CLOSE);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(b2);
      pool.connectFailed(sa2, REFUSED);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(d1);

      List<Request> order = io.connects.stream().map(io.connectedFor::get).toList();
      assertThat(order.subList(2, 6)).containsExactly(c1, a2, b2, d1);
      assertFailed(a2, REFUSED);
      pool.connectFailed(io.connects.get(4), REFUSED);
      pool.connectFailed(io.connects.get(5), REFUSED);
      assertNothingLeft();
    }

    @Test
    void aReleasedSocketGoesToTheOldestReadyWaiterEvenOfAnotherKey() {
      pool(2, 2);
      Slot sa = connectNew(A);
      Slot sb = connectNew(B);
      Request a2 = allocate(A); // first, blocked by maxOpen
      Request b2 = allocate(B); // second, blocked by maxOpen
      pool.giveBack(sb, Pool.Disposal.POOL);
      // a2 arrived first: the idle B socket is evicted for it rather than given to b2
      assertThat(io.closed).containsOnlyKeys(sb);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(a2);
      assertUnanswered(b2);
      assertThat(b2.phase).isEqualTo(Request.Phase.QUEUED);
      pool.giveBack(sa, Pool.Disposal.POOL);
      assertThat(io.closed).containsOnlyKeys(sb, sa);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(b2);
    }

    @Test
    void perKeyOrderIsArrivalOrder() {
      pool(1, 128);
      Slot s = connectNew(A);
      List<Request> waiting = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        waiting.add(allocate(A));
      }
      for (Request r : waiting) {
        pool.giveBack(s, Pool.Disposal.POOL);
        assertAnswered(r, FromCache.DEFERRED, s);
      }
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }
  }

  // ---- dirty idle sockets ----

  @Nested
  class DirtyIdleSockets {
    @Test
    void dirtySocketsAreResetAndTheNextIdleOneIsUsed() {
      pool(3, 128);
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(A);
      Slot s3 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      pool.giveBack(s2, Pool.Disposal.POOL);
      pool.giveBack(s3, Pool.Disposal.POOL);
      io.dirty.add(s3);
      io.dirty.add(s2);
      Request r = allocate(A);
      assertAnswered(r, FromCache.IMMEDIATE, s1);
      assertThat(io.closed).containsEntry(s3, true).containsEntry(s2, true).hasSize(2);
      assertThat(s2.state).isEqualTo(Slot.State.CLOSED);
      assertThat(s3.state).isEqualTo(Slot.State.CLOSED);
      assertStats(1, 0, 1, 0, 0);
      pool.giveBack(s1, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void whenEveryIdleSocketIsDirtyANewOneIsConnected() {
      pool(3, 2);
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      pool.giveBack(s2, Pool.Disposal.POOL);
      io.dirty.add(s1);
      io.dirty.add(s2);
      Request r = allocate(A);
      assertThat(io.closed).containsEntry(s1, true).containsEntry(s2, true);
      assertThat(io.connects).hasSize(3);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r);
      assertStats(1, 0, 0, 1, 0);
      pool.connected(io.lastConnect());
      assertAnswered(r, FromCache.NEW, io.lastConnect());
    }

    @Test
    void aDirtySocketIsNeverHandedOutToAWaiter() {
      pool(1, 128);
      Slot s1 = connectNew(A);
      Request r = allocate(A);
      io.dirty.add(s1);
      pool.giveBack(s1, Pool.Disposal.POOL);
      assertThat(io.closed).containsEntry(s1, true);
      assertThat(io.connects).hasSize(2);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r);
      assertUnanswered(r);
      pool.connected(io.lastConnect());
      assertAnswered(r, FromCache.NEW, io.lastConnect());
      pool.giveBack(io.lastConnect(), Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void idleActivityClosesTheSocket() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      pool.giveBack(s2, Pool.Disposal.POOL);
      pool.idleActivity(s1, true); // data: reset
      assertThat(io.closed).containsEntry(s1, true);
      pool.idleActivity(s1, true); // already closed: ignored
      pool.idleActivity(s2, false); // EOF: plain close
      assertThat(io.closed).containsEntry(s2, false).hasSize(2);
      assertNothingLeft();

      Slot s3 = connectNew(A);
      pool.idleActivity(s3, false); // leased: not the pool's business
      assertThat(s3.state).isEqualTo(Slot.State.LEASED);
      assertThat(io.closed).doesNotContainKey(s3);
    }

    @Test
    void idleActivityFreesASlotForAWaiter() {
      pool(1, 2);
      Slot a = connectNew(A);
      Slot b = connectNew(B);
      pool.giveBack(a, Pool.Disposal.POOL);
      Request b2 = allocate(B); // B at its limit
      pool.idleActivity(a, false);
      assertThat(io.closed).containsOnlyKeys(a);
      assertUnanswered(b2);
      pool.giveBack(b, Pool.Disposal.POOL);
      assertAnswered(b2, FromCache.DEFERRED, b);
    }
  }

  // ---- time ----

  @Nested
  class Time {
    @Test
    void idleSocketsExpireAfterKeepAlive() {
      pool(4, 128);
      long t0 = now;
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(B);
      assertThat(pool.nextDeadline()).isEqualTo(Long.MAX_VALUE);
      pool.giveBack(s1, Pool.Disposal.POOL);
      now += 5 * SECOND;
      pool.giveBack(s2, Pool.Disposal.POOL);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + KEEP_ALIVE);

      now = t0 + KEEP_ALIVE - 1;
      pool.expire();
      assertThat(io.closed).isEmpty();
      now = t0 + KEEP_ALIVE;
      pool.expire();
      assertThat(io.closed).containsOnlyKeys(s1).containsEntry(s1, false);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + 5 * SECOND + KEEP_ALIVE);
      assertThat(pool.keyCount()).isEqualTo(1);

      now = t0 + 5 * SECOND + KEEP_ALIVE;
      pool.expire();
      assertThat(io.closed).containsOnlyKeys(s1, s2);
      assertNothingLeft();
    }

    @Test
    void expiryClosesAtMostABatchPerCallOldestFirst() {
      pool = new Pool(8, 128, KEEP_ALIVE, TIMEOUT, 3, () -> now, io);
      long t0 = now;
      List<Slot> a = new ArrayList<>();
      for (int i = 0; i < 7; i++) {
        a.add(connectNew(i % 2 == 0 ? A : B));
      }
      for (Slot s : a) {
        pool.giveBack(s, Pool.Disposal.POOL);
        now += 1; // distinct ages: a.get(0) is the oldest
      }
      Request timesOut = allocate(C, KEEP_ALIVE / 2);
      now = t0 + KEEP_ALIVE + 100;

      pool.expire();
      // requests are never held back: C's connect (s8) ends with its timeout
      assertFailed(timesOut, Failure.TIMEOUT);
      assertThat(io.closedNames()).containsExactly("close s8", "close s1", "close s2", "close s3");
      assertThat(pool.nextDeadline())
          .as("more are due: the loop must not sleep")
          .isLessThanOrEqualTo(now);
      assertStats(4, 4, 0, 0, 0);

      pool.expire();
      assertThat(io.closedNames()).hasSize(7).endsWith("close s4", "close s5", "close s6");
      pool.expire();
      assertThat(io.closedNames()).hasSize(8).endsWith("close s7");
      assertThat(io.closed.values()).containsOnly(false);
      assertNothingLeft();
    }

    @Test
    void otherKeysAreServedBetweenExpiryBatches() {
      pool = new Pool(8, 128, KEEP_ALIVE, TIMEOUT, 2, () -> now, io);
      List<Slot> a = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        a.add(connectNew(A));
      }
      a.forEach(s -> pool.giveBack(s, Pool.Disposal.POOL));
      now += KEEP_ALIVE / 2;
      Slot b = connectNew(B);
      pool.giveBack(b, Pool.Disposal.POOL);
      now += KEEP_ALIVE / 2; // every A socket is due, B's is not

      pool.expire();
      assertThat(io.closed).hasSize(2);
      Request rb = allocate(B);
      assertAnswered(rb, FromCache.IMMEDIATE, b);
      assertThat(pool.stats().idle()).as("A's expiry still under way").isEqualTo(4);
      pool.giveBack(b, Pool.Disposal.POOL);
      while (pool.nextDeadline() - now <= 0) {
        pool.expire();
      }
      assertThat(io.closed).containsOnlyKeys(a.toArray(new Slot[0]));
      assertStats(1, 1, 0, 0, 0);
      assertThat(pool.nextDeadline()).isEqualTo(now + KEEP_ALIVE);
    }

    @Test
    void whileExpiryIsBehindAnExpiredSocketIsClosedNotHandedOut() {
      pool = new Pool(8, 128, KEEP_ALIVE, TIMEOUT, 2, () -> now, io);
      List<Slot> a = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        a.add(connectNew(A));
      }
      a.forEach(s -> pool.giveBack(s, Pool.Disposal.POOL));
      now += KEEP_ALIVE;
      pool.expire(); // closes two; three of A wait for the next batch
      assertThat(io.closed).hasSize(2);

      Request r = allocate(A);
      assertThat(io.closed)
          .as("the three left, closed, none reset")
          .hasSize(5)
          .containsOnlyKeys(a.toArray(new Slot[0]))
          .doesNotContainValue(true);
      assertThat(io.connects).hasSize(6);
      assertUnanswered(r);
      Slot fresh = io.lastConnect();
      pool.connected(fresh);
      assertAnswered(r, FromCache.NEW, fresh);
      pool.expire();
      assertStats(1, 0, 1, 0, 0);
    }

    @Test
    void reuseRestartsTheKeepAliveTimer() {
      pool(4, 128);
      long t0 = now;
      Slot s = connectNew(A);
      pool.giveBack(s, Pool.Disposal.POOL);
      now += 10 * SECOND;
      allocate(A);
      assertThat(pool.nextDeadline()).isEqualTo(Long.MAX_VALUE);
      now += SECOND;
      pool.giveBack(s, Pool.Disposal.POOL);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + 11 * SECOND + KEEP_ALIVE);
      now = t0 + KEEP_ALIVE + SECOND;
      pool.expire();
      assertThat(io.closed).isEmpty();
      now = t0 + 11 * SECOND + KEEP_ALIVE;
      pool.expire();
      assertThat(io.closed).containsOnlyKeys(s);
      assertNothingLeft();
    }

    @Test
    void seed07AfterKeepAliveBothRequestsGetNewSocketsSharingNothingStale() {
      pool(4, 128);
      Slot s1 = connectNew(A);
      Slot s2 = connectNew(A);
      pool.giveBack(s1, Pool.Disposal.POOL);
      pool.giveBack(s2, Pool.Disposal.POOL);
      now += 2 * KEEP_ALIVE;
      pool.expire();
      Request r1 = allocate(A);
      Request r2 = allocate(A);
      assertThat(io.closed).containsOnlyKeys(s1, s2);
      assertThat(io.connects).hasSize(4);
      pool.connected(io.connects.get(2));
      pool.connected(io.connects.get(3));
      assertAnswered(r1, FromCache.NEW, io.connects.get(2));
      assertAnswered(r2, FromCache.NEW, io.connects.get(3));
    }

    @Test
    void nextDeadlineIsTheEarlierOfRequestTimeoutsAndKeepAlive() {
      pool(1, 128);
      long t0 = now;
      Slot s = connectNew(A);
      Request r = allocate(A, 30 * SECOND);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + 30 * SECOND);
      Request r2 = allocate(B, 5 * SECOND);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + 5 * SECOND);
      Request r3 = allocate(C); // default timeout
      assertThat(pool.nextDeadline()).isEqualTo(t0 + 5 * SECOND);
      pool.connected(io.connectedFor.entrySet().stream()
          .filter(e -> e.getValue() == r2)
          .findFirst()
          .orElseThrow()
          .getKey());
      assertThat(pool.nextDeadline()).isEqualTo(t0 + 30 * SECOND);
      Slot sb = r2.slot;
      now += SECOND;
      pool.giveBack(sb, Pool.Disposal.POOL);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + SECOND + KEEP_ALIVE);
      assertThat(pool.cancel(r.id)).isTrue();
      assertThat(pool.nextDeadline()).isEqualTo(t0 + SECOND + KEEP_ALIVE);
      pool.idleActivity(sb, false);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + TIMEOUT);
      now = t0 + TIMEOUT;
      pool.expire();
      assertFailed(r3, Failure.TIMEOUT);
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void timeoutWhileResolvingAbandonsTheLookup() {
      pool(4, 128);
      long t0 = now;
      Request r = allocate(NAMED, SECOND);
      assertThat(r.phase).isEqualTo(Request.Phase.RESOLVING);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + SECOND);
      assertStats(0, 0, 0, 0, 1);
      now = t0 + SECOND - 1;
      pool.expire();
      assertUnanswered(r);
      now = t0 + SECOND;
      pool.expire();
      assertThat(io.abandoned).containsExactly(r);
      assertFailed(r, Failure.TIMEOUT);
      assertThat(r.failure.functionName()).isEqualTo("connect");
      assertThat(r.failure.errorNum()).isEqualTo(110);
      assertThat(r.failure.errorStr()).isEqualTo("Connection timed out");
      assertNothingLeft();

      // seed 50: a late answer of the lookup is ignored
      pool.resolved(r, List.of(InetAddress.getLoopbackAddress()));
      pool.resolveFailed(r, NXDOMAIN);
      assertThat(io.connects).isEmpty();
      assertThat(io.answerCount(r)).isEqualTo(1);
      assertNothingLeft();
    }

    @Test
    void timeoutWhileQueuedReleasesTheQueueSlot() {
      pool(1, 128);
      long t0 = now;
      Slot s = connectNew(A);
      Request r = allocate(A, 2 * SECOND);
      Request r2 = allocate(A);
      assertStats(1, 0, 1, 0, 2);
      now = t0 + 2 * SECOND;
      pool.expire();
      assertFailed(r, Failure.TIMEOUT);
      assertThat(io.abandoned).isEmpty();
      assertStats(1, 0, 1, 0, 1);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r2, FromCache.DEFERRED, s);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertStats(1, 1, 0, 0, 0);
      assertThat(pool.trackedCount()).isZero();
      pool.idleActivity(s, false);
      assertNothingLeft();
    }

    @Test
    void timeoutWhileConnectingClosesTheSocketAndServesTheNextWaiter() {
      pool(1, 128);
      long t0 = now;
      Request r1 = allocate(A, 3 * SECOND);
      Slot s1 = io.lastConnect();
      now += SECOND;
      Request r2 = allocate(A);
      assertStats(1, 0, 0, 1, 1);
      now = t0 + 3 * SECOND;
      pool.expire();
      assertFailed(r1, Failure.TIMEOUT);
      assertThat(io.closed).containsEntry(s1, false);
      assertThat(s1.state).isEqualTo(Slot.State.CLOSED);
      assertThat(io.connects).hasSize(2);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r2);
      assertStats(1, 0, 0, 1, 0);

      // the late outcome of the abandoned connect is ignored
      pool.connected(s1);
      pool.connectFailed(s1, REFUSED);
      assertThat(io.answerCount(r1)).isEqualTo(1);
      assertStats(1, 0, 0, 1, 0);

      Slot s2 = io.lastConnect();
      pool.connected(s2);
      assertAnswered(r2, FromCache.NEW, s2);
      pool.giveBack(s2, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void timeoutsOfEveryPhaseAtOnceLeaveNothingBehind() {
      pool(1, 128);
      Request resolving = allocate(NAMED);
      Request connecting = allocate(A);
      Request queued = allocate(A);
      now += TIMEOUT;
      pool.expire();
      assertFailed(resolving, Failure.TIMEOUT);
      assertFailed(connecting, Failure.TIMEOUT);
      assertFailed(queued, Failure.TIMEOUT);
      assertThat(io.abandoned).containsExactly(resolving);
      assertThat(io.connects)
          .as("the queued one does not connect when it times out")
          .hasSize(1);
      assertNothingLeft();
    }

    @Test
    void requestTimeoutDefaultsToTheManagers() {
      pool(4, 128);
      long t0 = now;
      Request r = allocate(NAMED, -1);
      assertThat(pool.nextDeadline()).isEqualTo(t0 + TIMEOUT);
      now = t0 + TIMEOUT - 1;
      pool.expire();
      assertUnanswered(r);
      now = t0 + TIMEOUT;
      pool.expire();
      assertFailed(r, Failure.TIMEOUT);
      assertNothingLeft();
    }

    @Test
    void aHugeTimeoutDoesNotOverflow() {
      pool = new Pool(4, 128, Long.MAX_VALUE, Long.MAX_VALUE, () -> now, io);
      Request r = allocate(A, Long.MAX_VALUE);
      now += 365L * 24 * 3600 * SECOND;
      pool.expire();
      assertUnanswered(r);
      assertThat(pool.nextDeadline()).isGreaterThan(now);
      pool.connected(io.lastConnect());
      pool.giveBack(io.lastConnect(), Pool.Disposal.POOL);
      now += 365L * 24 * 3600 * SECOND;
      pool.expire();
      assertStats(1, 1, 0, 0, 0);
    }
  }

  // ---- cancel ----

  @Nested
  class Cancel {
    @Test
    void cancelWhileResolving() {
      pool(4, 128);
      Request r = allocate(NAMED);
      assertThat(pool.cancel(r.id)).isTrue();
      assertThat(io.abandoned).containsExactly(r);
      assertThat(r.phase).isEqualTo(Request.Phase.CANCELLED);
      assertThat(pool.cancel(r.id)).isFalse();
      assertNothingLeft();
      pool.resolved(r, List.of(InetAddress.getLoopbackAddress()));
      pool.resolveFailed(r, NXDOMAIN);
      now += 2 * TIMEOUT;
      pool.expire();
      assertThat(io.connects).isEmpty();
      assertUnanswered(r);
      assertNothingLeft();
    }

    @Test
    void cancelWhileQueued() {
      pool(1, 128);
      Slot s = connectNew(A);
      Request r = allocate(A);
      Request r2 = allocate(A);
      assertThat(pool.cancel(r.id)).isTrue();
      assertThat(pool.cancel(r.id)).isFalse();
      assertStats(1, 0, 1, 0, 1);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertUnanswered(r);
      assertAnswered(r2, FromCache.DEFERRED, s);
      assertThat(pool.cancel(r2.id)).as("already answered").isFalse();
      pool.giveBack(s, Pool.Disposal.CLOSE);
      now += 2 * TIMEOUT;
      pool.expire();
      assertUnanswered(r);
      assertNothingLeft();
    }

    @Test
    void cancelOfTheOnlyWaiterLeavesTheSocketIdle() {
      pool(1, 128);
      Slot s = connectNew(A);
      Request r = allocate(A);
      assertThat(pool.cancel(r.id)).isTrue();
      pool.giveBack(s, Pool.Disposal.POOL);
      assertUnanswered(r);
      assertStats(1, 1, 0, 0, 0);
      assertThat(pool.trackedCount()).isZero();
      assertThat(pool.keyCount()).isEqualTo(1);
    }

    @Test
    void cancelWhileConnectingClosesTheSocketAndServesTheNextWaiter() {
      pool(1, 128);
      Request r = allocate(A);
      Slot s = io.lastConnect();
      Request r2 = allocate(A);
      assertThat(pool.cancel(r.id)).isTrue();
      assertThat(io.closed).containsEntry(s, false);
      assertThat(io.connects).hasSize(2);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r2);
      pool.connected(s); // too late: ignored
      assertUnanswered(r);
      assertStats(1, 0, 0, 1, 0);
      assertThat(pool.cancel(r.id)).isFalse();

      assertThat(pool.cancel(r2.id)).isTrue();
      pool.connectFailed(io.lastConnect(), REFUSED);
      assertUnanswered(r2);
      assertNothingLeft();
    }

    @Test
    void cancelOfUnknownOrAnsweredIdsIsFalse() {
      pool(4, 128);
      assertThat(pool.cancel(12345)).isFalse();
      Slot s = connectNew(A); // request #1, answered NEW
      assertThat(pool.cancel(1)).isFalse();
      pool.giveBack(s, Pool.Disposal.POOL);
      Request r = allocate(A); // IMMEDIATE
      assertThat(pool.cancel(r.id)).isFalse();
      Request failed = allocate(NAMED);
      pool.resolveFailed(failed, NXDOMAIN);
      assertFailed(failed, NXDOMAIN);
      assertThat(pool.cancel(failed.id)).isFalse();
      assertThat(io.answers).hasSize(3);
      assertStats(1, 0, 1, 0, 0);
    }

    @Test
    void cancelReleasesAMaxOpenSlot() {
      pool(4, 1);
      Slot a = connectNew(A);
      Request rb = allocate(B);
      Request rc = allocate(C);
      assertThat(pool.cancel(rb.id)).isTrue();
      pool.giveBack(a, Pool.Disposal.CLOSE);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(rc);
      assertUnanswered(rb);
    }

    @Test
    void cancelAfterShutdownIsFalse() {
      pool(4, 128);
      Request r = allocate(A);
      pool.shutdown();
      assertFailed(r, Failure.SHUTDOWN);
      assertThat(pool.cancel(r.id)).isFalse();
    }
  }

  // ---- failures ----

  @Nested
  class Failures {
    @Test
    void connectFailureAnswersTheFailureAndServesTheNextWaiter() {
      pool(1, 128);
      Request r1 = allocate(A);
      Request r2 = allocate(A);
      Slot s1 = io.lastConnect();
      pool.connectFailed(s1, REFUSED);
      assertFailed(r1, REFUSED);
      assertThat(io.closed).containsKey(s1);
      assertThat(s1.state).isEqualTo(Slot.State.CLOSED);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r2);
      assertStats(1, 0, 0, 1, 0);
      pool.connectFailed(s1, REFUSED); // twice: ignored
      assertThat(io.answerCount(r1)).isEqualTo(1);
      pool.connectFailed(io.lastConnect(), REFUSED);
      assertFailed(r2, REFUSED);
      assertNothingLeft();
    }

    @Test
    void connectFailureAtMaxOpenServesAWaiterOfAnotherKey() {
      pool(4, 1);
      Request ra = allocate(A);
      Request rb = allocate(B);
      pool.connectFailed(io.lastConnect(), REFUSED);
      assertFailed(ra, REFUSED);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(rb);
      assertThat(pool.keyCount()).isEqualTo(1);
    }

    @Test
    void synchronousConnectFailureIsAnswered() {
      pool(4, 128);
      io.syncConnectFailures.add(NO_FDS);
      Request r = allocate(A);
      assertThat(io.connects).hasSize(1);
      Slot s = io.lastConnect();
      assertFailed(r, NO_FDS);
      assertThat(s.state).isEqualTo(Slot.State.CLOSED);
      assertThat(pool.cancel(r.id)).isFalse();
      pool.connected(s); // ignored
      assertThat(io.answerCount(r)).isEqualTo(1);
      assertNothingLeft();
    }

    @Test
    void synchronousConnectFailureServesTheNextWaiter() {
      pool(1, 128);
      Slot s = connectNew(A);
      Request r1 = allocate(A);
      Request r2 = allocate(A);
      io.syncConnectFailures.add(NO_FDS);
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertFailed(r1, NO_FDS);
      assertThat(io.connects).hasSize(3);
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r2);
      assertStats(1, 0, 0, 1, 0);
      pool.connected(io.lastConnect());
      assertAnswered(r2, FromCache.NEW, io.lastConnect());
      pool.giveBack(io.lastConnect(), Pool.Disposal.CLOSE);
      assertNothingLeft();
    }

    @Test
    void resolveFailureAnswersAndLeavesNothing() {
      pool(4, 128);
      Request r = allocate(NAMED);
      pool.resolveFailed(r, NXDOMAIN);
      assertFailed(r, NXDOMAIN);
      assertThat(io.abandoned).isEmpty();
      assertNothingLeft();
      pool.resolved(r, List.of(InetAddress.getLoopbackAddress())); // ignored
      assertThat(io.connects).isEmpty();
    }

    @Test
    void resolvedRequestIsQueuedAndConnected() {
      pool(1, 128);
      Slot s = null;
      Request r1 = allocate(NAMED);
      Request r2 = allocate(NAMED);
      assertThat(io.resolves).containsExactly(r1, r2);
      assertStats(0, 0, 0, 0, 2);
      pool.resolved(r2, List.of(InetAddress.getLoopbackAddress()));
      assertThat(io.connectedFor.get(io.lastConnect())).isSameAs(r2);
      s = io.lastConnect();
      pool.resolved(r1, List.of(InetAddress.getLoopbackAddress()));
      assertThat(r1.phase).isEqualTo(Request.Phase.QUEUED);
      assertStats(1, 0, 0, 1, 1);
      pool.connected(s);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertAnswered(r1, FromCache.DEFERRED, s);
      pool.giveBack(s, Pool.Disposal.CLOSE);
      assertNothingLeft();
    }
  }

  // ---- shutdown ----

  @Nested
  class Shutdown {
    @Test
    void shutdownAnswersEveryTrackedRequestOnceInIdOrderAndClosesIdleSockets() {
      pool(1, 128);
      Slot idleA = connectNew(A); // #1
      Slot leasedB = connectNew(B); // #2
      pool.giveBack(idleA, Pool.Disposal.POOL);
      // ids deliberately not in arrival order
      Request queued = Requests.of(30, B, -1);
      Request connecting = Requests.of(10, C, -1);
      Request resolving = Requests.of(20, NAMED, -1);
      requests.addAll(List.of(queued, connecting, resolving));
      pool.allocate(queued);
      pool.allocate(connecting);
      pool.allocate(resolving);
      Slot sc = io.lastConnect();
      assertThat(queued.phase).isEqualTo(Request.Phase.QUEUED);
      assertThat(connecting.phase).isEqualTo(Request.Phase.CONNECTING);
      assertThat(resolving.phase).isEqualTo(Request.Phase.RESOLVING);
      int answeredBefore = io.answers.size();

      pool.shutdown();
      assertThat(pool.isShutdown()).isTrue();
      assertThat(io.answeredIds().subList(answeredBefore, io.answers.size()))
          .containsExactly(10L, 20L, 30L);
      assertFailed(queued, Failure.SHUTDOWN);
      assertFailed(connecting, Failure.SHUTDOWN);
      assertFailed(resolving, Failure.SHUTDOWN);
      assertThat(io.abandoned).containsExactly(resolving);
      assertThat(io.closed).containsOnlyKeys(idleA, sc);
      assertThat(leasedB.state).isEqualTo(Slot.State.LEASED);
      assertStats(1, 0, 1, 0, 0);
      assertThat(pool.trackedCount()).isZero();
      assertThat(pool.keyCount()).isEqualTo(1);

      // late I/O outcomes are ignored
      pool.connected(sc);
      pool.resolved(resolving, List.of(InetAddress.getLoopbackAddress()));
      pool.shutdown();
      assertThat(io.answers).hasSize(answeredBefore + 3);

      // the leased socket is closed when given back, not pooled
      pool.giveBack(leasedB, Pool.Disposal.POOL);
      assertThat(io.closed).containsEntry(leasedB, false);
      assertThat(io.watched).containsExactly(idleA);
      assertThat(io.connects).hasSize(3);
      assertNothingLeft();

      // later requests are answered at once
      Request late = allocate(A);
      assertFailed(late, Failure.SHUTDOWN);
      assertThat(io.connects).hasSize(3);
      assertNothingLeft();
    }

    @Test
    void shutdownOfAnEmptyPool() {
      pool(4, 128);
      pool.shutdown();
      assertNothingLeft();
      assertThat(io.log).isEmpty();
    }

    @Test
    void seed12ShutdownWhileAConnectionIsHeld() {
      pool(4, 128);
      Slot s = connectNew(A);
      pool.shutdown();
      assertStats(1, 0, 1, 0, 0);
      pool.idleActivity(s, false); // not idle: ignored
      pool.giveBack(s, Pool.Disposal.RESET);
      assertThat(io.closed).containsEntry(s, true);
      assertNothingLeft();
    }

    @Test
    void afterShutdownAReleaseDoesNotServeAnyone() {
      pool(1, 128);
      Slot s = connectNew(A);
      Request r = allocate(A);
      pool.shutdown();
      assertFailed(r, Failure.SHUTDOWN);
      pool.giveBack(s, Pool.Disposal.POOL);
      assertThat(io.answerCount(r)).isEqualTo(1);
      assertThat(io.connects).hasSize(1);
      assertNothingLeft();
    }
  }

  // ---- order under churn (deterministic pseudo-random, fixed seed) ----

  @Nested
  class OrderUnderChurn {
    @Test
    void deadlinesStayOrderedWhileRequestsLeaveFromTheMiddle() {
      pool(4, 128);
      java.util.Random random = new java.util.Random(42);
      List<Request> live = new ArrayList<>();
      Map<Request, Long> deadline = new HashMap<>();
      for (int step = 0; step < 3000; step++) {
        int what = random.nextInt(10);
        if (live.size() < 5 || what < 5 && live.size() < 80) {
          PoolKey key =
              new PoolKey("http", "h" + random.nextInt(7) + ".example", 80, null, null, 0);
          long timeout = (1 + random.nextInt(1000)) * SECOND;
          Request r = allocate(key, timeout);
          live.add(r);
          deadline.put(r, now + timeout);
        } else if (what < 9) {
          Request r = live.remove(random.nextInt(live.size()));
          assertThat(pool.cancel(r.id)).isTrue();
        } else {
          now = pool.nextDeadline();
          pool.expire();
          List<Request> due = live.stream().filter(r -> deadline.get(r) <= now).toList();
          assertThat(due).isNotEmpty();
          for (Request r : due) {
            assertFailed(r, Failure.TIMEOUT);
          }
          live.removeAll(due);
        }
        long expected = live.stream().mapToLong(deadline::get).min().orElse(Long.MAX_VALUE);
        assertThat(pool.nextDeadline()).as("step %d", step).isEqualTo(expected);
        assertThat(pool.trackedCount()).isEqualTo(live.size());
      }
      for (Request r : live) {
        assertUnanswered(r);
        assertThat(pool.cancel(r.id)).isTrue();
      }
      assertNothingLeft();
    }

    @Test
    void queueOrderSurvivesCancellationsAcrossManyKeys() {
      pool(1, 1);
      Slot blocker = connectNew(A);
      java.util.Random random = new java.util.Random(7);
      List<Request> waiting = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        waiting.add(allocate(literalKey("10.1.0." + (1 + random.nextInt(12)))));
      }
      for (int i = 0; i < 25; i++) {
        Request r = waiting.remove(random.nextInt(waiting.size()));
        assertThat(pool.cancel(r.id)).isTrue();
      }
      assertStats(1, 0, 1, 0, waiting.size());
      pool.giveBack(blocker, Pool.Disposal.CLOSE);
      List<Request> served = new ArrayList<>();
      while (true) {
        Slot s = io.lastConnect();
        if (s.state != Slot.State.CONNECTING) {
          break;
        }
        served.add(io.connectedFor.get(s));
        pool.connectFailed(s, REFUSED);
      }
      assertThat(served).containsExactlyElementsOf(waiting);
      assertNothingLeft();
    }
  }

  // ---- bookkeeping ----

  @Nested
  class Bookkeeping {
    @Test
    void hostsAreForgottenWhenNothingRefersToThem() {
      pool(2, 3);
      Slot a = connectNew(A);
      Slot b = connectNew(B);
      assertThat(pool.keyCount()).isEqualTo(2);
      pool.giveBack(a, Pool.Disposal.CLOSE);
      assertThat(pool.keyCount()).isEqualTo(1);
      pool.giveBack(b, Pool.Disposal.POOL);
      assertThat(pool.keyCount()).isEqualTo(1);
      Request named = allocate(NAMED);
      assertThat(pool.keyCount()).isEqualTo(2);
      assertThat(pool.cancel(named.id)).isTrue();
      assertThat(pool.keyCount()).isEqualTo(1);
      now += KEEP_ALIVE;
      pool.expire();
      assertNothingLeft();
    }

    @Test
    void statsCountEveryPhase() {
      pool(1, 3);
      Slot a = connectNew(A);
      Slot b = connectNew(B);
      pool.giveBack(b, Pool.Disposal.POOL);
      allocate(NAMED); // resolving: pending
      allocate(A); // queued: pending
      allocate(C); // connecting
      PoolStats st = pool.stats();
      assertThat(st).isEqualTo(new PoolStats(3, 1, 1, 1, 2));
      assertThat(st.open()).isEqualTo(st.idle() + st.leased() + st.connecting());
      assertThat(pool.trackedCount()).isEqualTo(3);
      assertThat(pool.keyCount()).isEqualTo(4);
      pool.shutdown();
      pool.giveBack(a, Pool.Disposal.POOL);
      assertNothingLeft();
    }

    @Test
    void everyScenarioEndsClean() {
      pool(2, 3);
      Set<Request> seen = new HashSet<>();
      for (int round = 0; round < 3; round++) {
        Slot a = connectNew(A);
        Request ra = allocate(A);
        Request rb = allocate(B);
        Request rc = allocate(C, SECOND);
        Request rn = allocate(NAMED, 2 * SECOND);
        pool.connected(io.connectedFor.entrySet().stream()
            .filter(e -> e.getValue() == rb)
            .findFirst()
            .orElseThrow()
            .getKey());
        Slot sb = rb.slot;
        pool.giveBack(sb, Pool.Disposal.POOL);
        now += 3 * SECOND;
        pool.expire();
        pool.giveBack(a, Pool.Disposal.POOL);
        seen.addAll(List.of(ra, rb, rc, rn));
        for (Slot s : new ArrayList<>(io.connects)) {
          if (s.state == Slot.State.CONNECTING) {
            pool.connectFailed(s, REFUSED);
          } else if (s.state == Slot.State.LEASED) {
            pool.giveBack(s, Pool.Disposal.POOL);
          }
        }
        now += KEEP_ALIVE;
        pool.expire();
        assertNothingLeft();
      }
      Map<Long, Integer> counts = new HashMap<>();
      io.answers.forEach(x -> counts.merge(x.request.id, 1, Integer::sum));
      assertThat(counts.values()).containsOnly(1);
    }
  }
}
