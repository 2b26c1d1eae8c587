package dev.keepalive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.SinkServer;
import dev.keepalive.testkit.TlsServer;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract's "Semantics that tests check", against real loopback sockets: limits, fairness,
 * delivery (never re-entrant, on the daemon loop thread, exactly once), no leaked descriptors,
 * lifecycle, argument checks, pool keys, keep-alive expiry, https failing cleanly, bind address
 * and cancellation.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ContractTest {
  private static final Duration LONG = Duration.ofSeconds(20);

  private static ConditionFactory await() {
    return Awaitility.await().atMost(LONG).pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5));
  }

  private static Connection get(CompletableFuture<Connection> f) throws Exception {
    return f.get(LONG.toSeconds(), TimeUnit.SECONDS);
  }

  /** The server's side of the client socket on local port {@code port}, once accepted. */
  private static Socket peerOf(AcceptingServer server, int port) {
    AtomicReference<Socket> peer = new AtomicReference<>();
    await().untilAsserted(() -> peer.set(server.peerOf(port)));
    return peer.get();
  }

  private static AllocationException failureOf(CompletableFuture<Connection> f) {
    Throwable t = catchThrowable(() -> f.get(LONG.toSeconds(), TimeUnit.SECONDS));
    assertThat(t).isInstanceOf(ExecutionException.class);
    assertThat(t.getCause()).isInstanceOf(AllocationException.class);
    return (AllocationException) t.getCause();
  }

  private static void checkCounts(PoolStats s, int maxOpen, int activeCap, String where,
      Queue<String> violations) {
    if (s.open() > maxOpen) {
      violations.add(where + ": open " + s.open() + " > maxOpen " + maxOpen + " in " + s);
    }
    if (s.open() != s.idle() + s.leased() + s.connecting()) {
      violations.add(where + ": open != idle + leased + connecting in " + s);
    }
    if (s.leased() + s.connecting() > activeCap) {
      violations.add(where + ": leased + connecting > keys * maxPerHost (" + activeCap + ") in "
          + s);
    }
    if (s.idle() < 0 || s.leased() < 0 || s.connecting() < 0 || s.pending() < 0) {
      violations.add(where + ": negative count in " + s);
    }
  }

  // ---------------------------------------------------------------- limits

  /** Which key and which hammering thread a request belongs to (its context). */
  private record Tag(int key, int thread) {}

  /** A connection a hammering thread holds, with its key. */
  private record Held(int key, Connection connection) {}

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
        ConnectionManager m = ConnectionManager.builder().maxPerHost(maxPerHost)
            .maxOpen(maxOpen).build()) {
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
      Thread sampler = new Thread(() -> {
        while (!stop.get()) {
          checkCounts(m.stats(), maxOpen, activeCap, "sample", violations);
          samples.incrementAndGet();
        }
      }, "stats-sampler");
      sampler.setDaemon(true);
      sampler.start();

      List<Thread> workers = new ArrayList<>();
      AtomicReference<Throwable> workerFailure = new AtomicReference<>();
      for (int t = 0; t < threads; t++) {
        final int me = t;
        Thread w = new Thread(() -> {
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
        }, "hammer-" + t);
        workers.add(w);
        w.start();
      }
      for (Thread w : workers) {
        w.join();
      }
      stop.set(true);
      sampler.join();
      assertThat(workerFailure.get()).isNull();

      await().untilAsserted(() -> assertThat(m.stats().leased() + m.stats().connecting()
          + m.stats().pending()).isZero());
      assertThat(violations).isEmpty();
      assertThat(samples.get()).isPositive();
      assertThat(loopChecks.get()).isPositive();
      assertThat(server.acceptedCount()).as("sockets were discarded and evicted")
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
  private static void giveBack(Queue<Held> held, int keep, Random rnd,
      AtomicIntegerArray leasedPerKey) {
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

  // ---------------------------------------------------------------- fairness

  @Test
  void waitingRequestsAreServedInArrivalOrderAcrossKeys() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Allocation b = Allocation.to("other", "127.0.0.1", server.port());
      Connection held = get(m.allocate(a));

      List<String> expected = new ArrayList<>();
      List<Long> ids = new ArrayList<>();
      List<String> served = new CopyOnWriteArrayList<>();
      List<Long> servedIds = new CopyOnWriteArrayList<>();
      Map<String, FromCache> how = new ConcurrentHashMap<>();
      Consumer<AllocationResult> cb = r -> {
        served.add((String) r.context());
        servedIds.add(r.requestId());
        if (r.isSuccess()) {
          how.put((String) r.context(), r.fromCache());
          r.connection().close(); // frees the only slot for the next waiter
        }
      };
      for (int i = 1; i <= 4; i++) {
        expected.add("A" + i);
        ids.add(m.allocate(a.context("A" + i), cb));
        expected.add("B" + i);
        ids.add(m.allocate(b.context("B" + i), cb));
      }
      await().until(() -> m.stats().pending() == expected.size());
      assertThat(served).isEmpty();

      held.close();
      await().until(() -> served.size() == expected.size());
      assertThat(served).containsExactlyElementsOf(expected);
      assertThat(servedIds).containsExactlyElementsOf(ids);
      assertThat(how).hasSize(expected.size());
      assertThat(how.get("A1")).isEqualTo(FromCache.DEFERRED);
      await().until(() -> m.stats().open() <= 1 && m.stats().pending() == 0);
    }
  }

  @Test
  void aKeyAtItsLimitDoesNotBlockAnotherKey() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).maxOpen(2).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Allocation b = Allocation.to("http", "127.0.0.1", server.port())
          .forTarget("http", "b.example", 80);
      Connection heldA = get(m.allocate(a));
      CompletableFuture<Connection> waitingA = m.allocate(a);
      await().until(() -> m.stats().pending() == 1);

      Connection cb = get(m.allocate(b)); // arrived later, different key: served now
      assertThat(cb.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(waitingA).isNotDone();

      heldA.close();
      Connection a2 = get(waitingA);
      assertThat(a2.fromCache()).isEqualTo(FromCache.DEFERRED);
      a2.close();
      cb.close();
    }
  }

  // ---------------------------------------------------------------- delivery

  @Test
  void resultsAreNeverDeliveredOnTheStackOfAllocate() throws Exception {
    ThreadLocal<Boolean> inAllocate = ThreadLocal.withInitial(() -> false);
    try (AcceptingServer server = new AcceptingServer();
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Allocation https = Allocation.to("https", "127.0.0.1", notTls.port());
      Queue<String> problems = new ConcurrentLinkedQueue<>();
      List<FromCache> poolHits = new CopyOnWriteArrayList<>();
      AtomicInteger httpsAnswers = new AtomicInteger();
      CompletableFuture<Void> done = new CompletableFuture<>();
      Thread testThread = Thread.currentThread();

      Consumer<AllocationResult> onHttps = r -> {
        if (inAllocate.get()) {
          problems.add("https failure delivered inside allocate()");
        }
        httpsAnswers.incrementAndGet();
      };
      Consumer<AllocationResult> second = r -> {
        if (inAllocate.get()) {
          problems.add("pool hit delivered inside allocate()");
        }
        poolHits.add(r.fromCache());
        if (m.stats().leased() != 1) {
          problems.add("expected exactly one leased socket, stats " + m.stats());
        }
        r.connection().close(); // back in the pool at once (we are on the loop)
        CompletableFuture<Connection> f;
        boolean completedInline;
        inAllocate.set(true);
        try {
          f = m.allocate(a);
          completedInline = f.isDone();
        } finally {
          inAllocate.set(false);
        }
        if (completedInline) {
          problems.add("future completed inside allocate()");
        }
        f.whenComplete((c, e) -> {
          if (inAllocate.get()) {
            problems.add("future completed inside allocate()");
          }
          if (c != null) {
            poolHits.add(c.fromCache());
            c.close();
          } else {
            problems.add("future failed: " + e);
          }
          done.complete(null);
        });
      };
      Consumer<AllocationResult> first = r -> {
        if (inAllocate.get() || Thread.currentThread() == testThread) {
          problems.add("first result delivered on the caller's stack");
        }
        if (!r.isSuccess()) {
          problems.add("first failed: " + r);
          done.complete(null);
          return;
        }
        r.connection().close(); // inline on the loop: the socket is idle now
        if (m.stats().idle() != 1) {
          problems.add("expected the socket to be pooled, stats " + m.stats());
        }
        inAllocate.set(true);
        try {
          m.allocate(a, second); // a pool hit: IMMEDIATE, but still answered later
          m.allocate(https, onHttps); // a failed handshake, answered later
        } finally {
          inAllocate.set(false);
        }
      };

      inAllocate.set(true);
      try {
        m.allocate(a, first);
      } finally {
        inAllocate.set(false);
      }
      done.get(LONG.toSeconds(), TimeUnit.SECONDS);
      await().until(() -> httpsAnswers.get() == 1);
      assertThat(problems).isEmpty();
      assertThat(poolHits).containsExactly(FromCache.IMMEDIATE, FromCache.IMMEDIATE);
    }
  }

  @Test
  void resultsRunOnTheEventLoopThreadWhichIsADaemon() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation ok = Allocation.to("http", "127.0.0.1", server.port());
      Allocation refused = Allocation.to("http", "127.0.0.1", Loopback.closedPort());
      List<Thread> seen = new CopyOnWriteArrayList<>();
      CompletableFuture<AllocationResult> success = new CompletableFuture<>();
      CompletableFuture<AllocationResult> failure = new CompletableFuture<>();
      m.allocate(ok, r -> {
        seen.add(Thread.currentThread());
        success.complete(r);
      });
      m.allocate(refused, r -> {
        seen.add(Thread.currentThread());
        failure.complete(r);
      });
      AllocationResult s = success.get(LONG.toSeconds(), TimeUnit.SECONDS);
      AllocationResult f = failure.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(s.isSuccess()).isTrue();
      assertThat(f.isSuccess()).isFalse();

      // a future completed later: its dependents registered before run on the loop too
      CompletableFuture<Connection> waiting = m.allocate(ok);
      CompletableFuture<Thread> completedOn = waiting.handle((c, e) -> Thread.currentThread());
      await().until(() -> m.stats().pending() == 1);
      s.connection().close();
      seen.add(completedOn.get(LONG.toSeconds(), TimeUnit.SECONDS));
      get(waiting).close();

      assertThat(seen).hasSize(3);
      Thread loop = seen.get(0);
      assertThat(seen).allSatisfy(t -> assertThat(t).isSameAs(loop));
      assertThat(loop).isNotSameAs(Thread.currentThread());
      assertThat(loop.isDaemon()).as("event loop thread is a daemon").isTrue();
    }
  }

  @Test
  void everyRequestIsAnsweredExactlyOnceWithTheSeedsErrors() throws Exception {
    Resolver resolver = host -> CompletableFuture.failedFuture(new UnknownHostException(host));
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hang = new HangingListener();
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).resolver(resolver)
            .build()) {
      Map<Long, List<AllocationResult>> answers = new ConcurrentHashMap<>();
      Consumer<AllocationResult> cb = r ->
          answers.computeIfAbsent(r.requestId(), id -> new CopyOnWriteArrayList<>()).add(r);
      Allocation ok = Allocation.to("http", "127.0.0.1", server.port());

      Connection held = get(m.allocate(ok));
      List<Long> queued = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        queued.add(m.allocate(ok, cb));
      }
      long withdrawn = m.allocate(ok, cb);
      List<Long> refused = new ArrayList<>();
      List<Long> timedOut = new ArrayList<>();
      List<Long> unresolved = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        refused.add(m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()),
            cb));
        timedOut.add(m.allocate(Allocation.to("http", "127.0.0.1", hang.port())
            .timeout(Duration.ofMillis(200)), cb));
        unresolved.add(m.allocate(Allocation.to("http", "no-such-host.invalid", 80), cb));
      }
      long tls = m.allocate(Allocation.to("https", "127.0.0.1", notTls.port()), cb);
      await().until(() -> m.stats().pending() >= 4);
      assertThat(m.deallocate(withdrawn)).isTrue();
      assertThat(m.deallocate(withdrawn)).isFalse();
      assertThat(m.deallocate(Long.MAX_VALUE)).isFalse();

      List<Long> early = new ArrayList<>(refused);
      early.addAll(timedOut);
      early.addAll(unresolved);
      early.add(tls);
      await().until(() -> answers.keySet().containsAll(early));
      for (long id : refused) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.connection()).isNull();
        assertThat(r.fromCache()).isNull();
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(111);
        assertThat(r.errorStr()).isEqualTo("Connection refused");
      }
      for (long id : timedOut) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
        assertThat(r.errorStr()).isEqualTo("Connection timed out");
      }
      for (long id : unresolved) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.function()).isEqualTo("resolve");
        assertThat(r.errorNum()).isNull();
        assertThat(r.errorStr()).isNotBlank();
        assertThat(r.addr()).isEqualTo("no-such-host.invalid");
      }
      assertThat(answers.get(tls).get(0).function()).isEqualTo("sslify");
      assertThat(queued).allSatisfy(id -> assertThat(answers).doesNotContainKey(id));

      m.shutdown();
      assertThatThrownBy(() -> m.allocate(ok, cb)).isInstanceOf(IllegalStateException.class);
      await().until(() -> answers.keySet().containsAll(queued));
      for (long id : queued) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.function()).isEqualTo("shutdown");
        assertThat(r.errorNum()).isNull();
        assertThat(r.errorStr()).isEqualTo("Connection manager is shut down");
      }
      // a leased connection keeps working after shutdown, then is closed, not pooled
      assertThat(held.isOpen()).isTrue();
      held.write(ByteBuffer.wrap("still here".getBytes(StandardCharsets.US_ASCII)))
          .get(LONG.toSeconds(), TimeUnit.SECONDS);
      held.close();
      await().until(() -> m.stats().leased() == 0);
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));

      m.close(); // the loop has ended: no answer can come any more
      assertThat(answers).doesNotContainKey(withdrawn);
      assertThat(answers).hasSize(queued.size() + early.size());
      answers.forEach((id, list) ->
          assertThat(list).as("answers to request %d", id).hasSize(1));
      Set<Long> allIds = new java.util.HashSet<>(answers.keySet());
      allIds.add(withdrawn);
      assertThat(allIds).allSatisfy(id -> assertThat(id).isPositive());
      assertThat(allIds).hasSize(answers.size() + 1); // ids are unique
    }
  }

  // ---------------------------------------------------------------- resources

  @Test
  void noFileDescriptorIsLeftOpenAfterClose() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hang = new HangingListener()) {
      fdScenario(server, hang); // warm-up: load every class and open every jar first
      for (Socket s : server.accepted()) {
        s.close();
      }
      int before = Descriptors.count();
      Map<Integer, String> beforeList = listFds();
      fdScenario(server, hang);
      for (Socket s : server.accepted()) {
        s.close(); // the server's side of the manager's sockets; the manager's side is gone
      }
      try {
        await().until(() -> Descriptors.count() == before);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        Map<Integer, String> now = listFds();
        now.keySet().removeAll(beforeList.keySet());
        throw new AssertionError("descriptors left open: " + now, e);
      }
    }
  }

  private static void fdScenario(AcceptingServer server, HangingListener hang)
      throws Exception {
    int acceptedBefore = server.acceptedCount();
    ConnectionManager m = ConnectionManager.builder().maxPerHost(10).build();
    try {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      List<CompletableFuture<Connection>> fs = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        fs.add(m.allocate(a));
      }
      List<Connection> cs = new ArrayList<>();
      for (CompletableFuture<Connection> f : fs) {
        cs.add(get(f));
      }
      for (int i = 0; i < 3; i++) {
        cs.get(i).close(); // pooled
      }
      cs.get(3).discard(); // closed while the manager runs
      cs.get(4).channel().close(); // likewise
      AllocationException refused = failureOf(
          m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort())));
      assertThat(refused.errorNum()).isEqualTo(111);
      CompletableFuture<Connection> hanging =
          m.allocate(Allocation.to("http", "127.0.0.1", hang.port()));
      await().until(() -> m.stats().equals(new PoolStats(7, 3, 3, 1, 0)));
      await().until(() -> server.acceptedCount() == acceptedBefore + 8);
      m.close();
      AllocationException shut = failureOf(hanging);
      assertThat(shut.function()).isEqualTo("shutdown");
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
      for (Connection c : cs) {
        assertThat(c.isOpen()).isFalse();
      }
    } finally {
      m.close();
    }
  }

  private static Map<Integer, String> listFds() {
    Map<Integer, String> out = new TreeMap<>();
    String[] names = new File("/proc/self/fd").list();
    if (names != null) {
      for (String n : names) {
        try {
          out.put(Integer.parseInt(n), Files.readSymbolicLink(Path.of("/proc/self/fd", n))
              .toString());
        } catch (IOException | NumberFormatException e) {
          // gone meanwhile
        }
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- lifecycle

  @Test
  void allocateThrowsIllegalStateAfterShutdownAndAfterClose() throws Exception {
    try (AcceptingServer server = new AcceptingServer()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ConnectionManager shut = ConnectionManager.create();
      ConnectionManager closed = ConnectionManager.create();
      try {
        get(shut.allocate(a)).close();
        shut.shutdown();
        shut.shutdown(); // idempotent
        assertThatThrownBy(() -> shut.allocate(a)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> shut.allocate(a, r -> { }))
            .isInstanceOf(IllegalStateException.class);

        get(closed.allocate(a)).close();
        closed.close();
        closed.close(); // idempotent
        assertThatThrownBy(() -> closed.allocate(a)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> closed.allocate(a, r -> { }))
            .isInstanceOf(IllegalStateException.class);
        assertThat(closed.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
        await().until(() -> shut.stats().open() == 0);
      } finally {
        shut.close();
        closed.close();
      }
    }
  }

  // ---------------------------------------------------------------- arguments

  private static void rejects(Runnable call, String argument) {
    assertThatThrownBy(call::run).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(argument);
  }

  @Test
  void builderRejectsEveryBadArgumentNamingIt() throws Exception {
    rejects(() -> ConnectionManager.builder().maxPerHost(0), "maxPerHost");
    rejects(() -> ConnectionManager.builder().maxPerHost(-1), "maxPerHost");
    rejects(() -> ConnectionManager.builder().maxOpen(0), "maxOpen");
    rejects(() -> ConnectionManager.builder().maxOpen(-1), "maxOpen");
    rejects(() -> ConnectionManager.builder().keepAlive(null), "keepAlive");
    rejects(() -> ConnectionManager.builder().keepAlive(Duration.ZERO), "keepAlive");
    rejects(() -> ConnectionManager.builder().keepAlive(Duration.ofMillis(-1)), "keepAlive");
    rejects(() -> ConnectionManager.builder().timeout(null), "timeout");
    rejects(() -> ConnectionManager.builder().timeout(Duration.ZERO), "timeout");
    rejects(() -> ConnectionManager.builder().timeout(Duration.ofSeconds(-5)), "timeout");
    rejects(() -> ConnectionManager.builder().resolver(null), "resolver");
    rejects(() -> ConnectionManager.builder().bindAddress(null), "bindAddress");
    rejects(() -> ConnectionManager.builder().sslContext(null), "sslContext");
    // the good values are taken
    ConnectionManager.builder().maxPerHost(1).maxOpen(1).keepAlive(Duration.ofNanos(1))
        .timeout(Duration.ofNanos(1)).resolver(Resolver.system())
        .bindAddress(InetAddress.getLoopbackAddress()).sslContext(SSLContext.getDefault())
        .build().close();
  }

  @Test
  void allocationRejectsEveryBadArgumentNamingIt() {
    rejects(() -> Allocation.to(null, "127.0.0.1", 80), "scheme");
    rejects(() -> Allocation.to("", "127.0.0.1", 80), "scheme");
    rejects(() -> Allocation.to("  ", "127.0.0.1", 80), "scheme");
    rejects(() -> Allocation.to("http", null, 80), "addr");
    rejects(() -> Allocation.to("http", "", 80), "addr");
    rejects(() -> Allocation.to("http", " \t", 80), "addr");
    rejects(() -> Allocation.to("http", "127.0.0.1", 0), "port");
    rejects(() -> Allocation.to("http", "127.0.0.1", -1), "port");
    rejects(() -> Allocation.to("http", "127.0.0.1", 65536), "port");
    Allocation a = Allocation.to("http", "127.0.0.1", 65535);
    assertThat(Allocation.to("http", "127.0.0.1", 1).port()).isEqualTo(1);
    rejects(() -> a.timeout(null), "timeout");
    rejects(() -> a.timeout(Duration.ZERO), "timeout");
    rejects(() -> a.timeout(Duration.ofMillis(-1)), "timeout");
    rejects(() -> a.forTarget(null, "example.org", 80), "forScheme");
    rejects(() -> a.forTarget(" ", "example.org", 80), "forScheme");
    rejects(() -> a.forTarget("http", null, 80), "forAddr");
    rejects(() -> a.forTarget("http", "", 80), "forAddr");
    rejects(() -> a.forTarget("http", "example.org", 0), "forPort");
    rejects(() -> a.forTarget("http", "example.org", 65536), "forPort");
    rejects(() -> a.forTarget("http", "example.org", -1), "forPort");
  }

  @Test
  void managerRejectsBadArgumentsNamingThem() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create();
        ConnectionManager other = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      rejects(() -> m.allocate(null, r -> { }), "request");
      rejects(() -> m.allocate(a, null), "event");
      rejects(() -> m.allocate(null), "request");
      rejects(() -> m.free(null), "connection");
      Connection foreign = get(other.allocate(a));
      rejects(() -> m.free(foreign), "connection");
      assertThat(foreign.isOpen()).as("a refused free leaves the connection alone").isTrue();
      other.free(foreign);
      assertThat(foreign.isOpen()).isFalse();
      await().until(() -> other.stats().idle() == 1);
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
    }
  }

  // ---------------------------------------------------------------- pool keys

  @Test
  void hostNamesAreComparedCaseInsensitively() throws Exception {
    List<String> looked = new CopyOnWriteArrayList<>();
    Resolver resolver = host -> {
      looked.add(host);
      CompletionStage<List<InetAddress>> s = CompletableFuture.completedFuture(
          new ArrayList<>(List.of(InetAddress.getLoopbackAddress())));
      return s;
    };
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      Connection lower = get(m.allocate(Allocation.to("http", "localhost", server.port())));
      assertThat(lower.fromCache()).isEqualTo(FromCache.NEW);
      int port = lower.localAddress().getPort();
      lower.close();
      await().until(() -> m.stats().idle() == 1);
      Connection upper = get(m.allocate(Allocation.to("http", "LOCALHOST", server.port())));
      assertThat(upper.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(upper.localAddress().getPort()).isEqualTo(port);
      assertThat(upper.addr()).isEqualTo("LOCALHOST"); // the request's own words
      upper.close();
      await().until(() -> server.acceptedCount() == 1);
      assertThat(looked).hasSize(1);
      assertThat(looked.get(0)).isEqualToIgnoringCase("localhost");
    }
  }

  @Test
  void hostNamesConnectThroughTheSystemResolver() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().timeout(Duration.ofSeconds(5))
            .build()) {
      Connection c = get(m.allocate(Allocation.to("http", "localhost", server.port())));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c.remoteAddress().getPort()).isEqualTo(server.port());
      c.close();
    }
  }

  @Test
  void aResolverMayAnswerWithAnImmutableList() throws Exception {
    Resolver resolver = host ->
        CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver)
            .timeout(Duration.ofSeconds(5)).build()) {
      Connection c = get(m.allocate(Allocation.to("http", "service.test", server.port())));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      c.close();
    }
  }

  @Test
  void differentSchemesToOneAddressNeverShare() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Connection http = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      int httpPort = http.localAddress().getPort();
      http.close();
      await().until(() -> m.stats().idle() == 1);
      for (String scheme : List.of("ftp", "other")) {
        Connection c = get(m.allocate(Allocation.to(scheme, "127.0.0.1", server.port())));
        assertThat(c.fromCache()).as(scheme).isEqualTo(FromCache.NEW);
        assertThat(c.localAddress().getPort()).isNotEqualTo(httpPort);
        assertThat(c.scheme()).isEqualTo(scheme);
        c.close();
      }
      await().until(() -> m.stats().idle() == 3);
      Connection again = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(again.localAddress().getPort()).isEqualTo(httpPort);
      again.close();
    }
  }

  @Test
  void differentProxyTargetsNeverShare() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation proxy = Allocation.to("http", "127.0.0.1", server.port());
      Allocation forA = proxy.forTarget("http", "a.example", 80);
      Allocation forB = proxy.forTarget("http", "b.example", 80);
      Allocation forA443 = proxy.forTarget("http", "a.example", 443);
      Allocation forAs = proxy.forTarget("https", "a.example", 80);

      CompletableFuture<AllocationResult> first = new CompletableFuture<>();
      m.allocate(forA.context("ctx"), first::complete);
      AllocationResult r = first.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(r.forScheme()).isEqualTo("http");
      assertThat(r.forAddr()).isEqualTo("a.example");
      assertThat(r.forPort()).isEqualTo(80);
      assertThat(r.context()).isEqualTo("ctx");
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      int aPort = r.connection().localAddress().getPort();
      r.connection().close();
      await().until(() -> m.stats().idle() == 1);

      for (Allocation other : List.of(forB, forA443, forAs, proxy)) {
        Connection c = get(m.allocate(other));
        assertThat(c.fromCache()).as(other.toString()).isEqualTo(FromCache.NEW);
        assertThat(c.localAddress().getPort()).isNotEqualTo(aPort);
        c.close();
      }
      Connection again = get(m.allocate(forA));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(again.localAddress().getPort()).isEqualTo(aPort);
      again.close();

      // an unset target is the connection's own scheme/addr/port
      CompletableFuture<AllocationResult> plain = new CompletableFuture<>();
      m.allocate(proxy.forTarget("http", "127.0.0.1", server.port()), plain::complete);
      AllocationResult p = plain.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(p.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      p.connection().close();
    }
  }

  // ---------------------------------------------------------------- keep-alive

  @Test
  void idleSocketsAreClosedAfterKeepAlive() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().keepAlive(Duration.ofMillis(500))
            .build()) {
      CompletableFuture<PoolStats> afterGiveBack = new CompletableFuture<>();
      CompletableFuture<Integer> localPort = new CompletableFuture<>();
      m.allocate(Allocation.to("http", "127.0.0.1", server.port()), r -> {
        localPort.complete(r.connection().localAddress().getPort());
        r.connection().close(); // on the loop: pooled at once
        afterGiveBack.complete(m.stats()); // exact on the loop
      });
      assertThat(afterGiveBack.get(LONG.toSeconds(), TimeUnit.SECONDS))
          .isEqualTo(new PoolStats(1, 1, 0, 0, 0));
      Socket peer = peerOf(server, localPort.get());
      peer.setSoTimeout((int) LONG.toMillis());
      InputStream in = peer.getInputStream();
      assertThat(in.read()).as("the peer sees EOF when the idle socket expires").isEqualTo(-1);
      await().until(() -> m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));
    }
  }

  // ---------------------------------------------------------------- https, bind, cancel

  @Test
  void httpsFailsCleanlyWithSslify() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m = ConnectionManager.create()) {
      // the peer answers the ClientHello with plain text: the handshake fails
      Allocation https = Allocation.to("https", "127.0.0.1", notTls.port()).context(7);
      AllocationException e = failureOf(m.allocate(https));
      assertThat(e.function()).isEqualTo("sslify");
      assertThat(e.errorStr()).isNotBlank();
      assertThat(e.result().isSuccess()).isFalse();
      assertThat(e.result().connection()).isNull();
      assertThat(e.result().scheme()).isEqualTo("https");

      CompletableFuture<AllocationResult> cb = new CompletableFuture<>();
      m.allocate(https, cb::complete);
      AllocationResult r = cb.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(r.isSuccess()).isFalse();
      assertThat(r.function()).isEqualTo("sslify");
      assertThat(r.context()).isEqualTo(7);
      assertThat(r.fromCache()).isNull();
      await().until(() -> m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));

      // the manager still works
      Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      c.close();
    }
  }

  @Test
  void bindAddressIsHonoured() throws Exception {
    InetAddress local = InetAddress.getByName("127.0.0.2");
    try (Socket probe = new Socket()) {
      probe.bind(new java.net.InetSocketAddress(local, 0));
    } catch (IOException e) {
      local = InetAddress.getByName("127.0.0.1"); // only 127.0.0.1 is configured here
    }
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().bindAddress(local).build()) {
      Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      assertThat(c.localAddress().getAddress()).isEqualTo(local);
      Socket peer = peerOf(server, c.localAddress().getPort());
      assertThat(peer.getInetAddress()).isEqualTo(local);
      c.close();
    }
  }

  @Test
  void cancellingARequestStuckConnectingReleasesItsSlot() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hang = new HangingListener();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      Allocation stuck = Allocation.to("http", "127.0.0.1", hang.port());
      Allocation ok = Allocation.to("http", "127.0.0.1", server.port());

      CompletableFuture<Connection> f = m.allocate(stuck);
      await().until(() -> m.stats().connecting() == 1);
      CompletableFuture<Connection> queued = m.allocate(ok); // waits for the only slot
      await().until(() -> m.stats().pending() == 1);
      assertThat(f.cancel(true)).isTrue();
      assertThat(f.isCancelled()).isTrue();
      Connection c = get(queued); // the slot was released
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      c.close();
      await().until(() -> m.stats().equals(new PoolStats(1, 1, 0, 0, 0)));

      // seed style: deallocate(), and the event is never called
      AtomicInteger called = new AtomicInteger();
      long id = m.allocate(stuck, r -> called.incrementAndGet());
      await().until(() -> m.stats().connecting() == 1); // the idle socket was evicted
      assertThat(m.deallocate(id)).isTrue();
      assertThat(m.deallocate(id)).isFalse();
      await().until(() -> m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));
      Connection again = get(m.allocate(ok));
      again.close();
      // an answered request cannot be deallocated
      CompletableFuture<AllocationResult> answered = new CompletableFuture<>();
      long done = m.allocate(ok, answered::complete);
      answered.get(LONG.toSeconds(), TimeUnit.SECONDS).connection().close();
      assertThat(m.deallocate(done)).isFalse();
      m.close();
      assertThat(called.get()).isZero();
      assertThat(f.isCancelled()).isTrue();
    }
  }

  /**
   * Two threads cancel the same future at once: exactly one cancel returns true
   * (CompletableFuture alone answers true to every cancel once it is cancelled; the manager's
   * future must not). Found by LifecycleRacesTest, which saw two true cancels of one request.
   */
  @Test
  void racingCancelsOfOneFutureReturnTrueOnce() throws Exception {
    try (HangingListener hang = new HangingListener();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation stuck = Allocation.to("http", "127.0.0.1", hang.port());
      java.util.concurrent.ExecutorService other = java.util.concurrent.Executors
          .newSingleThreadExecutor();
      try {
        for (int i = 0; i < 300; i++) {
          CompletableFuture<Connection> f = m.allocate(stuck); // queued or connecting for ever
          java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
          java.util.concurrent.Future<Boolean> theirs = other.submit(() -> {
            start.await();
            return f.cancel(true);
          });
          start.await();
          boolean mine = f.cancel(true);
          assertThat(mine ^ theirs.get(LONG.toSeconds(), TimeUnit.SECONDS))
              .as("exactly one of two racing cancels returns true (round %d)", i).isTrue();
          assertThat(f.isCancelled()).isTrue();
        }
      } finally {
        other.shutdownNow();
      }
      await().until(() -> m.stats().pending() == 0 && m.stats().connecting() == 0);
    }
  }
}
