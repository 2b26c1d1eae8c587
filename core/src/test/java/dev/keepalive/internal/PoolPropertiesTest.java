package dev.keepalive.internal;

import static dev.keepalive.internal.IoFailures.NO_FDS;
import static dev.keepalive.internal.IoFailures.REFUSED;

import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;

/**
 * Random sequences of operations against the {@link Pool}, driven through a fake {@link Pool.Io}
 * that keeps its own model of every socket and request and checks the pool's invariants at every
 * I/O call and after every step.
 */
class PoolPropertiesTest {
  static final long UNIT = 1_000_000L; // 1 ms of clock nanos
  static final long KEEP_ALIVE = 10 * UNIT;
  static final long DEFAULT_TIMEOUT = 25 * UNIT;
  static final PoolKey[] KEYS = {
    new PoolKey("http", "10.0.0.1", 80, null, null, 0),
    new PoolKey("http", "10.0.0.2", 80, null, null, 0),
    new PoolKey("http", "10.0.0.3", 8080, null, null, 0),
    new PoolKey("http", "::1", 80, null, null, 0),
  };

  enum Kind {
    ALLOCATE,
    CONNECTED,
    CONNECT_FAIL,
    SYNC_FAIL_NEXT,
    RELEASE_POOL,
    RELEASE_CLOSE,
    RELEASE_RESET,
    DIRTY,
    IDLE_ACTIVITY,
    CANCEL,
    ADVANCE,
    SHUTDOWN
  }

  /** One step; {@code a} and {@code b} pick its target and details among what exists then. */
  record Op(Kind kind, int a, int b) {
    @Override
    public String toString() {
      return kind + "(" + a + "," + b + ")";
    }
  }

  /**
   * @param expireBatch most idle sockets one expire() closes (1 and 2 leave expiry behind)
   * @param maxQueued most waiting requests (Integer.MAX_VALUE: unbounded)
   */
  record Config(int maxPerHost, int maxOpen, int keys, int expireBatch, int maxQueued) {}

  // ---- properties ----

  @Property(tries = 400, shrinking = ShrinkingMode.FULL, edgeCases = EdgeCasesMode.NONE)
  void poolInvariantsHold(@ForAll("configs") Config config, @ForAll("ops") List<Op> ops) {
    new Sim(config).run(ops);
  }

  @Property(tries = 300, shrinking = ShrinkingMode.FULL, edgeCases = EdgeCasesMode.NONE)
  void poolInvariantsHoldWithSynchronousConnectFailures(
      @ForAll("configs") Config config, @ForAll("opsWithSyncFailures") List<Op> ops) {
    new Sim(config).run(ops);
  }

  @Provide
  Arbitrary<Config> configs() {
    return Combinators.combine(
            Arbitraries.integers().between(1, 3),
            Arbitraries.integers().between(1, 5),
            Arbitraries.integers().between(1, KEYS.length),
            Arbitraries.of(1, 2, Pool.DEFAULT_EXPIRE_BATCH),
            Arbitraries.of(0, 1, 3, Integer.MAX_VALUE, Integer.MAX_VALUE))
        .as(Config::new);
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    return opList(false);
  }

  @Provide
  Arbitrary<List<Op>> opsWithSyncFailures() {
    return opList(true);
  }

  private static Arbitrary<List<Op>> opList(boolean syncFailures) {
    Arbitrary<Kind> kind = Arbitraries.frequencyOf(
        Tuple.of(26, Arbitraries.just(Kind.ALLOCATE)),
        Tuple.of(18, Arbitraries.just(Kind.CONNECTED)),
        Tuple.of(4, Arbitraries.just(Kind.CONNECT_FAIL)),
        Tuple.of(syncFailures ? 4 : 0, Arbitraries.just(Kind.SYNC_FAIL_NEXT)),
        Tuple.of(20, Arbitraries.just(Kind.RELEASE_POOL)),
        Tuple.of(3, Arbitraries.just(Kind.RELEASE_CLOSE)),
        Tuple.of(2, Arbitraries.just(Kind.RELEASE_RESET)),
        Tuple.of(3, Arbitraries.just(Kind.DIRTY)),
        Tuple.of(3, Arbitraries.just(Kind.IDLE_ACTIVITY)),
        Tuple.of(5, Arbitraries.just(Kind.CANCEL)),
        Tuple.of(6, Arbitraries.just(Kind.ADVANCE)),
        Tuple.of(1, Arbitraries.just(Kind.SHUTDOWN)));
    Arbitrary<Op> op = Combinators.combine(
            kind, Arbitraries.integers().between(0, 99), Arbitraries.integers().between(0, 99))
        .as(Op::new);
    return op.list().ofMinSize(1).ofMaxSize(80).withSizeDistribution(RandomDistribution.uniform());
  }

  // ---- the simulation ----

  /** The model's view of one request. */
  static final class MReq {
    static final int WAITING = 0;
    static final int CONNECTING = 1;
    static final int ANSWERED = 2;
    static final int CANCELLED = 3;

    final Request r;
    final int arrival;
    final long deadline;
    int state = WAITING;
    MSock socket;
    int answers;
    boolean connectAborted;

    MReq(Request r, int arrival, long deadline) {
      this.r = r;
      this.arrival = arrival;
      this.deadline = deadline;
    }

    PoolKey key() {
      return r.key;
    }

    @Override
    public String toString() {
      return "#" + r.id + "(" + r.key + ")";
    }
  }

  /** The model's view of one socket; states are Slot's. */
  static final class MSock {
    final Slot s;
    final String name;
    Slot.State state = Slot.State.CONNECTING;
    MReq holder;
    long idleSince;
    boolean dirty;
    boolean syncFailed;
    boolean disposed;

    MSock(Slot s, String name) {
      this.s = s;
      this.name = name;
    }

    /** Its key: its owner's. */
    PoolKey key() {
      return s.owner.key;
    }

    @Override
    public String toString() {
      return name + "(" + key() + ")";
    }
  }

  /** Plays the I/O side, keeps the reference model and checks the pool against it. */
  static final class Sim implements Pool.Io {
    final Config config;
    final Pool pool;
    long now = 5_000 * UNIT;

    final Map<Slot, MSock> socks = new IdentityHashMap<>();
    final List<MSock> sockList = new ArrayList<>();
    final Map<Request, MReq> reqs = new IdentityHashMap<>();
    final List<MReq> reqList = new ArrayList<>();
    final List<Long> shutdownAnswers = new ArrayList<>();
    final List<String> trace = new ArrayList<>();

    // what the current step is doing
    Kind phase;
    /** Idle sockets closed during the current step. */
    int idleClosed;

    MSock target;
    MReq allocating;
    boolean syncFailArmed;
    boolean resetRequested;

    Sim(Config config) {
      this.config = config;
      this.pool = new Pool(
          config.maxPerHost(),
          config.maxOpen(),
          KEEP_ALIVE,
          DEFAULT_TIMEOUT,
          config.expireBatch(),
          Pool.Options.NONE.maxQueued(config.maxQueued()),
          () -> now,
          this);
    }

    void check(boolean ok, String what, Object... args) {
      if (!ok) {
        throw new AssertionError(String.format(what, args) + "\n  config " + config
            + "\n  trace:\n    " + String.join("\n    ", trace));
      }
    }

    // ---- driving ----

    void run(List<Op> ops) {
      for (Op op : ops) {
        step(op);
        checkInvariants();
      }
      // the end: shut down, give everything back, and nothing may be left
      if (!pool.isShutdown()) {
        step(new Op(Kind.SHUTDOWN, 0, 0));
        checkInvariants();
      }
      int i = 0;
      for (MSock ms : new ArrayList<>(sockList)) {
        if (ms.state == Slot.State.LEASED) {
          step(new Op(
              i++ % 2 == 0 ? Kind.RELEASE_POOL : Kind.RELEASE_CLOSE,
              live(Slot.State.LEASED).indexOf(ms),
              0));
          checkInvariants();
        }
      }
      for (MReq mr : reqList) {
        if (mr.state == MReq.CANCELLED) {
          check(mr.answers == 0, "cancelled %s was answered", mr);
        } else {
          check(
              mr.answers == 1 && mr.state == MReq.ANSWERED,
              "%s answered %d times, model state %d",
              mr,
              mr.answers,
              mr.state);
        }
      }
      for (MSock ms : sockList) {
        check(ms.state == Slot.State.CLOSED, "%s leaked in state %d", ms, ms.state);
      }
      check(pool.stats().equals(new PoolStats(0, 0, 0, 0, 0)), "left over: %s", pool.stats());
      check(pool.keyCount() == 0, "hostCount %d at the end", pool.keyCount());
      check(pool.trackedCount() == 0, "trackedCount %d at the end", pool.trackedCount());
      check(pool.nextDeadline() == Long.MAX_VALUE, "a deadline left at the end");
    }

    List<MSock> live(Slot.State state) {
      List<MSock> out = new ArrayList<>();
      for (MSock ms : sockList) {
        if (ms.state == state) {
          out.add(ms);
        }
      }
      return out;
    }

    MSock pick(Slot.State state, int a) {
      List<MSock> l = live(state);
      return l.isEmpty() ? null : l.get(a % l.size());
    }

    void step(Op op) {
      phase = op.kind();
      idleClosed = 0;
      target = null;
      try {
        switch (op.kind()) {
          case ALLOCATE: {
            PoolKey key = KEYS[op.a() % config.keys()];
            long timeout = op.b() < 40 ? -1 : (op.b() % 30 + 1) * UNIT;
            int n = reqList.size();
            long id = 1 + (n * 7919L) % 100_003; // unique, not in arrival order
            Request r = Requests.of(id, key, timeout);
            MReq mr = new MReq(r, n, now + (timeout > 0 ? timeout : DEFAULT_TIMEOUT));
            reqs.put(r, mr);
            reqList.add(mr);
            trace.add("allocate " + mr + (timeout > 0 ? " timeout " + timeout / UNIT : ""));
            allocating = mr;
            pool.allocate(r);
            check(
                mr.state != MReq.WAITING || r.phase == Request.Phase.QUEUED,
                "%s neither answered, connecting nor queued: state %d",
                mr,
                r.phase);
            break;
          }
          case CONNECTED:
          case CONNECT_FAIL: {
            target = pick(Slot.State.CONNECTING, op.a());
            if (target == null) {
              return;
            }
            MReq mr = target.holder;
            boolean ok = op.kind() == Kind.CONNECTED;
            trace.add((ok ? "connected " : "connectFailed ") + target + " for " + mr);
            if (ok) {
              pool.connected(target.s);
            } else {
              pool.connectFailed(target.s, REFUSED);
            }
            // answered: with the socket, or with the failure and the socket closed
            check(
                mr.state == MReq.ANSWERED
                    && target.state == (ok ? Slot.State.LEASED : Slot.State.CLOSED),
                ok
                    ? "connected %s but %s was not answered with it"
                    : "connect of %s failed but %s was not answered / socket not closed",
                target,
                mr);
            break;
          }
          case SYNC_FAIL_NEXT:
            trace.add("the next connect fails at once");
            syncFailArmed = true;
            break;
          case RELEASE_POOL:
          case RELEASE_CLOSE:
          case RELEASE_RESET: {
            target = pick(Slot.State.LEASED, op.a());
            if (target == null) {
              return;
            }
            Pool.Disposal d = op.kind() == Kind.RELEASE_POOL
                ? Pool.Disposal.POOL
                : op.kind() == Kind.RELEASE_CLOSE ? Pool.Disposal.CLOSE : Pool.Disposal.RESET;
            trace.add("release " + target + " " + d + " (held by " + target.holder + ")");
            resetRequested = d == Pool.Disposal.RESET;
            target.disposed = false;
            pool.giveBack(target.s, d);
            check(target.disposed, "release of %s neither pooled nor closed it", target);
            check(
                d == Pool.Disposal.POOL && !pool.isShutdown() || target.state == Slot.State.CLOSED,
                "%s released with %s but not closed",
                target,
                d);
            break;
          }
          case DIRTY: {
            MSock ms = pick(Slot.State.IDLE, op.a());
            if (ms != null) {
              trace.add("data arrives unnoticed on idle " + ms);
              ms.dirty = true;
            }
            break;
          }
          case IDLE_ACTIVITY: {
            target = pick(Slot.State.IDLE, op.a());
            if (target == null) {
              return;
            }
            resetRequested = op.b() % 2 == 0;
            trace.add("activity on idle " + target + (resetRequested ? " (data)" : " (eof)"));
            pool.idleActivity(target.s, resetRequested);
            check(target.state == Slot.State.CLOSED, "idle activity left %s open", target);
            break;
          }
          case CANCEL: {
            long id;
            MReq mr = null;
            if (op.a() >= 90 || reqList.isEmpty()) {
              id = 1_000_000 + op.a(); // unknown
            } else {
              mr = reqList.get(op.a() % reqList.size());
              id = mr.r.id;
            }
            boolean expected =
                mr != null && (mr.state == MReq.WAITING || mr.state == MReq.CONNECTING);
            MSock connecting = mr != null && mr.state == MReq.CONNECTING ? mr.socket : null;
            trace.add("cancel " + (mr == null ? "#" + id : mr.toString()) + " expect " + expected);
            boolean got = pool.cancel(id);
            check(got == expected, "cancel(%d) returned %s, expected %s", id, got, expected);
            if (got) {
              check(mr.answers == 0, "%s answered while being cancelled", mr);
              mr.state = MReq.CANCELLED;
              check(
                  mr.r.phase == Request.Phase.CANCELLED,
                  "cancelled %s in pool state %d",
                  mr,
                  mr.r.phase);
              if (connecting != null) {
                check(
                    connecting.state == Slot.State.CLOSED,
                    "cancel of %s left its socket %s open",
                    mr,
                    connecting);
              }
            }
            break;
          }
          case ADVANCE: {
            long by = (op.a() % 12 + 1) * UNIT;
            now += by;
            trace.add("advance " + by / UNIT + " -> expire");
            pool.expire();
            for (MSock ms : live(Slot.State.IDLE)) {
              // a batch at most per expire(): the rest waits for the next one
              check(
                  ms.idleSince + KEEP_ALIVE - now > 0 || idleClosed >= config.expireBatch(),
                  "%s idle since %d survived expire() at %d, which closed %d",
                  ms,
                  ms.idleSince,
                  now,
                  idleClosed);
            }
            for (MReq mr : reqList) {
              if (mr.state == MReq.WAITING || mr.state == MReq.CONNECTING) {
                check(mr.deadline - now > 0, "%s past its deadline survived expire()", mr);
              }
            }
            break;
          }
          case SHUTDOWN: {
            trace.add("shutdown");
            boolean first = !pool.isShutdown();
            List<Long> pending = new ArrayList<>();
            for (MReq mr : reqList) {
              if (mr.state == MReq.WAITING || mr.state == MReq.CONNECTING) {
                pending.add(mr.r.id);
              }
            }
            pending.sort(null);
            shutdownAnswers.clear();
            pool.shutdown();
            check(pool.isShutdown(), "not shut down");
            if (first) {
              check(
                  shutdownAnswers.equals(pending),
                  "shutdown answered %s, expected every pending request once in id order: %s",
                  shutdownAnswers,
                  pending);
            } else {
              check(shutdownAnswers.isEmpty(), "a second shutdown answered %s", shutdownAnswers);
            }
            check(live(Slot.State.IDLE).isEmpty(), "idle sockets survived shutdown");
            check(live(Slot.State.CONNECTING).isEmpty(), "connecting sockets survived shutdown");
            break;
          }
          default:
            throw new IllegalStateException();
        }
      } finally {
        allocating = null;
        target = null;
        phase = null;
      }
    }

    // ---- invariants ----

    int active(PoolKey key) {
      int n = 0;
      for (MSock ms : sockList) {
        if (ms.key().equals(key)
            && (ms.state == Slot.State.CONNECTING || ms.state == Slot.State.LEASED)) {
          n++;
        }
      }
      return n;
    }

    void checkLimits(PoolKey key) {
      int open = 0;
      for (MSock ms : sockList) {
        if (ms.state != Slot.State.CLOSED) {
          open++;
        }
      }
      check(open <= config.maxOpen(), "%d sockets open, maxOpen %d", open, config.maxOpen());
      int a = active(key);
      check(
          a <= config.maxPerHost(),
          "%d sockets active for %s, maxPerHost %d",
          a,
          key,
          config.maxPerHost());
    }

    /**
     * The reference queue: {@code mr} may leave the queue (connect or DEFERRED) only when no
     * older request is waiting that could proceed: any older waiter must be of another key, and
     * that key must be at its maxPerHost limit.
     */
    void checkFifo(MReq mr) {
      for (MReq q : reqList) {
        if (q.arrival >= mr.arrival) {
          break;
        }
        if (q.state != MReq.WAITING) {
          continue;
        }
        check(!q.key().equals(mr.key()), "%s served before the older %s of the same key", mr, q);
        check(
            active(q.key()) >= config.maxPerHost(),
            "%s served before the older %s whose key is below its limit (%d active)",
            mr,
            q,
            active(q.key()));
      }
    }

    /** The pool's counts of one key are the model's. */
    void checkKeyStats(PoolKey key) {
      int idle = 0;
      int leased = 0;
      int connecting = 0;
      int waiting = 0;
      for (MSock ms : sockList) {
        if (ms.key().equals(key)) {
          switch (ms.state) {
            case IDLE -> idle++;
            case LEASED -> leased++;
            case CONNECTING -> connecting++;
            default -> {}
          }
        }
      }
      for (MReq mr : reqList) {
        if (mr.state == MReq.WAITING && mr.key().equals(key)) {
          waiting++;
        }
      }
      PoolStats expected =
          new PoolStats(idle + leased + connecting, idle, leased, connecting, waiting);
      PoolStats st = pool.stats(key);
      check(st.equals(expected), "stats of %s %s, model %s", key, st, expected);
    }

    int waitingCount() {
      int n = 0;
      for (MReq mr : reqList) {
        if (mr.state == MReq.WAITING) {
          n++;
        }
      }
      return n;
    }

    void checkInvariants() {
      int idle = 0;
      int leased = 0;
      int connecting = 0;
      Set<PoolKey> liveKeys = new HashSet<>();
      for (MSock ms : sockList) {
        check(
            ms.s.state == ms.state, "%s: pool state %d, model state %d", ms, ms.s.state, ms.state);
        switch (ms.state) {
          case IDLE -> idle++;
          case LEASED -> leased++;
          case CONNECTING -> connecting++;
          default -> {}
        }
        if (ms.state != Slot.State.CLOSED) {
          liveKeys.add(ms.key());
          checkLimits(ms.key());
        }
      }
      int waiting = 0;
      int tracked = 0;
      long next = Long.MAX_VALUE;
      for (MReq mr : reqList) {
        if (mr.state == MReq.WAITING || mr.state == MReq.CONNECTING) {
          tracked++;
          liveKeys.add(mr.key());
          next = Math.min(next, mr.deadline);
        }
        if (mr.state == MReq.WAITING) {
          waiting++;
        }
        if (mr.connectAborted) {
          check(
              mr.state == MReq.ANSWERED || mr.state == MReq.CANCELLED,
              "the connect of %s was closed but it was neither answered nor cancelled",
              mr);
        }
        check(mr.answers <= 1, "%s answered %d times", mr, mr.answers);
      }
      for (MSock ms : live(Slot.State.IDLE)) {
        next = Math.min(next, ms.idleSince + KEEP_ALIVE);
      }
      check(waiting <= config.maxQueued(), "%d waiting, maxQueued %d", waiting, config.maxQueued());
      for (PoolKey key : KEYS) {
        checkKeyStats(key);
      }
      PoolStats expected =
          new PoolStats(idle + leased + connecting, idle, leased, connecting, waiting);
      PoolStats st = pool.stats();
      check(st.equals(expected), "stats %s, model %s", st, expected);
      check(st.open() == st.idle() + st.leased() + st.connecting(), "inconsistent stats %s", st);
      check(st.open() <= config.maxOpen(), "open %d > maxOpen", st.open());
      check(pool.open() == st.open(), "open() %d, stats %s", pool.open(), st);
      check(
          pool.trackedCount() == tracked,
          "trackedCount %d, model %d",
          pool.trackedCount(),
          tracked);
      check(
          pool.keyCount() == liveKeys.size(),
          "hostCount %d, keys in use %s",
          pool.keyCount(),
          liveKeys);
      check(pool.nextDeadline() == next, "nextDeadline %d, model %d", pool.nextDeadline(), next);
      // work conservation: a waiter that could proceed has been served
      for (MReq q : reqList) {
        if (q.state == MReq.WAITING) {
          boolean room = st.open() < config.maxOpen() || st.idle() > 0;
          check(
              !(active(q.key()) < config.maxPerHost() && room),
              "%s waits although its key is below its limit and there is room (%s)",
              q,
              st);
        }
      }
    }

    // ---- Pool.Io ----

    @Override
    public void resolve(Request r) {
      check(false, "resolve(%s) for a literal address", r);
    }

    @Override
    public void abandonResolve(Request r) {
      check(false, "abandonResolve(%s) for a literal address", r);
    }

    @Override
    public Failure connect(Slot s, Request r) {
      MReq mr = reqs.get(r);
      check(mr != null && mr.state == MReq.WAITING, "connect for %s, which is not waiting", mr);
      check(!pool.isShutdown(), "connect after shutdown for %s", mr);
      check(!socks.containsKey(s), "connect of a known socket");
      check(s.owner.key.equals(r.key), "socket of %s for %s", s.owner.key, r.key);
      checkFifo(mr);
      MSock ms = new MSock(s, "s" + (sockList.size() + 1));
      socks.put(s, ms);
      sockList.add(ms);
      ms.holder = mr;
      mr.state = MReq.CONNECTING;
      mr.socket = ms;
      trace.add("  io.connect " + ms + " for " + mr);
      checkLimits(r.key);
      if (syncFailArmed) {
        syncFailArmed = false;
        ms.syncFailed = true;
        trace.add("  (fails at once)");
        return NO_FDS;
      }
      return null;
    }

    @Override
    public boolean isClean(Slot s) {
      MSock ms = socks.get(s);
      check(ms != null && ms.state == Slot.State.IDLE, "isClean of %s, not idle", ms);
      return !ms.dirty;
    }

    @Override
    public void watchIdle(Slot s) {
      MSock ms = socks.get(s);
      check(
          ms != null
              && ms == target
              && ms.state == Slot.State.LEASED
              && (phase == Kind.RELEASE_POOL),
          "watchIdle of %s outside its release to the pool",
          ms);
      check(!pool.isShutdown(), "%s pooled after shutdown", ms);
      ms.state = Slot.State.IDLE;
      ms.idleSince = now;
      ms.holder = null;
      ms.dirty = false;
      ms.disposed = true;
      trace.add("  io.watchIdle " + ms);
    }

    @Override
    public void close(Slot s, boolean reset) {
      MSock ms = socks.get(s);
      check(ms != null, "close of an unknown socket");
      trace.add("  io.close " + ms + (reset ? " reset" : ""));
      switch (ms.state) {
        case CLOSED -> check(false, "%s closed twice", ms);
        case LEASED -> {
          check(
              ms == target && phase != null && phase.name().startsWith("RELEASE"),
              "%s closed by the pool while leased to %s",
              ms,
              ms.holder);
          check(reset == (phase == Kind.RELEASE_RESET), "release of %s: reset %s", ms, reset);
          ms.disposed = true;
        }
        case CONNECTING -> ms.holder.connectAborted = true;
        case IDLE -> {
          idleClosed++;
          if (ms == target && phase == Kind.IDLE_ACTIVITY) {
            check(reset == resetRequested, "idle activity on %s: reset %s", ms, reset);
          }
          boolean expired = ms.idleSince + KEEP_ALIVE - now <= 0; // closed unprobed, as expiry
          if (ms.dirty && !expired && phase == Kind.ALLOCATE && ms.key().equals(allocating.key())) {
            check(reset, "dirty %s closed without reset", ms);
          }
        }
        default -> check(false, "bad state");
      }
      ms.state = Slot.State.CLOSED;
      ms.holder = null;
    }

    @Override
    public void answer(Request r) {
      MReq mr = reqs.get(r);
      check(mr != null, "answer of an unknown request");
      mr.answers++;
      check(mr.answers == 1, "%s answered twice", mr);
      check(mr.state != MReq.CANCELLED, "cancelled %s answered", mr);
      check(
          mr.state == MReq.WAITING || mr.state == MReq.CONNECTING,
          "%s answered in state %d",
          mr,
          mr.state);
      check(r.phase == Request.Phase.ANSWERED, "%s answered in pool state %d", mr, r.phase);
      if (pool.isShutdown()) {
        shutdownAnswers.add(r.id);
      }
      Failure f = r.failure;
      if (f == null) {
        MSock ms = socks.get(r.slot);
        check(ms != null, "%s answered with an unknown socket", mr);
        check(ms.key().equals(mr.key()), "%s answered with %s of another key", mr, ms);
        check(!pool.isShutdown(), "%s answered with a socket after shutdown", mr);
        trace.add("  io.answer " + mr + " " + r.fromCache + " " + ms);
        switch (r.fromCache) {
          case NEW ->
            check(
                phase == Kind.CONNECTED
                    && ms == target
                    && ms.holder == mr
                    && mr.socket == ms
                    && ms.state == Slot.State.CONNECTING,
                "%s answered NEW with %s outside its connected()",
                mr,
                ms);
          case IMMEDIATE -> {
            check(
                phase == Kind.ALLOCATE && allocating == mr && ms.state == Slot.State.IDLE,
                "%s answered IMMEDIATE with %s (state %d) outside its allocate()",
                mr,
                ms,
                ms.state);
            for (MReq q : reqList) {
              check(
                  q == mr || q.state != MReq.WAITING || !q.key().equals(mr.key()),
                  "%s answered IMMEDIATE while the older %s of its key waits",
                  mr,
                  q);
            }
          }
          case DEFERRED -> {
            check(allocating != mr, "%s answered DEFERRED inside its own allocate()", mr);
            check(
                mr.state == MReq.WAITING && ms.state == Slot.State.IDLE,
                "%s answered DEFERRED with %s in state %d",
                mr,
                ms,
                ms.state);
            checkFifo(mr);
          }
          default -> check(false, "no fromCache");
        }
        check(!ms.dirty, "dirty %s handed out to %s", ms, mr);
        check(
            r.fromCache == FromCache.NEW || ms.idleSince + KEEP_ALIVE - now > 0,
            "%s handed out to %s past its keep-alive",
            ms,
            mr);
        ms.state = Slot.State.LEASED;
        ms.holder = mr;
        mr.socket = ms;
        mr.state = MReq.ANSWERED;
        checkLimits(ms.key());
        return;
      }
      trace.add("  io.answer " + mr + " " + f.functionName() + "/" + f.errorNum());
      check(r.slot == null, "%s failed but names a socket", mr);
      if (mr.state == MReq.CONNECTING) {
        check(
            mr.socket.state == Slot.State.CLOSED,
            "%s failed with its socket %s open",
            mr,
            mr.socket);
      }
      if (f.equals(Failure.TIMEOUT)) {
        check(phase == Kind.ADVANCE && now - mr.deadline >= 0, "%s timed out early", mr);
      } else if (f.equals(Failure.SHUTDOWN)) {
        check(pool.isShutdown(), "%s answered shutdown before shutdown", mr);
      } else if (f.equals(REFUSED)) {
        check(
            phase == Kind.CONNECT_FAIL && mr.socket == target,
            "%s answered with the connect failure of another socket",
            mr);
      } else if (f.equals(Failure.QUEUE_FULL)) {
        // refused in its own allocate(), because it could not proceed and the queue was full
        int open = 0;
        int idleNow = 0;
        for (MSock ms : sockList) {
          if (ms.state != Slot.State.CLOSED) {
            open++;
          }
          if (ms.state == Slot.State.IDLE) {
            idleNow++;
          }
        }
        check(
            phase == Kind.ALLOCATE && allocating == mr && mr.state == MReq.WAITING,
            "%s refused outside its allocate()",
            mr);
        check(
            waitingCount() - 1 >= config.maxQueued(),
            "%s refused with %d others waiting, maxQueued %d",
            mr,
            waitingCount() - 1,
            config.maxQueued());
        check(
            active(mr.key()) >= config.maxPerHost() || open >= config.maxOpen() && idleNow == 0,
            "%s refused although it could have proceeded",
            mr);
      } else if (f.equals(NO_FDS)) {
        check(
            mr.socket != null && mr.socket.syncFailed,
            "%s answered with a synchronous failure it did not have",
            mr);
      } else {
        check(false, "%s answered with unexpected %s", mr, f);
      }
      mr.state = MReq.ANSWERED;
    }
  }
}
