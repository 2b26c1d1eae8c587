package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.SinkServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The limits: maxPerHost bounds the connecting and leased sockets of a key, maxOpen every socket
 * the manager holds (idle ones included), at every instant and under load; a request over a
 * limit waits, and gets a socket given back (DEFERRED) or the slot it frees.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LimitsTest {
  /** Which key and which hammering thread a request belongs to (its context). */
  private record Tag(int key, int thread) {}

  /** A connection a hammering thread holds, with its key. */
  private record Held(int key, Connection connection) {}

  private static void checkCounts(
      PoolStats s, int maxOpen, int activeCap, String where, Queue<String> violations) {
    if (s.open() > maxOpen) {
      violations.add(where + ": open " + s.open() + " > maxOpen " + maxOpen + " in " + s);
    }
    if (s.open() != s.idle() + s.leased() + s.connecting()) {
      violations.add(where + ": open != idle + leased + connecting in " + s);
    }
    if (s.leased() + s.connecting() > activeCap) {
      violations.add(
          where + ": leased + connecting > keys * maxPerHost (" + activeCap + ") in " + s);
    }
    if (s.idle() < 0 || s.leased() < 0 || s.connecting() < 0 || s.pending() < 0) {
      violations.add(where + ": negative count in " + s);
    }
  }

  @Test
  void limitsAreNeverExceededEvenForAnInstant() throws Exception {
    final int maxPerHost = 2;
    final int maxOpen = 5;
    final int threads = 4;
    final int opsPerThread = 5_000;
    final int permitsPerThread = 4; // 16 requests in flight > maxOpen: queueing and eviction
    final String[] schemes = {"http", "k1", "k2"};
    final int activeCap = schemes.length * maxPerHost;

    try (SinkServer server = new SinkServer();
        ConnectionManager m =
            ConnectionManager.builder().maxPerHost(maxPerHost).maxOpen(maxOpen).build()) {
      Allocation[] keys = new Allocation[schemes.length];
      for (int k = 0; k < keys.length; k++) {
        keys[k] = Allocation.to(schemes[k], "127.0.0.1", server.port());
      }
      Queue<String> violations = new ConcurrentLinkedQueue<>();
      // leased sockets per key as the callbacks see them: incremented on the loop when a
      // connection is delivered, decremented just before it is given back (so it never
      // over-counts the manager's own number)
      AtomicIntegerArray leasedPerKey = new AtomicIntegerArray(keys.length);
      Map<Long, AtomicInteger> answers = new ConcurrentHashMap<>();
      Set<Long> cancelled = ConcurrentHashMap.newKeySet();
      List<Queue<Held>> heldBy = new ArrayList<>();
      List<Semaphore> permits = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        heldBy.add(new ConcurrentLinkedQueue<>());
        permits.add(new Semaphore(permitsPerThread));
      }
      AtomicLong loopChecks = new AtomicLong();
      Random loopRandom = new Random(42); // used on the loop thread only

      Consumer<AllocationResult> callback = r -> {
        answers.computeIfAbsent(r.requestId(), id -> new AtomicInteger()).incrementAndGet();
        Tag tag = (Tag) r.context();
        try {
          if (!r.isSuccess()) {
            violations.add("unexpected failure " + r);
            return;
          }
          int k = tag.key();
          int mine = leasedPerKey.incrementAndGet(k);
          PoolStats s = m.stats(); // exact on the loop
          loopChecks.incrementAndGet();
          checkCounts(s, maxOpen, activeCap, "loop", violations);
          if (mine > maxPerHost) {
            violations.add("key " + schemes[k] + " has " + mine + " leased > maxPerHost");
          }
          int sum = 0;
          for (int i = 0; i < keys.length; i++) {
            sum += leasedPerKey.get(i);
          }
          if (sum > s.leased()) {
            violations.add("callbacks hold " + sum + " connections but stats say " + s);
          }
          int choice = loopRandom.nextInt(100);
          if (choice < 35) {
            leasedPerKey.decrementAndGet(k);
            r.connection().close(); // inline on the loop: given back at once
          } else if (choice < 40) {
            leasedPerKey.decrementAndGet(k);
            r.connection().discard();
          } else {
            heldBy.get(tag.thread()).add(new Held(k, r.connection()));
          }
        } finally {
          permits.get(tag.thread()).release();
        }
      };

      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong samples = new AtomicLong();
      Thread sampler = new Thread(
          () -> {
            while (!stop.get()) {
              checkCounts(m.stats(), maxOpen, activeCap, "sample", violations);
              samples.incrementAndGet();
            }
          },
          "stats-sampler");
      sampler.setDaemon(true);
      sampler.start();

      List<Thread> workers = new ArrayList<>();
      AtomicReference<Throwable> workerFailure = new AtomicReference<>();
      for (int t = 0; t < threads; t++) {
        final int me = t;
        Thread w = new Thread(
            () -> {
              Random rnd = new Random(1000 + me);
              Queue<Held> held = heldBy.get(me);
              Semaphore sem = permits.get(me);
              try {
                for (int op = 0; op < opsPerThread; op++) {
                  // never block while holding connections others may be waiting for
                  while (!sem.tryAcquire(1, TimeUnit.MILLISECONDS)) {
                    giveBack(held, Integer.MAX_VALUE, rnd, leasedPerKey);
                  }
                  int k = rnd.nextInt(keys.length);
                  long id = m.allocate(keys[k].context(new Tag(k, me)), callback);
                  if (rnd.nextInt(100) < 3 && m.deallocate(id)) {
                    cancelled.add(id);
                    sem.release();
                  }
                  giveBack(held, 2, rnd, leasedPerKey);
                }
                while (!sem.tryAcquire(permitsPerThread, 1, TimeUnit.MILLISECONDS)) {
                  giveBack(held, Integer.MAX_VALUE, rnd, leasedPerKey);
                }
                giveBack(held, Integer.MAX_VALUE, rnd, leasedPerKey);
              } catch (Throwable e) {
                workerFailure.compareAndSet(null, e);
              }
            },
            "hammer-" + t);
        workers.add(w);
        w.start();
      }
      for (Thread w : workers) {
        w.join();
      }
      stop.set(true);
      sampler.join();
      assertThat(workerFailure.get()).isNull();

      await()
          .untilAsserted(() -> assertThat(
                  m.stats().leased() + m.stats().connecting() + m.stats().pending())
              .isZero());
      assertThat(violations).isEmpty();
      assertThat(samples.get()).isPositive();
      assertThat(loopChecks.get()).isPositive();
      assertThat(server.acceptedCount())
          .as("sockets were discarded and evicted")
          .isGreaterThan(maxOpen);
      m.close();

      long issued = (long) threads * opsPerThread;
      assertThat(answers.size() + cancelled.size()).isEqualTo((int) issued);
      for (Map.Entry<Long, AtomicInteger> e : answers.entrySet()) {
        assertThat(e.getValue().get()).as("answers to request %d", e.getKey()).isEqualTo(1);
        assertThat(cancelled).doesNotContain(e.getKey());
      }
    }
  }

  /** Gives back held connections (close, sometimes discard) until at most {@code keep} remain. */
  private static void giveBack(
      Queue<Held> held, int keep, Random rnd, AtomicIntegerArray leasedPerKey) {
    if (keep == Integer.MAX_VALUE) {
      keep = 0;
    }
    while (held.size() > keep) {
      Held h = held.poll();
      if (h == null) {
        return;
      }
      leasedPerKey.decrementAndGet(h.key());
      if (rnd.nextInt(10) == 0) {
        h.connection().discard();
      } else {
        h.connection().close();
      }
    }
  }

  /**
   * maxOpen=1: the second request waits and gets the first socket (DEFERRED), the third gets it
   * from the pool (IMMEDIATE), the fourth, to a closed port, evicts the idle socket and is refused.
   */
  @Test
  void atMaxOpenOneTheSocketIsDeferredThenImmediateThenEvictedForARefusedConnect() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(server.port()), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      int port = r1.connection().localAddress().getPort();

      AllocationResult r2 = waitThenTakeOver(m, plain(server.port()), rec, r1.connection());
      assertThat(r2.connection().localAddress().getPort()).isEqualTo(port);
      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);

      m.allocate(plain(server.port()), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r3.connection().localAddress().getPort()).isEqualTo(port);
      r3.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      await().until(() -> server.acceptedCount() == 1);

      int closed = Loopback.closedPort();
      long id4 = m.allocate(Allocation.to("http", "127.0.0.1", closed), rec);
      AllocationResult r4 = rec.next();
      assertThat(r4.requestId()).isEqualTo(id4);
      assertThat(r4.isSuccess()).isFalse();
      assertThat(r4.connection()).isNull();
      assertThat(r4.fromCache()).isNull();
      assertThat(r4.function()).isEqualTo("connect");
      assertThat(r4.errorNum()).isEqualTo(111);
      assertThat(r4.errorStr()).isEqualTo("Connection refused");
      assertThat(r4.port()).isEqualTo(closed);
      // the idle socket was evicted to make room
      assertThat(PeerIo.awaitClosed(peerOf(server, port))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }

  /** maxPerHost=1: NEW, DEFERRED, IMMEDIATE, DEFERRED, all on one socket. */
  @Test
  void atMaxPerHostOneOneSocketIsNewDeferredImmediateDeferred() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(server.port()), rec);
      Connection first = rec.next().connection();
      assertThat(first.fromCache()).isEqualTo(FromCache.NEW);
      int port = first.localAddress().getPort();

      AllocationResult r2 = waitThenTakeOver(m, plain(server.port()), rec, first);

      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      m.allocate(plain(server.port()), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);

      AllocationResult r4 = waitThenTakeOver(m, plain(server.port()), rec, r3.connection());

      for (AllocationResult r : List.of(r2, r3, r4)) {
        assertThat(r.connection().localAddress().getPort()).isEqualTo(port);
      }
      await().until(() -> server.acceptedCount() == 1);
      r4.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  /** Giving a connection up releases both its per-host slot and its global slot. */
  @Test
  void givingAConnectionUpReleasesBothLimitSlots() {
    try (AcceptingServer serverA = new AcceptingServer();
        AcceptingServer serverB = new AcceptingServer();
        ConnectionManager m =
            ConnectionManager.builder().maxPerHost(1).maxOpen(1).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(serverA.port()), rec);
      Connection c1 = rec.next().connection();
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);

      // discard (what the original's close() did): the waiting request of the same key gets
      // a new socket
      m.allocate(plain(serverA.port()), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      c1.discard();
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      await().until(() -> serverA.acceptedCount() == 2);
      awaitStats(m, 1, 0, 1, 0, 0);

      // close (give back): the waiting request of another key gets the global slot
      m.allocate(plain(serverB.port()), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      r2.connection().close();
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r3.port()).isEqualTo(serverB.port());
      awaitStats(m, 1, 0, 1, 0, 0);

      // and the per-host slot of a key comes back with close(): the next request is IMMEDIATE
      r3.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      m.allocate(plain(serverB.port()), rec);
      AllocationResult r4 = rec.next();
      assertThat(r4.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      r4.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  /**
   * With {@code held} the only socket there may be, a request for {@code a} waits; when
   * {@code held} is given back, the request gets it (DEFERRED).
   */
  private static AllocationResult waitThenTakeOver(
      ConnectionManager m, Allocation a, ResultRecorder rec, Connection held) {
    m.allocate(a, rec);
    awaitStats(m, 1, 0, 1, 0, 1);
    held.close();
    AllocationResult r = rec.next();
    assertThat(r.fromCache()).isEqualTo(FromCache.DEFERRED);
    return r;
  }
}
