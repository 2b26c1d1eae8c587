package dev.keepalive.internal;

import static dev.keepalive.internal.IoFailures.NO_FDS;
import static dev.keepalive.internal.IoFailures.NXDOMAIN;
import static dev.keepalive.internal.IoFailures.REFUSED;

import dev.keepalive.PoolStats;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import net.jqwik.api.statistics.Statistics;

/**
 * Stateful model-based test of the {@link Pool}'s decisions (jqwik {@link ActionChain}): random
 * chains of allocate, connect success (TCP up now, or when the connect started: a long TLS
 * handshake) / failure (asynchronous and synchronous), lookup success / failure, free (release
 * POOL, with or without a holder's reuse limits: idle time, more hand-outs), discard (release
 * CLOSE / RESET), deallocate, peer activity on an idle socket, unnoticed dirt on an idle socket,
 * clock advance + expire, a late loop (the clock advances, expire has not run yet) and shutdown
 * run against the real pool (with a fake {@link Pool.Io} and a manual clock) and against
 * {@link Model}, a deliberately naive reference: plain lists and linear scans, written from the
 * contract, sharing no code with the pool. Each chain's pool has its own {@link Rules}: a socket
 * lifetime with jitter (the draws are a seeded sequence both sides replay), most hand-outs per
 * socket, most queued requests; each off in some chains.
 *
 * <p>After every action the two must agree on every event (which request got which answer:
 * NEW / IMMEDIATE / DEFERRED with which socket, or which failure; which socket was connected for
 * which request, in which order; which sockets were closed or reset; which lookups were started
 * or abandoned), on every request's and socket's state, on the stats, the number of hosts and
 * tracked requests, and the next deadline. Independently of the model, the fake I/O checks the
 * contract's invariants at the instant of every I/O call and after every action: limits never
 * exceeded, every request answered at most once (exactly once or cancelled at the end), FIFO
 * across keys, no idle socket older than keep-alive, no socket both idle and leased, no leased
 * socket closed by the pool behind its holder, no socket past its lifetime or its hand-outs
 * handed out again or pooled, never more queued requests than maxQueued.
 *
 * <p>{@link PoolPropertiesTest} covers similar ground with a generated list of operations and an
 * observer model; this one adds the stateful generator (actions chosen from the current state:
 * "connect s3", "free s1"), the lookup phase (host names), several spellings of one key, proxy
 * targets, huge timeouts, and an executable reference whose every decision is compared.
 */
class PoolModelTest {
  static final long UNIT = 1_000_000L; // 1 ms of clock nanos
  static final long MAX_NANOS = Long.MAX_VALUE / 4; // the pool's cap for far-future times
  static final List<InetAddress> RESOLVED = List.of(InetAddress.getLoopbackAddress());
  /** A time that never was. */
  static final long NEVER = Long.MIN_VALUE;

  /**
   * A key as a test writes it: the model knows it only by its label; the pool gets the
   * {@link PoolKey}. Several spellings share a label: they must be one key.
   */
  record K(String label, PoolKey key, boolean literal) {
    @Override
    public String toString() {
      return label + "=" + key;
    }
  }

  static final K[] KEYS = {
    new K("A", new PoolKey("http", "10.0.0.1", 80, null, null, 0), true),
    new K("A", new PoolKey("HTTP", "10.0.0.1", 80, null, null, 0), true),
    new K("B", new PoolKey("http", "10.0.0.2", 80, null, null, 0), true),
    new K("C", new PoolKey("https", "[::1]", 443, null, null, 0), true),
    new K("C", new PoolKey("HTTPS", "::1", 443, null, null, 0), true),
    new K("P1", new PoolKey("http", "10.0.0.9", 3128, "http", "example.org", 80), true),
    new K("P2", new PoolKey("http", "10.0.0.9", 3128, "https", "example.org", 443), true),
    new K("N", new PoolKey("http", "named.example", 80, null, null, 0), false),
    new K("N", new PoolKey("http", "Named.EXAMPLE", 80, null, null, 0), false),
  };

  /**
   * The pool's rules beyond its limits (see {@link Pool.Options}).
   *
   * @param maxLifetime 0 for none
   * @param seed of the lifetime draws: the pool and the model each replay the same sequence
   */
  record Rules(long maxLifetime, double jitter, long seed, int maxUses, int maxQueued) {
    boolean lifetimes() {
      return maxLifetime > 0;
    }

    @Override
    public String toString() {
      return "maxLifetime " + maxLifetime / UNIT + " ms (jitter " + jitter + ", seed " + seed
          + "), maxUses " + maxUses + ", maxQueued " + maxQueued;
    }
  }

  record Config(int maxPerHost, int maxOpen, long keepAlive, long defaultTimeout, Rules rules) {
    @Override
    public String toString() {
      return "Config[maxPerHost " + maxPerHost + ", maxOpen " + maxOpen + ", keepAlive "
          + keepAlive / UNIT + " ms, timeout " + defaultTimeout / UNIT + " ms, " + rules + "]";
    }
  }

  // ---- the property ----

  @Property(tries = 300)
  void poolDecidesLikeTheReferenceModel(@ForAll("chains") ActionChain<Machine> chain) {
    Machine m = chain.withInvariant("pool invariants", Machine::checkInvariants).run();
    m.finish();
    // the generator must reach every kind of decision, over all tries
    Statistics.label("events").coverage(c -> {
      for (String kind : List.of(
          "NEW",
          "IMMEDIATE",
          "DEFERRED",
          "connect/110",
          "connect/111",
          "connect/24",
          "resolve/null",
          "shutdown/null",
          "queue/11",
          "eviction",
          "deallocated",
          "retired",
          "used up")) {
        c.check(kind).count(n -> n >= 10);
      }
    });
  }

  @Provide
  Arbitrary<ActionChain<Machine>> chains() {
    int none = Integer.MAX_VALUE;
    Arbitrary<Rules> rules = Combinators.combine(
            Arbitraries.of(0L, 0L, 4L, 12L, 30L).map(u -> u * UNIT),
            Arbitraries.of(0.0, 0.1, 0.5),
            Arbitraries.longs(),
            Arbitraries.of(none, none, 1, 2, 3),
            Arbitraries.of(none, none, 0, 1, 2))
        .as(Rules::new);
    Arbitrary<Config> configs = Combinators.combine(
            Arbitraries.integers().between(1, 3),
            Arbitraries.integers().between(1, 6),
            Arbitraries.of(3L, 10L, 40L, MAX_NANOS / UNIT).map(u -> u * UNIT),
            Arbitraries.of(8L, 25L, 1_000L).map(u -> u * UNIT),
            rules)
        .as(Config::new);
    return configs.flatMap(config -> ActionChain.startWith(() -> new Machine(config))
        .withAction(20, allocate())
        .withAction(
            14, onSocket(Slot.State.CONNECTING, "connected", (m, s) -> m.connected(s, false)))
        .withAction(
            4,
            onSocket(
                Slot.State.CONNECTING,
                "connected (TCP up when the connect started)",
                (m, s) -> m.connected(s, true)))
        .withAction(4, onSocket(Slot.State.CONNECTING, "connectFailed", Machine::connectFailed))
        .withAction(
            2,
            Action.just(
                "next connect fails at once",
                Transformer.mutate("next connect fails at once", Machine::armSyncFailure)))
        .withAction(5, onRequest(Model.RESOLVING, "resolved", Machine::resolved))
        .withAction(2, onRequest(Model.RESOLVING, "resolveFailed", Machine::resolveFailed))
        .withAction(
            20, onSocket(Slot.State.LEASED, "free", (m, s) -> m.release(s, Pool.Disposal.POOL)))
        .withAction(6, freeWithLimits())
        .withAction(
            4, onSocket(Slot.State.LEASED, "discard", (m, s) -> m.release(s, Pool.Disposal.CLOSE)))
        .withAction(
            2,
            onSocket(
                Slot.State.LEASED, "discard (reset)", (m, s) -> m.release(s, Pool.Disposal.RESET)))
        .withAction(
            3,
            onSocket(Slot.State.IDLE, "peer sends data on idle", (m, s) -> m.idleActivity(s, true)))
        .withAction(
            3, onSocket(Slot.State.IDLE, "peer closes idle", (m, s) -> m.idleActivity(s, false)))
        .withAction(3, onSocket(Slot.State.IDLE, "data arrives unnoticed on idle", Machine::dirty))
        .withAction(6, deallocate())
        .withAction(7, advance())
        .withAction(3, lateLoop())
        // late in a chain: everything after it is answered "shutdown" at once
        .withAction(
            2,
            Action.<Machine>when(m -> m.steps >= 40)
                .describeAs("shutdown")
                .justMutate(Machine::shutdown))
        .withMaxTransformations(80));
  }

  static Action.Independent<Machine> allocate() {
    return new Action.Independent<>() {
      @Override
      public Arbitrary<Transformer<Machine>> transformer() {
        Arbitrary<Long> timeouts = Arbitraries.frequencyOf(
            Tuple.of(5, Arbitraries.just(-1L)),
            Tuple.of(4, Arbitraries.longs().between(1, 30).map(u -> u * UNIT)),
            Tuple.of(1, Arbitraries.just(Long.MAX_VALUE)));
        return Combinators.combine(Arbitraries.integers().between(0, KEYS.length - 1), timeouts)
            .as((k, t) -> Transformer.mutate(
                "allocate " + KEYS[k]
                    + (t < 0 ? "" : " timeout " + (t == Long.MAX_VALUE ? "MAX" : t / UNIT + " ms")),
                m -> m.allocate(k, t)));
      }
    };
  }

  /** An action on one socket the model has in {@code state}, named by its stable name. */
  static Action.Dependent<Machine> onSocket(
      Slot.State state, String verb, BiConsumer<Machine, String> act) {
    return new Action.Dependent<>() {
      @Override
      public boolean precondition(Machine m) {
        return !m.model.socketNames(state).isEmpty();
      }

      @Override
      public Arbitrary<Transformer<Machine>> transformer(Machine m) {
        return Arbitraries.of(m.model.socketNames(state))
            .map(name -> Transformer.mutate(verb + " " + name, x -> act.accept(x, name)));
      }
    };
  }

  /** An action on one request the model has in {@code state}, named by its id. */
  static Action.Dependent<Machine> onRequest(
      Request.Phase state, String verb, BiConsumer<Machine, Long> act) {
    return new Action.Dependent<>() {
      @Override
      public boolean precondition(Machine m) {
        return !m.model.requestIds(r -> r.phase == state).isEmpty();
      }

      @Override
      public Arbitrary<Transformer<Machine>> transformer(Machine m) {
        return Arbitraries.of(m.model.requestIds(r -> r.phase == state))
            .map(id -> Transformer.mutate(verb + " #" + id, x -> act.accept(x, id)));
      }
    };
  }

  /** Deallocates a pending request mostly, sometimes an answered, cancelled or unknown one. */
  static Action.Dependent<Machine> deallocate() {
    return new Action.Dependent<>() {
      @Override
      public Arbitrary<Transformer<Machine>> transformer(Machine m) {
        List<Tuple.Tuple2<Integer, Arbitrary<Long>>> choices = new ArrayList<>();
        List<Long> pending = m.model.requestIds(Model.MReq::tracked);
        List<Long> any = m.model.requestIds(r -> true);
        if (!pending.isEmpty()) {
          choices.add(Tuple.of(6, Arbitraries.of(pending)));
        }
        if (!any.isEmpty()) {
          choices.add(Tuple.of(2, Arbitraries.of(any)));
        }
        choices.add(Tuple.of(1, Arbitraries.longs().between(900_000_000L, 900_000_009L)));
        return Arbitraries.frequencyOf(choices)
            .map(id -> Transformer.mutate("deallocate #" + id, x -> x.cancel(id)));
      }
    };
  }

  static Action.Independent<Machine> advance() {
    return new Action.Independent<>() {
      @Override
      public Arbitrary<Transformer<Machine>> transformer() {
        return Arbitraries.frequencyOf(
                Tuple.of(9, Arbitraries.longs().between(1, 15)),
                Tuple.of(1, Arbitraries.just(5_000L)))
            .map(u -> Transformer.mutate("advance " + u + " ms, expire", m -> m.advance(u * UNIT)));
      }
    };
  }

  /**
   * The clock advances and the loop has not called expire() yet: sockets past a deadline of
   * their own (lifetime, holder's limit) may be met before they are expired. A loop is never
   * late past a request's deadline or an idle socket's keep-alive, so the advance stops short of
   * those.
   */
  static Action.Independent<Machine> lateLoop() {
    return new Action.Independent<>() {
      @Override
      public Arbitrary<Transformer<Machine>> transformer() {
        return Arbitraries.longs()
            .between(1, 20)
            .map(u -> Transformer.mutate(
                "advance up to " + u + " ms, no expire yet", m -> m.lateAdvance(u * UNIT)));
      }
    };
  }

  /** Frees a leased socket with a holder's reuse limits: how long idle, how many more uses. */
  static Action.Dependent<Machine> freeWithLimits() {
    return new Action.Dependent<>() {
      @Override
      public boolean precondition(Machine m) {
        return !m.model.socketNames(Slot.State.LEASED).isEmpty();
      }

      @Override
      public Arbitrary<Transformer<Machine>> transformer(Machine m) {
        return Combinators.combine(
                Arbitraries.of(m.model.socketNames(Slot.State.LEASED)),
                Arbitraries.of(Pool.NO_LIMIT, 0L, 2 * UNIT, 6 * UNIT),
                Arbitraries.of(Pool.NO_LIMIT, 0L, 1L, 2L))
            .as((name, maxIdle, more) -> Transformer.mutate(
                "free " + name + " (idle " + (maxIdle < 0 ? "any" : maxIdle / UNIT + " ms")
                    + ", uses " + (more < 0 ? "any" : more + " more") + ")",
                x -> x.release(name, Pool.Disposal.POOL, maxIdle, more)));
      }
    };
  }

  // ---- the machine: pool + fake I/O + model, compared after every action ----

  /** What one action did, as text, in a form both sides can produce and compare. */
  static final class Events {
    final List<String> answers = new ArrayList<>();
    final List<String> connects = new ArrayList<>();
    final List<String> closes = new ArrayList<>();
    final List<String> lookups = new ArrayList<>();
    final List<String> pooled = new ArrayList<>();

    void clear() {
      answers.clear();
      connects.clear();
      closes.clear();
      lookups.clear();
      pooled.clear();
    }

    /**
     * Order matters for answers (FIFO), connects and pooling; timeouts found by one expire()
     * may come in any order (a heap of equal deadlines), as may the closes and lookups of one
     * action (evictions, expiry and withdrawals interleave): those are compared sorted.
     */
    String canonical() {
      List<String> a = new ArrayList<>();
      List<String> run = new ArrayList<>();
      for (String s : answers) {
        if (s.endsWith(" connect/110")) {
          run.add(s);
          continue;
        }
        Collections.sort(run);
        a.addAll(run);
        run.clear();
        a.add(s);
      }
      Collections.sort(run);
      a.addAll(run);
      List<String> c = new ArrayList<>(closes);
      Collections.sort(c);
      List<String> l = new ArrayList<>(lookups);
      Collections.sort(l);
      return "answers " + a + "\n      connects " + connects + "\n      closes " + c
          + "\n      lookups " + l + "\n      pooled " + pooled;
    }
  }

  static final class Machine implements Pool.Io {
    final Config config;
    long now = 7_000 * UNIT; // nothing may assume the clock starts at 0
    final Pool pool;
    final Model model;
    final List<String> trace = new ArrayList<>();

    // the pool's side, as the fake I/O sees it
    final Map<Long, Request> requests = new LinkedHashMap<>();
    final Map<Long, Integer> answerCount = new HashMap<>();
    final Set<Long> cancelled = new HashSet<>();
    final Map<String, Slot> sockets = new LinkedHashMap<>();
    final Map<Slot, String> names = new IdentityHashMap<>();
    /** The state each socket is in as the I/O calls tell it. */
    final Map<Slot, Slot.State> ioState = new IdentityHashMap<>();
    /** When each socket's connect started, in clock nanos. */
    final Map<Slot, Long> connectStartedAt = new IdentityHashMap<>();

    final Events events = new Events();
    int allocations;
    int steps;

    // the world both sides act in
    final Set<String> dirty = new HashSet<>();
    boolean poolSyncFailure;
    /** The socket whose holder gives it back right now: the only leased one the pool may close. */
    String releasing;

    Machine(Config config) {
      this.config = config;
      Rules rules = config.rules();
      java.util.Random draws = new java.util.Random(rules.seed());
      this.pool = new Pool(
          config.maxPerHost(),
          config.maxOpen(),
          config.keepAlive(),
          config.defaultTimeout(),
          Pool.DEFAULT_EXPIRE_BATCH,
          Pool.Options.NONE
              .maxLifetime(rules.maxLifetime(), rules.jitter(), draws::nextDouble)
              .maxUses(rules.maxUses())
              .maxQueued(rules.maxQueued()),
          () -> now,
          this);
      this.model = new Model(config, this);
    }

    @Override
    public String toString() {
      return "Machine[" + config + ", " + pool.stats() + "]";
    }

    AssertionError fail(String what, Object... args) {
      return new AssertionError(String.format(what, args) + "\n  " + config + "\n  trace:\n    "
          + String.join("\n    ", trace));
    }

    void check(boolean ok, String what, Object... args) {
      if (!ok) {
        throw fail(what, args);
      }
    }

    // ---- actions: each runs on the pool, then on the model, then compares ----

    void step(String what, Runnable onPool, Runnable onModel) {
      steps++;
      trace.add(what);
      events.clear();
      model.events.clear();
      onPool.run();
      onModel.run();
      String got = events.canonical();
      String expected = model.events.canonical();
      if (!got.equals(expected)) {
        throw fail(
            "after \"%s\" the pool did\n      %s\n    the model expected\n      %s",
            what, got, expected);
      }
      compareState(what);
      trace.add("    -> " + got.replaceAll("\\s+", " "));
    }

    void allocate(int k, long timeout) {
      K key = KEYS[k];
      int n = allocations++;
      long id = 1 + (n * 7919L) % 100_003; // unique, not in arrival order
      Request r = Requests.of(id, key.key(), timeout);
      requests.put(id, r);
      step(
          "allocate #" + id + " " + key
              + (timeout < 0
                  ? ""
                  : " timeout " + (timeout == Long.MAX_VALUE ? "MAX" : timeout / UNIT + " ms")),
          () -> pool.allocate(r),
          () -> model.allocate(id, key.label(), key.literal(), timeout));
      if (r.phase != Request.Phase.ANSWERED) {
        check(
            r.phase == Request.Phase.RESOLVING
                || r.phase == Request.Phase.QUEUED
                || r.phase == Request.Phase.CONNECTING,
            "#%d left in state %d",
            id,
            r.phase);
      }
    }

    /** @param sinceConnectStart its TCP connect completed when the connect started */
    void connected(String name, boolean sinceConnectStart) {
      Slot s = sockets.get(name);
      long tcpAt = sinceConnectStart ? connectStartedAt.get(s) : now;
      step(
          "connected " + name + " (TCP up at " + tcpAt / UNIT + ")",
          () -> pool.connected(s, tcpAt),
          () -> model.connected(name, tcpAt));
    }

    void connectFailed(String name) {
      Slot s = sockets.get(name);
      step(
          "connectFailed " + name,
          () -> pool.connectFailed(s, REFUSED),
          () -> model.connectFailed(name));
    }

    void armSyncFailure() {
      trace.add("the next connect fails at once");
      poolSyncFailure = true;
      model.syncFailure = true;
    }

    void resolved(long id) {
      Request r = requests.get(id);
      step("resolved #" + id, () -> pool.resolved(r, RESOLVED), () -> model.resolved(id));
    }

    void resolveFailed(long id) {
      Request r = requests.get(id);
      step(
          "resolveFailed #" + id,
          () -> pool.resolveFailed(r, NXDOMAIN),
          () -> model.resolveFailed(id));
    }

    void release(String name, Pool.Disposal disposal) {
      release(name, disposal, Pool.NO_LIMIT, Pool.NO_LIMIT);
    }

    /** Gives a socket back with its holder's reuse limits (see {@link Pool#giveBack}). */
    void release(String name, Pool.Disposal disposal, long maxIdle, long moreHandOuts) {
      Slot s = sockets.get(name);
      if (disposal == Pool.Disposal.POOL) {
        dirty.remove(name); // the holder's checks found it clean
      }
      releasing = name;
      try {
        step(
            "release " + name + " " + disposal + " (idle " + maxIdle + ", uses " + moreHandOuts
                + ")",
            () -> pool.giveBack(s, disposal, maxIdle, moreHandOuts),
            () -> model.release(name, disposal, maxIdle, moreHandOuts));
      } finally {
        releasing = null;
      }
    }

    void idleActivity(String name, boolean reset) {
      Slot s = sockets.get(name);
      step(
          "activity on idle " + name + (reset ? " (data)" : " (eof)"),
          () -> pool.idleActivity(s, reset),
          () -> model.idleActivity(name, reset));
    }

    void dirty(String name) {
      trace.add("data arrives unnoticed on idle " + name);
      dirty.add(name);
    }

    void cancel(long id) {
      boolean[] got = new boolean[2];
      step("deallocate #" + id, () -> got[0] = pool.cancel(id), () -> got[1] = model.cancel(id));
      check(got[0] == got[1], "deallocate #%d returned %s, the model says %s", id, got[0], got[1]);
      if (got[0]) {
        check(!answerCount.containsKey(id), "deallocated #%d had been answered", id);
        cancelled.add(id);
        Statistics.label("events").collect("deallocated");
      }
    }

    void advance(long by) {
      now += by;
      step(
          "advance " + by / UNIT + " ms to " + now / UNIT + ", expire",
          pool::expire,
          model::expire);
    }

    /** Moves the clock by up to {@code by}, short of what a late loop cannot miss; no expire. */
    void lateAdvance(long by) {
      long to = Math.min(now + by, model.latestLateClock());
      if (to > now) {
        now = to;
      }
      step("clock at " + now / UNIT + " ms, expire not run", () -> {}, () -> {});
    }

    void shutdown() {
      step("shutdown", pool::shutdown, model::shutdown);
      check(pool.isShutdown(), "not shut down");
    }

    // ---- comparison with the model ----

    void compareState(String what) {
      for (Model.MReq mr : model.requests) {
        Request r = requests.get(mr.id);
        check(
            r.phase == mr.phase,
            "after \"%s\": #%d in pool state %d, model state %d",
            what,
            mr.id,
            r.phase,
            mr.phase);
      }
      check(
          sockets.size() == model.sockets.size(),
          "after \"%s\": %d sockets, model %d",
          what,
          sockets.size(),
          model.sockets.size());
      for (Model.MSock ms : model.sockets) {
        Slot s = sockets.get(ms.name);
        check(
            s != null && s.state == ms.state,
            "after \"%s\": %s in pool state %s, model %d",
            what,
            ms.name,
            s == null ? "none" : s.state,
            ms.state);
        check(
            java.util.Objects.equals(ioState.get(s), ms.state),
            "after \"%s\": %s in state %s by the I/O calls, model %d",
            what,
            ms.name,
            ioState.get(s),
            ms.state);
        if (ms.state == Slot.State.IDLE) {
          check(
              s.idleSince == ms.idleSince,
              "after \"%s\": %s idle since %d, model %d",
              what,
              ms.name,
              s.idleSince,
              ms.idleSince);
          long limit = s.heapIndex >= 0 ? s.reusableUntil : Long.MAX_VALUE;
          check(
              limit == ms.reusableUntil,
              "after \"%s\": %s reusable until %d (before its keep-alive), model %d",
              what,
              ms.name,
              limit,
              ms.reusableUntil);
        }
        if (ms.connectedAt != NEVER) {
          check(
              s.handOuts == ms.handOuts && s.maxHandOuts == ms.maxHandOuts,
              "after \"%s\": %s handed out %d of %d times, model %d of %d",
              what,
              ms.name,
              s.handOuts,
              s.maxHandOuts,
              ms.handOuts,
              ms.maxHandOuts);
          check(
              !config.rules().lifetimes() || s.retireAt == ms.retireAt,
              "after \"%s\": %s retires at %d, model %d",
              what,
              ms.name,
              s.retireAt,
              ms.retireAt);
        }
      }
      PoolStats st = pool.stats();
      check(st.equals(model.stats()), "after \"%s\": stats %s, model %s", what, st, model.stats());
      check(
          pool.keyCount() == model.keyCount(),
          "after \"%s\": %d hosts, model %d",
          what,
          pool.keyCount(),
          model.keyCount());
      check(
          pool.trackedCount() == model.trackedCount(),
          "after \"%s\": %d tracked, model %d",
          what,
          pool.trackedCount(),
          model.trackedCount());
      check(
          pool.nextDeadline() == model.nextDeadline(),
          "after \"%s\": next deadline %d, model %d",
          what,
          pool.nextDeadline(),
          model.nextDeadline());
      check(
          pool.isShutdown() == model.shutdown,
          "after \"%s\": shutdown %s, model %s",
          what,
          pool.isShutdown(),
          model.shutdown);
    }

    // ---- invariants, from the pool's side only ----

    int active(PoolKey key) {
      int n = 0;
      for (Slot s : sockets.values()) {
        if (s.owner.key.equals(key)
            && (s.state == Slot.State.CONNECTING || s.state == Slot.State.LEASED)) {
          n++;
        }
      }
      return n;
    }

    void checkLimits(String when) {
      int open = 0;
      for (Slot s : sockets.values()) {
        if (s.state != Slot.State.CLOSED) {
          open++;
          int a = active(s.owner.key);
          check(
              a <= config.maxPerHost(),
              "%s: %d sockets active for %s > maxPerHost",
              when,
              a,
              s.owner.key);
        }
      }
      check(open <= config.maxOpen(), "%s: %d sockets open > maxOpen", when, open);
      check(pool.open() <= config.maxOpen(), "%s: pool.open() %d > maxOpen", when, pool.open());
    }

    /**
     * {@code r} leaves the queue now (connect or DEFERRED): no older waiter of its own key, and
     * every older waiter of another key is at that key's limit.
     */
    void checkFifo(Request r, String when) {
      for (Request q : requests.values()) {
        if (q == r || q.phase != Request.Phase.QUEUED || q.seq > r.seq) {
          continue;
        }
        check(
            !q.key.equals(r.key),
            "%s: #%d served before the older #%d of its key",
            when,
            r.id,
            q.id);
        check(
            active(q.key) >= config.maxPerHost(),
            "%s: #%d served before the older #%d whose key %s is below its limit",
            when,
            r.id,
            q.id,
            q.key);
      }
    }

    /**
     * {@code s}, pooled or handed out again now, is within its lifetime and its hand-outs (a
     * hand-out has been counted already; a socket pooled must have one left).
     */
    void checkReusable(Slot s, String when) {
      String name = names.get(s);
      check(
          !config.rules().lifetimes() || s.retireAt - now > 0,
          "%s: %s past its lifetime (retired at %d, now %d)",
          when,
          name,
          s.retireAt,
          now);
      boolean pooling = ioState.get(s) == Slot.State.LEASED;
      check(
          pooling ? s.handOuts < s.maxHandOuts : s.handOuts <= s.maxHandOuts,
          "%s: %s handed out %d times, at most %d",
          when,
          name,
          s.handOuts,
          s.maxHandOuts);
    }

    void checkInvariants() {
      PoolStats st = pool.stats();
      check(st.open() == st.idle() + st.leased() + st.connecting(), "inconsistent %s", st);
      check(st.open() <= config.maxOpen(), "open %d > maxOpen in %s", st.open(), st);
      checkLimits("after the action");
      int idle = 0;
      int leased = 0;
      int connecting = 0;
      for (Slot s : sockets.values()) {
        switch (s.state) {
          case IDLE -> {
            idle++;
            check(
                s.idleSince + config.keepAlive() - now > 0,
                "%s idle since %d, older than keep-alive at %d",
                names.get(s),
                s.idleSince,
                now);
          }
          case LEASED -> leased++;
          case CONNECTING -> connecting++;
          default -> {}
        }
      }
      check(
          st.equals(
              new PoolStats(idle + leased + connecting, idle, leased, connecting, st.pending())),
          "stats %s, sockets: %d idle, %d leased, %d connecting",
          st,
          idle,
          leased,
          connecting);
      Set<Slot> inLeasedList = Collections.newSetFromMap(new IdentityHashMap<>());
      pool.forEachLeased(s -> {
        check(inLeasedList.add(s), "%s twice in the leased list", names.get(s));
        check(
            s.state == Slot.State.LEASED,
            "%s in the leased list in state %d (idle is %d)",
            names.get(s),
            s.state,
            Slot.State.IDLE);
      });
      check(
          inLeasedList.size() == leased,
          "%d in the leased list, %d leased sockets",
          inLeasedList.size(),
          leased);
      for (Map.Entry<Long, Integer> e : answerCount.entrySet()) {
        check(e.getValue() == 1, "#%d answered %d times", e.getKey(), e.getValue());
        check(!cancelled.contains(e.getKey()), "deallocated #%d answered", e.getKey());
      }
      int queued = 0;
      for (Request r : requests.values()) {
        if (r.phase == Request.Phase.QUEUED) {
          queued++;
        }
      }
      check(
          queued <= config.rules().maxQueued(),
          "%d requests queued > maxQueued %d",
          queued,
          config.rules().maxQueued());
      int tracked = 0;
      for (Request r : requests.values()) {
        boolean waiting = r.phase == Request.Phase.RESOLVING
            || r.phase == Request.Phase.QUEUED
            || r.phase == Request.Phase.CONNECTING;
        if (waiting) {
          tracked++;
          check(r.deadline - now > 0, "#%d past its deadline still waits", r.id);
        }
        check(
            waiting == (!answerCount.containsKey(r.id) && !cancelled.contains(r.id)),
            "#%d in state %d, answered %s, cancelled %s",
            r.id,
            r.phase,
            answerCount.get(r.id),
            cancelled.contains(r.id));
      }
      check(
          pool.trackedCount() == tracked,
          "trackedCount %d, %d waiting",
          pool.trackedCount(),
          tracked);
    }

    /** Shuts down, gives every socket back, and checks that nothing is left. */
    void finish() {
      if (!pool.isShutdown()) {
        shutdown();
        checkInvariants();
      }
      int i = 0;
      for (String name : model.socketNames(Slot.State.LEASED)) {
        release(name, i++ % 3 == 0 ? Pool.Disposal.CLOSE : Pool.Disposal.POOL);
        checkInvariants();
      }
      for (Request r : requests.values()) {
        int n = answerCount.getOrDefault(r.id, 0);
        if (cancelled.contains(r.id)) {
          check(n == 0, "deallocated #%d answered %d times", r.id, n);
        } else {
          check(n == 1, "#%d answered %d times", r.id, n);
        }
      }
      for (Map.Entry<String, Slot> e : sockets.entrySet()) {
        check(
            e.getValue().state == Slot.State.CLOSED,
            "%s left in state %d",
            e.getKey(),
            e.getValue().state);
      }
      check(pool.stats().equals(new PoolStats(0, 0, 0, 0, 0)), "left over: %s", pool.stats());
      check(pool.keyCount() == 0, "%d hosts left", pool.keyCount());
      check(pool.trackedCount() == 0, "%d tracked left", pool.trackedCount());
      check(pool.nextDeadline() == Long.MAX_VALUE, "a deadline left");
    }

    // ---- Pool.Io ----

    @Override
    public void resolve(Request r) {
      check(r.keyState.addresses == null, "resolve of the literal #%d", r.id);
      events.lookups.add("resolve #" + r.id);
    }

    @Override
    public void abandonResolve(Request r) {
      events.lookups.add("abandon #" + r.id);
    }

    @Override
    public Failure connect(Slot s, Request r) {
      check(!names.containsKey(s), "connect of a known socket");
      check(!pool.isShutdown(), "connect after shutdown for #%d", r.id);
      check(s.owner.key.equals(r.key), "a socket of %s for #%d of %s", s.owner.key, r.id, r.key);
      String name = "s" + (sockets.size() + 1);
      sockets.put(name, s);
      names.put(s, name);
      ioState.put(s, Slot.State.CONNECTING);
      connectStartedAt.put(s, now);
      events.connects.add(name + " #" + r.id);
      String when = "connect " + name + " for #" + r.id;
      checkLimits(when);
      checkFifo(r, when);
      if (poolSyncFailure) {
        poolSyncFailure = false;
        return NO_FDS;
      }
      return null;
    }

    @Override
    public boolean isClean(Slot s) {
      check(ioState.get(s) == Slot.State.IDLE, "isClean of %s, not idle", names.get(s));
      return !dirty.contains(names.get(s));
    }

    @Override
    public void watchIdle(Slot s) {
      String name = names.get(s);
      check(
          ioState.get(s) == Slot.State.LEASED && name.equals(releasing),
          "watchIdle of %s outside its release",
          name);
      check(!pool.isShutdown(), "%s pooled after shutdown", name);
      checkReusable(s, "pooled");
      ioState.put(s, Slot.State.IDLE);
      events.pooled.add(name);
    }

    @Override
    public void close(Slot s, boolean reset) {
      String name = names.get(s);
      check(name != null, "close of an unknown socket");
      Slot.State was = ioState.get(s);
      check(was != Slot.State.CLOSED, "%s closed twice", name);
      check(
          was != Slot.State.LEASED || name.equals(releasing),
          "%s closed by the pool while its holder has it",
          name);
      ioState.put(s, Slot.State.CLOSED);
      events.closes.add(name + (reset ? " reset" : ""));
    }

    @Override
    public void answer(Request r) {
      int n = answerCount.merge(r.id, 1, Integer::sum);
      check(n == 1, "#%d answered %d times", r.id, n);
      check(!cancelled.contains(r.id), "deallocated #%d answered", r.id);
      check(r.phase == Request.Phase.ANSWERED, "#%d answered in state %d", r.id, r.phase);
      Failure f = r.failure;
      if (f != null) {
        check(r.slot == null, "#%d failed but names a socket", r.id);
        events.answers.add("#" + r.id + " " + f.functionName() + "/" + f.errorNum());
        Statistics.label("events").collect(f.functionName() + "/" + f.errorNum());
        return;
      }
      Slot s = r.slot;
      String name = names.get(s);
      check(name != null, "#%d answered with an unknown socket", r.id);
      check(s.owner.key.equals(r.key), "#%d answered with %s of another key", r.id, name);
      check(s.state == Slot.State.LEASED, "#%d answered with %s in state %d", r.id, name, s.state);
      check(!dirty.contains(name), "dirty %s handed out to #%d", name, r.id);
      Slot.State was = ioState.get(s);
      String when = "answer #" + r.id + " " + r.fromCache + " " + name;
      switch (r.fromCache) {
        case NEW -> check(was == Slot.State.CONNECTING, "%s: was %d", when, was);
        case IMMEDIATE -> {
          check(was == Slot.State.IDLE, "%s: was %d", when, was);
          checkReusable(s, when);
          for (Request q : requests.values()) {
            check(
                q.phase != Request.Phase.QUEUED || !q.key.equals(r.key),
                "%s while the older #%d of its key waits",
                when,
                q.id);
          }
        }
        case DEFERRED -> {
          check(was == Slot.State.IDLE, "%s: was %d", when, was);
          checkReusable(s, when);
          checkFifo(r, when);
        }
        default -> check(false, "no fromCache");
      }
      ioState.put(s, Slot.State.LEASED);
      checkLimits(when);
      events.answers.add("#" + r.id + " " + r.fromCache + " " + name);
      Statistics.label("events").collect(r.fromCache.name());
    }
  }

  // ---- the reference model ----

  /**
   * The pool as the contract describes it, as naively as possible: every socket and request ever
   * made in two lists, every decision a linear scan. Socket and request states use the pool's
   * numbers so the two can be compared directly.
   */
  static final class Model {
    static final Request.Phase RESOLVING = Request.Phase.RESOLVING;
    static final Request.Phase QUEUED = Request.Phase.QUEUED;
    static final Request.Phase CONNECTING = Request.Phase.CONNECTING;
    static final Request.Phase ANSWERED = Request.Phase.ANSWERED;
    static final Request.Phase CANCELLED = Request.Phase.CANCELLED;

    static final class MReq {
      final long id;
      final String key;
      Request.Phase phase = Request.Phase.NEW;
      long deadline;
      long arrival = -1;
      MSock slot;

      MReq(long id, String key) {
        this.id = id;
        this.key = key;
      }

      boolean tracked() {
        return phase == RESOLVING || phase == QUEUED || phase == CONNECTING;
      }
    }

    static final class MSock {
      final String name;
      final String key;
      Slot.State state = Slot.State.CONNECTING;
      MReq request;
      long idleSince;
      long idleOrder;
      /** While idle: when it stops being reusable, where that comes before its keep-alive. */
      long reusableUntil = Long.MAX_VALUE;
      /** When its TCP connect completed; {@link #NEVER} before. */
      long connectedAt = NEVER;

      long retireAt = Long.MAX_VALUE;
      int handOuts;
      int maxHandOuts = Integer.MAX_VALUE;

      MSock(String name, String key) {
        this.name = name;
        this.key = key;
      }

      /** Past a deadline of its own (lifetime, holder's idle limit) at {@code now}. */
      boolean pastOwnDeadline(long now) {
        return reusableUntil != Long.MAX_VALUE && reusableUntil - now <= 0;
      }
    }

    final Config config;
    final Machine world;
    /** The lifetime draws, the same sequence the pool gets. */
    final java.util.Random draws;

    final List<MReq> requests = new ArrayList<>();
    final List<MSock> sockets = new ArrayList<>();
    final Events events = new Events();
    long arrivals;
    long idleOrder;
    boolean shutdown;
    boolean syncFailure;

    Model(Config config, Machine world) {
      this.config = config;
      this.world = world;
      this.draws = new java.util.Random(config.rules().seed());
    }

    List<String> socketNames(Slot.State state) {
      List<String> out = new ArrayList<>();
      for (MSock s : sockets) {
        if (s.state == state) {
          out.add(s.name);
        }
      }
      return out;
    }

    List<Long> requestIds(Predicate<MReq> which) {
      List<Long> out = new ArrayList<>();
      for (MReq r : requests) {
        if (which.test(r)) {
          out.add(r.id);
        }
      }
      return out;
    }

    MSock socket(String name) {
      for (MSock s : sockets) {
        if (s.name.equals(name)) {
          return s;
        }
      }
      return null;
    }

    MReq request(long id) {
      for (MReq r : requests) {
        if (r.id == id) {
          return r;
        }
      }
      return null;
    }

    int active(String key) {
      int n = 0;
      for (MSock s : sockets) {
        if (s.key.equals(key)
            && (s.state == Slot.State.CONNECTING || s.state == Slot.State.LEASED)) {
          n++;
        }
      }
      return n;
    }

    int count(Slot.State state) {
      int n = 0;
      for (MSock s : sockets) {
        if (s.state == state) {
          n++;
        }
      }
      return n;
    }

    int open() {
      return sockets.size() - count(Slot.State.CLOSED);
    }

    PoolStats stats() {
      int pending = 0;
      for (MReq r : requests) {
        if (r.phase == RESOLVING || r.phase == QUEUED) {
          pending++;
        }
      }
      return new PoolStats(
          open(),
          count(Slot.State.IDLE),
          count(Slot.State.LEASED),
          count(Slot.State.CONNECTING),
          pending);
    }

    int keyCount() {
      Set<String> keys = new HashSet<>();
      for (MSock s : sockets) {
        if (s.state != Slot.State.CLOSED) {
          keys.add(s.key);
        }
      }
      for (MReq r : requests) {
        if (r.phase == RESOLVING || r.phase == QUEUED) {
          keys.add(r.key);
        }
      }
      return keys.size();
    }

    int trackedCount() {
      return requestIds(MReq::tracked).size();
    }

    long nextDeadline() {
      return earliest(true);
    }

    /**
     * The latest clock a late loop may show before its expire(): short of every waiting
     * request's deadline and every idle socket's keep-alive.
     */
    long latestLateClock() {
      return earliest(false) - 1;
    }

    /**
     * The earliest deadline of a waiting request or an idle socket's keep-alive, and with
     * {@code own} of an idle socket's own earlier deadline too (lifetime, holder's limit).
     */
    private long earliest(boolean own) {
      long next = Long.MAX_VALUE;
      for (MReq r : requests) {
        if (r.tracked()) {
          next = Math.min(next, r.deadline);
        }
      }
      for (MSock s : sockets) {
        if (s.state == Slot.State.IDLE) {
          next = Math.min(next, s.idleSince + config.keepAlive());
          if (own) {
            next = Math.min(next, s.reusableUntil);
          }
        }
      }
      return next;
    }

    // ---- decisions ----

    void allocate(long id, String key, boolean literal, long timeout) {
      MReq r = new MReq(id, key);
      requests.add(r);
      if (shutdown) {
        answer(r, "shutdown/null");
        return;
      }
      if (active(key) < config.maxPerHost()) {
        MSock s = takeIdle(key);
        if (s != null) {
          lease(s, r, "IMMEDIATE");
          return;
        }
      }
      long t = timeout > 0 ? Math.min(timeout, MAX_NANOS) : config.defaultTimeout();
      r.deadline = world.now + t;
      if (literal) {
        enqueue(r);
      } else {
        r.phase = RESOLVING;
        events.lookups.add("resolve #" + id);
      }
    }

    void resolved(long id) {
      MReq r = request(id);
      if (r != null && r.phase == RESOLVING) {
        enqueue(r);
      }
    }

    void resolveFailed(long id) {
      MReq r = request(id);
      if (r != null && r.phase == RESOLVING) {
        answer(r, "resolve/null");
      }
    }

    /**
     * Its request gets it, even past a lifetime that ended during a long handshake (it has
     * nothing else to get); the lifetime counts from the TCP connect at {@code tcpAt}.
     */
    void connected(String name, long tcpAt) {
      MSock s = socket(name);
      if (s != null && s.state == Slot.State.CONNECTING) {
        s.connectedAt = tcpAt;
        s.maxHandOuts = config.rules().maxUses();
        Rules rules = config.rules();
        if (rules.lifetimes()) {
          double u = draws.nextDouble();
          long life = (long) (rules.maxLifetime() * (1 - u * rules.jitter()));
          s.retireAt = tcpAt + Math.max(1, Math.min(life, rules.maxLifetime()));
        }
        lease(s, s.request, "NEW");
      }
    }

    void connectFailed(String name) {
      MSock s = socket(name);
      if (s != null && s.state == Slot.State.CONNECTING) {
        close(s, false);
        answer(s.request, "connect/111");
        pump();
      }
    }

    /**
     * Pooled when the holder asks, the pool runs, and the holder's limits, the socket's hand-outs
     * and its lifetime leave it a use; else closed.
     */
    void release(String name, Pool.Disposal disposal, long maxIdle, long moreHandOuts) {
      MSock s = socket(name);
      if (s == null || s.state != Slot.State.LEASED) {
        return;
      }
      if (moreHandOuts >= 0) {
        s.maxHandOuts = (int) Math.min(s.maxHandOuts, s.handOuts + moreHandOuts);
      }
      long now = world.now;
      boolean usedUp = s.handOuts >= s.maxHandOuts;
      boolean retired = config.rules().lifetimes() && s.retireAt - now <= 0;
      if (disposal == Pool.Disposal.POOL && !shutdown && maxIdle != 0 && !usedUp && !retired) {
        s.state = Slot.State.IDLE;
        s.idleSince = now;
        s.idleOrder = ++idleOrder;
        long keepAliveEnds = now + config.keepAlive();
        long until = keepAliveEnds;
        if (maxIdle > 0) {
          until = Math.min(until, now + maxIdle);
        }
        if (config.rules().lifetimes()) {
          until = Math.min(until, s.retireAt);
        }
        s.reusableUntil = until < keepAliveEnds ? until : Long.MAX_VALUE;
        events.pooled.add(name);
      } else {
        if (disposal == Pool.Disposal.POOL && !shutdown && maxIdle != 0) {
          Statistics.label("events").collect(usedUp ? "used up" : "retired");
        }
        close(s, disposal == Pool.Disposal.RESET);
      }
      pump();
    }

    void idleActivity(String name, boolean reset) {
      MSock s = socket(name);
      if (s != null && s.state == Slot.State.IDLE) {
        close(s, reset);
        pump();
      }
    }

    boolean cancel(long id) {
      MReq r = request(id);
      if (r == null || !r.tracked()) {
        return false;
      }
      withdraw(r);
      r.phase = CANCELLED;
      pump();
      return true;
    }

    void expire() {
      boolean freed = false;
      for (MReq r : requests) {
        if (r.tracked() && r.deadline - world.now <= 0) {
          withdraw(r);
          answer(r, "connect/110");
          freed = true;
        }
      }
      for (MSock s : byAge()) {
        if (s.idleSince + config.keepAlive() - world.now <= 0 || s.pastOwnDeadline(world.now)) {
          collectRetired(s);
          close(s, false);
          freed = true;
        }
      }
      if (freed) {
        pump();
      }
    }

    void shutdown() {
      if (shutdown) {
        return;
      }
      shutdown = true;
      for (MSock s : byAge()) {
        close(s, false);
      }
      List<MReq> pending = new ArrayList<>();
      for (MReq r : requests) {
        if (r.tracked()) {
          pending.add(r);
        }
      }
      pending.sort((a, b) -> Long.compare(a.id, b.id));
      for (MReq r : pending) {
        withdraw(r);
        answer(r, "shutdown/null");
      }
    }

    /** Serves the oldest waiting request whose key is below its limit, while one can go. */
    private void pump() {
      while (true) {
        MReq next = null;
        for (MReq q : requests) {
          if (q.phase == QUEUED
              && active(q.key) < config.maxPerHost()
              && (next == null || q.arrival < next.arrival)) {
            next = q;
          }
        }
        if (next == null) {
          return;
        }
        MSock s = takeIdle(next.key);
        if (s != null) {
          lease(s, next, "DEFERRED");
          continue;
        }
        if (open() >= config.maxOpen()) {
          List<MSock> idle = byAge();
          if (idle.isEmpty()) {
            return; // everything busy: wait
          }
          close(idle.get(0), false); // the least recently used, of another key
          Statistics.label("events").collect("eviction");
        }
        connect(next);
      }
    }

    /** Queued, then served if it can be; one that must wait while maxQueued others wait fails. */
    private void enqueue(MReq r) {
      r.phase = QUEUED;
      r.arrival = arrivals++;
      pump();
      int queued = 0;
      for (MReq q : requests) {
        if (q.phase == QUEUED) {
          queued++;
        }
      }
      if (r.phase == QUEUED && queued > config.rules().maxQueued()) {
        answer(r, "queue/11");
      }
    }

    private void connect(MReq r) {
      MSock s = new MSock("s" + (sockets.size() + 1), r.key);
      sockets.add(s);
      s.request = r;
      r.phase = CONNECTING;
      r.slot = s;
      events.connects.add(s.name + " #" + r.id);
      if (syncFailure) {
        syncFailure = false;
        close(s, false);
        answer(r, "connect/24");
      }
    }

    /** The most recently pooled clean idle socket of {@code key}; dirty ones are reset. */
    private MSock takeIdle(String key) {
      while (true) {
        MSock best = null;
        for (MSock s : sockets) {
          if (s.state == Slot.State.IDLE
              && s.key.equals(key)
              && (best == null || s.idleOrder > best.idleOrder)) {
            best = s;
          }
        }
        if (best != null && best.pastOwnDeadline(world.now)) {
          collectRetired(best);
          close(best, false); // not handed out, whether or not it is dirty
          continue;
        }
        if (best == null || !world.dirty.contains(best.name)) {
          return best;
        }
        close(best, true);
      }
    }

    private List<MSock> byAge() {
      List<MSock> idle = new ArrayList<>();
      for (MSock s : sockets) {
        if (s.state == Slot.State.IDLE) {
          idle.add(s);
        }
      }
      idle.sort((a, b) -> Long.compare(a.idleOrder, b.idleOrder));
      return idle;
    }

    private void withdraw(MReq r) {
      if (r.phase == RESOLVING) {
        events.lookups.add("abandon #" + r.id);
      } else if (r.phase == CONNECTING) {
        close(r.slot, false);
      }
    }

    private void lease(MSock s, MReq r, String how) {
      s.handOuts++;
      s.reusableUntil = Long.MAX_VALUE;
      s.state = Slot.State.LEASED;
      s.request = r;
      r.slot = s;
      answer(r, how + " " + s.name);
    }

    /** Counts a socket closed at its lifetime's end. */
    private void collectRetired(MSock s) {
      if (config.rules().lifetimes() && s.retireAt - world.now <= 0) {
        Statistics.label("events").collect("retired");
      }
    }

    private void close(MSock s, boolean reset) {
      s.state = Slot.State.CLOSED;
      events.closes.add(s.name + (reset ? " reset" : ""));
    }

    private void answer(MReq r, String outcome) {
      r.phase = ANSWERED;
      events.answers.add("#" + r.id + " " + outcome);
    }
  }
}
