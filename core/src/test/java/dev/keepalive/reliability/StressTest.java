package dev.keepalive.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.SinkServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Stress: {@value #THREADS} threads share one manager for a million operations (system property
 * {@code stress.ops}, default 1,000,000) over {@value #KEYS} proxy-target keys to three loopback
 * sinks, most of them cached allocate / close cycles, with faults mixed in: sinks that reset a
 * socket, close it, or send unexpected bytes on it; discards instead of closes; keys cold enough
 * to force eviction at maxOpen; refused ports; connects that hang until the request's timeout;
 * deallocate of one's own request and of other threads' requests at random; future-style
 * requests cancelled at random.
 *
 * <p>Checked throughout: a sampler thread and every worker read {@code stats()} (open &le;
 * maxOpen, open = idle + leased + connecting, nothing negative), every callback checks the exact
 * counts on the loop and that no key has more than maxPerHost connections out, and every answer
 * is the one its operation must get. At the end: every request answered exactly once or
 * cancelled (and a cancelled one never answered), nothing pending, stats zero after close(), and
 * the process's file descriptors back to the baseline.
 *
 * <p>No timing assertion: the duration is printed, never checked.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class StressTest {
  static final int OPS = Integer.getInteger("stress.ops", 1_000_000);
  static final int THREADS = 4;
  static final int KEYS = 200;
  static final int HOT = 40;
  static final int MAX_PER_HOST = 2;
  static final int MAX_OPEN = 96;
  static final Duration LONG = Duration.ofSeconds(60);
  static final Object CANCELLED = new Object();

  enum Kind {
    HOT,
    COLD,
    DISCARD,
    PEER_RESET,
    PEER_DATA,
    PEER_CLOSE,
    REFUSED,
    HANGING,
    DEALLOC_OWN,
    DEALLOC_OTHER,
    FUTURE
  }

  /** Per million operations; the rest are cached cycles on hot keys (HOT). */
  static final Map<Kind, Integer> PPM = Map.of(
      Kind.COLD, 4_000,
      Kind.DISCARD, 3_000,
      Kind.PEER_RESET, 1_500,
      Kind.PEER_DATA, 1_500,
      Kind.PEER_CLOSE, 1_500,
      Kind.REFUSED, 2_000,
      Kind.HANGING, 300,
      Kind.DEALLOC_OWN, 3_000,
      Kind.DEALLOC_OTHER, 2_000,
      Kind.FUTURE, 2_000);

  static ConditionFactory await() {
    return Await.await(LONG);
  }

  @Test
  void aMillionOperationsWithFaultsKeepEveryInvariant() throws Exception {
    try (SinkServer s1 = SinkServer.obeyingFaultBytes();
        SinkServer s2 = SinkServer.obeyingFaultBytes();
        SinkServer s3 = SinkServer.obeyingFaultBytes();
        HangingListener hang = new HangingListener()) {
      SinkServer[] sinks = {s1, s2, s3};
      int refusedPort = Loopback.closedPortOutsideEphemeralRange();
      // warm-up: loads and compiles everything, opens every jar, so the baseline is stable
      new Run(Math.min(OPS, 20_000), sinks, refusedPort, hang.port()).go();
      await().until(() -> s1.openCount() + s2.openCount() + s3.openCount() == 0);
      int baseline = Descriptors.count();
      Map<Integer, String> before = Descriptors.snapshot();

      Run run = new Run(OPS, sinks, refusedPort, hang.port());
      run.go();
      System.out.println(run.report());

      assertThat(run.violations).as("violations").isEmpty();
      assertThat(run.served(FromCache.IMMEDIATE)).isGreaterThan(OPS / 2);
      assertThat(run.samples.get()).as("sampler ran").isPositive();
      if (OPS >= 200_000) { // enough operations for every fault to have happened
        assertThat(run.served(FromCache.NEW)).isPositive();
        assertThat(run.served(FromCache.DEFERRED)).as("contention: DEFERRED").isPositive();
        assertThat(run.failures).containsKeys("connect/111", "connect/110");
        assertThat(run.cancelledCount.sum()).as("deallocated requests").isPositive();
        assertThat(s1.resets() + s2.resets() + s3.resets()).as("peer resets").isPositive();
      }

      try {
        await()
            .until(() -> s1.openCount() + s2.openCount() + s3.openCount() == 0
                && Descriptors.count() <= baseline);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "descriptors: " + Descriptors.count() + ", baseline " + baseline + "; new: "
                + Descriptors.openedSince(before),
            e);
      }
    }
  }

  /** One manager, {@code ops} operations over {@value #THREADS} threads, then every check. */
  static final class Run {
    final int ops;
    final SinkServer[] sinks;
    final Allocation[] keys = new Allocation[KEYS];
    final Allocation refused;
    final Allocation hanging;
    final ConnectionManager m;

    final Queue<String> violations = new ConcurrentLinkedQueue<>();
    final AtomicIntegerArray answered;
    final AtomicIntegerArray cancelled;
    final AtomicIntegerArray leasedPerKey = new AtomicIntegerArray(KEYS);
    final AtomicInteger leasedByCallbacks = new AtomicInteger();
    final AtomicInteger outstandingHanging = new AtomicInteger();
    final LongAdder[] served = {new LongAdder(), new LongAdder(), new LongAdder()};
    final Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    final Map<Kind, LongAdder> kinds = new ConcurrentHashMap<>();
    final LongAdder cancelledCount = new LongAdder();
    final LongAdder allocations = new LongAdder();
    final LongAdder futureOps = new LongAdder();
    final LongAdder peerGone = new LongAdder();
    final AtomicLong samples = new AtomicLong();
    final AtomicLong maxOpenSeen = new AtomicLong();
    /** Each thread's recent requests, for other threads to deallocate. */
    final List<AtomicReferenceArray<Op>> recent = new ArrayList<>();

    long nanos;

    Run(int ops, SinkServer[] sinks, int refusedPort, int hangingPort) {
      this.ops = ops;
      this.sinks = sinks;
      for (int k = 0; k < KEYS; k++) {
        keys[k] = Allocation.to("http", "127.0.0.1", sinks[k % sinks.length].port())
            .forTarget("http", "t" + k + ".test", 80);
      }
      refused = Allocation.to("http", "127.0.0.1", refusedPort);
      hanging = Allocation.to("http", "127.0.0.1", hangingPort).timeout(Duration.ofMillis(50));
      answered = new AtomicIntegerArray(ops + 2);
      cancelled = new AtomicIntegerArray(ops + 2);
      for (int t = 0; t < THREADS; t++) {
        recent.add(new AtomicReferenceArray<>(16));
      }
      m = ConnectionManager.builder()
          .maxPerHost(MAX_PER_HOST)
          .maxOpen(MAX_OPEN)
          .keepAlive(Duration.ofSeconds(5))
          .timeout(Duration.ofSeconds(30))
          .build();
    }

    long served(FromCache how) {
      return served[how.ordinal()].sum();
    }

    void violation(String what) {
      if (violations.size() < 50) {
        violations.add(what);
      }
    }

    /** The counts any snapshot must satisfy. */
    void checkStats(PoolStats s, String where) {
      if (s.open() > MAX_OPEN) {
        violation(where + ": open > maxOpen in " + s);
      }
      if (s.open() != s.idle() + s.leased() + s.connecting()) {
        violation(where + ": open != idle + leased + connecting in " + s);
      }
      if (s.idle() < 0 || s.leased() < 0 || s.connecting() < 0 || s.pending() < 0) {
        violation(where + ": negative count in " + s);
      }
      // the per-host limit bounds everything active: keys + the refused and hanging keys
      if (s.leased() + s.connecting() > (KEYS + 2) * MAX_PER_HOST) {
        violation(where + ": more active than every key's limit in " + s);
      }
      maxOpenSeen.accumulateAndGet(s.open(), Math::max);
    }

    /** One operation a worker waits for, or a hanging one nobody waits for. */
    final class Op {
      final Kind kind;
      final int key; // -1 for the refused and hanging keys
      final CompletableFuture<Object> result = new CompletableFuture<>();
      volatile long id;

      Op(Kind kind, int key) {
        this.kind = kind;
        this.key = key;
      }
    }

    /** Every answer comes here, on the event loop. */
    void onAnswer(AllocationResult r) {
      long id = r.requestId();
      if (id <= 0 || id >= answered.length()) {
        violation("request id " + id + " out of range");
        return;
      }
      int n = answered.incrementAndGet((int) id);
      if (n != 1) {
        violation("#" + id + " answered " + n + " times");
      }
      if (cancelled.get((int) id) != 0) {
        violation("#" + id + " answered after it was deallocated");
      }
      Op op = (Op) r.context();
      PoolStats exact = m.stats(); // exact on the loop
      checkStats(exact, "loop");
      if (r.isSuccess()) {
        served[r.fromCache().ordinal()].increment();
        if (op.key >= 0 && leasedPerKey.incrementAndGet(op.key) > MAX_PER_HOST) {
          violation("key " + op.key + " has more than maxPerHost connections out");
        }
        if (leasedByCallbacks.incrementAndGet() > exact.leased()) {
          violation("callbacks hold more connections than leased in " + exact);
        }
      } else {
        failures
            .computeIfAbsent(r.function() + "/" + r.errorNum(), f -> new LongAdder())
            .increment();
      }
      if (op.kind == Kind.HANGING) {
        outstandingHanging.decrementAndGet();
        if (r.isSuccess()) {
          violation("a connect to the hanging listener succeeded: " + r);
          giveBack(op, r.connection(), false);
        } else if (!"connect".equals(r.function()) || r.errorNum() == null || r.errorNum() != 110) {
          violation("a hanging connect answered " + r + ", not a timeout");
        }
        return;
      }
      op.result.complete(r);
    }

    void giveBack(Op op, Connection c, boolean discard) {
      if (op.key >= 0) {
        leasedPerKey.decrementAndGet(op.key);
      }
      leasedByCallbacks.decrementAndGet();
      if (discard) {
        c.discard();
      } else {
        c.close();
      }
    }

    long allocate(Op op, Allocation a) {
      allocations.increment();
      long id = m.allocate(a.context(op), this::onAnswer);
      op.id = id;
      return id;
    }

    /** Waits for an answer: spins briefly (cached answers take microseconds), then blocks. */
    Object waitFor(Op op) {
      for (int i = 0; i < 2_000 && !op.result.isDone(); i++) {
        Thread.onSpinWait();
      }
      try {
        return op.result.get(LONG.toSeconds(), TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        violation("#" + op.id + " (" + op.kind + ") not answered within " + LONG);
        throw new AssertionError("no answer", e);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }

    Kind pick(SplittableRandom rnd) {
      int x = rnd.nextInt(1_000_000);
      for (Map.Entry<Kind, Integer> e : PPM.entrySet()) {
        x -= e.getValue();
        if (x < 0) {
          return e.getKey();
        }
      }
      return Kind.HOT;
    }

    /** Hot keys, skewed to the first ones, so threads meet on a key: DEFERRED answers. */
    int hotKey(SplittableRandom rnd) {
      double u = rnd.nextDouble();
      return (int) (HOT * u * u * u);
    }

    int coldKey(SplittableRandom rnd) {
      return HOT + rnd.nextInt(KEYS - HOT);
    }

    void work(int me, int myOps) {
      SplittableRandom rnd = new SplittableRandom(7919L * (me + 1));
      AtomicReferenceArray<Op> mine = recent.get(me);
      for (int i = 0; i < myOps; i++) {
        Kind kind = pick(rnd);
        kinds.computeIfAbsent(kind, k -> new LongAdder()).increment();
        switch (kind) {
          case HOT, DISCARD, PEER_RESET, PEER_DATA, PEER_CLOSE ->
            cycle(kind, hotKey(rnd), mine, rnd);
          case COLD -> cycle(kind, coldKey(rnd), mine, rnd);
          case REFUSED -> {
            Op op = new Op(kind, -1);
            allocate(op, refused);
            Object r = waitFor(op);
            if (r != CANCELLED) {
              AllocationResult res = (AllocationResult) r;
              if (res.isSuccess()
                  || !"connect".equals(res.function())
                  || res.errorNum() == null
                  || res.errorNum() != 111) {
                violation("a connect to a closed port answered " + res);
                if (res.isSuccess()) {
                  giveBack(op, res.connection(), true);
                }
              }
            }
          }
          case HANGING -> {
            if (outstandingHanging.get() < 4) {
              Op op = new Op(kind, -1);
              outstandingHanging.incrementAndGet();
              long id = allocate(op, hanging);
              mine.set(rnd.nextInt(mine.length()), op);
              if (rnd.nextInt(4) == 0 && m.deallocate(id)) {
                cancelledNow(op);
              }
            }
          }
          case DEALLOC_OWN -> {
            int key = rnd.nextBoolean() ? hotKey(rnd) : coldKey(rnd);
            Op op = new Op(kind, key);
            long id = allocate(op, keys[key]);
            if (m.deallocate(id)) {
              cancelledNow(op);
            } else {
              use(op, waitFor(op), rnd);
            }
          }
          case DEALLOC_OTHER -> {
            int other = (me + 1 + rnd.nextInt(THREADS - 1)) % THREADS;
            Op op = recent.get(other).get(rnd.nextInt(16));
            if (op != null && op.id > 0 && m.deallocate(op.id)) {
              cancelledNow(op);
            }
          }
          case FUTURE -> {
            futureOps.increment();
            allocations.increment();
            CompletableFuture<Connection> f = m.allocate(keys[hotKey(rnd)]);
            if (rnd.nextBoolean() && f.cancel(true)) {
              break; // a connection that still arrives is given back by the manager
            }
            try {
              f.get(LONG.toSeconds(), TimeUnit.SECONDS).close();
            } catch (Exception e) {
              violation("a future-style allocation failed: " + e);
            }
          }
          default -> throw new IllegalStateException();
        }
        if ((i & 255) == 0) {
          checkStats(m.stats(), "worker");
        }
      }
    }

    void cancelledNow(Op op) {
      cancelled.set((int) op.id, 1);
      cancelledCount.increment();
      if (op.kind == Kind.HANGING) {
        outstandingHanging.decrementAndGet();
      }
      op.result.complete(CANCELLED);
    }

    void cycle(Kind kind, int key, AtomicReferenceArray<Op> mine, SplittableRandom rnd) {
      Op op = new Op(kind, key);
      allocate(op, keys[key]);
      mine.set(rnd.nextInt(mine.length()), op);
      use(op, waitFor(op), rnd);
    }

    /** Checks the answer of an operation on a sink key and gives the connection back. */
    void use(Op op, Object r, SplittableRandom rnd) {
      if (r == CANCELLED) {
        return;
      }
      AllocationResult res = (AllocationResult) r;
      if (!res.isSuccess()) {
        violation(op.kind + " on a sink failed: " + res);
        return;
      }
      Connection c = res.connection();
      if (c.fromCache() != res.fromCache() || !c.addr().equals("127.0.0.1")) {
        violation("connection " + c + " does not match its result " + res);
      }
      byte command = switch (op.kind) {
        case PEER_RESET -> SinkServer.RESET;
        case PEER_DATA -> SinkServer.ECHO;
        case PEER_CLOSE -> SinkServer.CLOSE;
        default -> 0;
      };
      if (command != 0) {
        try {
          c.channel().write(ByteBuffer.wrap(new byte[] {command}));
        } catch (IOException e) {
          peerGone.increment(); // reset by an earlier fault while it was handed out
          giveBack(op, c, true);
          return;
        }
      }
      // the manager decides: a socket the peer has reset, closed or written to is never pooled
      giveBack(op, c, op.kind == Kind.DISCARD);
    }

    void go() throws Exception {
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "stress-sampler");
        t.setDaemon(true);
        return t;
      });
      sampler.scheduleAtFixedRate(
          () -> {
            checkStats(m.stats(), "sampler");
            samples.incrementAndGet();
          },
          0,
          1,
          TimeUnit.MILLISECONDS);
      long start = System.nanoTime();
      List<Thread> workers = new ArrayList<>();
      Queue<Throwable> crashes = new ConcurrentLinkedQueue<>();
      for (int t = 0; t < THREADS; t++) {
        final int me = t;
        final int myOps = ops / THREADS + (me < ops % THREADS ? 1 : 0);
        Thread w = new Thread(
            () -> {
              try {
                work(me, myOps);
              } catch (Throwable e) {
                crashes.add(e);
              }
            },
            "stress-" + t);
        workers.add(w);
        w.start();
      }
      for (Thread w : workers) {
        w.join();
      }
      nanos = System.nanoTime() - start;
      try {
        assertThat(crashes).as("worker crashes").isEmpty();
        // hanging requests time out; everything else was given back
        await().untilAsserted(() -> {
          PoolStats s = m.stats();
          assertThat(outstandingHanging.get()).isZero();
          assertThat(s.leased() + s.connecting() + s.pending()).as("%s", s).isZero();
          assertThat(s.open()).isEqualTo(s.idle());
        });
      } finally {
        sampler.shutdown();
        sampler.awaitTermination(10, TimeUnit.SECONDS);
        m.close();
      }
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
      assertThat(leasedByCallbacks.get()).isZero();

      // every callback-style request answered exactly once or deallocated, never both; the
      // future-style ones are the only ids without a callback answer
      long ids = allocations.sum();
      long unaccounted = 0;
      for (int id = 1; id <= ids; id++) {
        int a = answered.get(id);
        int c = cancelled.get(id);
        if (a + c == 0) {
          unaccounted++;
        } else if (a + c != 1) {
          violation("#" + id + ": answered " + a + " times, deallocated " + c);
        }
      }
      assertThat(unaccounted)
          .as("requests neither answered nor deallocated")
          .isEqualTo(futureOps.sum());
      assertThat(answered.get((int) ids + 1)).as("an id beyond those issued").isZero();
    }

    String report() {
      StringBuilder b = new StringBuilder();
      b.append(String.format(
          "stress: %,d operations on %d threads in %.1f s (%,.0f ops/s); " + "%,d allocations%n",
          ops, THREADS, nanos / 1e9, ops / (nanos / 1e9), allocations.sum()));
      b.append(String.format(
          "  served NEW %,d  IMMEDIATE %,d  DEFERRED %,d%n",
          served(FromCache.NEW), served(FromCache.IMMEDIATE), served(FromCache.DEFERRED)));
      b.append("  failures ").append(new TreeMap<>(failures)).append('\n');
      b.append("  operations ").append(new TreeMap<>(kinds)).append('\n');
      b.append(String.format(
          "  deallocated %,d, peer gone while held %,d, stats samples %,d, "
              + "max open seen %d (maxOpen %d)%n",
          cancelledCount.sum(), peerGone.sum(), samples.get(), maxOpenSeen.get(), MAX_OPEN));
      long accepted = 0;
      long resets = 0;
      for (SinkServer s : sinks) {
        accepted += s.acceptedCount();
        resets += s.resets();
      }
      b.append(String.format(
          "  sinks accepted %,d connections (all runs so far), reset %,d", accepted, resets));
      return b.toString();
    }
  }
}
