package dev.keepalive.reliability;

import static dev.keepalive.reliability.Harness.onLoop;
import static dev.keepalive.testing.Managers.EMPTY;
import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testing.Managers.stats;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testing.Managers;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.SinkServer;
import dev.keepalive.testkit.TcpTable;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import dev.keepalive.testkit.TlsServer.Behaviour;
import java.net.Socket;
import java.nio.channels.AsynchronousCloseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Lifecycle calls racing the requests: deallocate(), shutdown() and close() in every phase of a
 * request, close() from other threads while callbacks and handlers run, and thousands of
 * allocations cancelled at random from several threads and from the loop itself.
 */
@ReliabilityTest
class LifecycleRacesTest {
  private static final TestCertificates FIX = TestCertificates.get();
  private static final String SHUT = "Connection manager is shut down";

  /** Where a request (or the socket it got) is when the lifecycle call comes. */
  enum Phase {
    /** Waiting for its host name's lookup. */
    RESOLVING,
    /** Waiting for a slot: its key is at maxPerHost. */
    QUEUED,
    /** Its TCP connect is in progress (the listener's accept queue is full). */
    CONNECTING,
    /** TCP is up, the TLS handshake is not (the server never answers the ClientHello). */
    HANDSHAKING,
    /** Served from the pool, its answer queued but not yet delivered (the loop is held). */
    ANSWERED,
    /** Delivered: its holder has the connection, a handler started. */
    DELIVERED,
    /** No request: a socket idle in the pool. */
    IDLE;

    boolean pending() {
      return this == RESOLVING || this == QUEUED || this == CONNECTING || this == HANDSHAKING;
    }
  }

  /** A manager with one request (or socket) in a given phase, and what the test needs of it. */
  private static final class Rig implements AutoCloseable {
    final Phase phase;
    final TestResolver resolver = TestResolver.manual();
    final AcceptingServer server = new AcceptingServer();
    final HangingListener hanging;
    final TlsServer silent;
    final ConnectionManager m;
    final ResultRecorder rec = new ResultRecorder();
    final Allocation target;
    long id;
    Connection blocker; // QUEUED: the holder of the key's only slot
    Connection leased; // DELIVERED
    HandlerRecorder handler; // DELIVERED
    Socket peer; // ANSWERED, DELIVERED, IDLE: the server's side of the socket

    Rig(Phase phase) throws Exception {
      this.phase = phase;
      hanging = phase == Phase.CONNECTING ? new HangingListener() : null;
      silent = phase == Phase.HANDSHAKING
          ? TlsServer.builder().behaviour(Behaviour.SILENT).build()
          : null;
      m = ConnectionManager.builder()
          .maxPerHost(1)
          .resolver(resolver)
          .sslContext(FIX.clientContext())
          .build();
      switch (phase) {
        case RESOLVING -> {
          target = Allocation.to("http", "phase.test", server.port());
          id = m.allocate(target, rec);
          await().until(() -> resolver.callCount() == 1);
          awaitStats(m, stats(0, 0, 0, 0, 1));
        }
        case QUEUED -> {
          target = plain(server.port());
          blocker = get(m.allocate(target));
          peerOf(server, blocker); // accepted before the server closes
          id = m.allocate(target, rec);
          awaitStats(m, stats(1, 0, 1, 0, 1));
        }
        case CONNECTING -> {
          target = plain(hanging.port());
          id = m.allocate(target, rec);
          await()
              .until(
                  () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 1);
          awaitStats(m, stats(1, 0, 0, 1, 0));
        }
        case HANDSHAKING -> {
          target = Allocation.to("https", "127.0.0.1", silent.port());
          id = m.allocate(target, rec);
          await()
              .until(() -> silent.acceptedCount() == 1 && silent.peers().get(0).rawReceived() > 0);
          awaitStats(m, stats(1, 0, 0, 1, 0));
        }
        case ANSWERED, IDLE -> {
          target = plain(server.port());
          Connection c = get(m.allocate(target));
          peer = peerOf(server, c);
          c.close();
          awaitStats(m, stats(1, 1, 0, 0, 0));
        }
        case DELIVERED -> {
          target = plain(server.port());
          id = m.allocate(target, rec);
          leased = rec.next().connection();
          peer = peerOf(server, leased);
          handler = new HandlerRecorder();
          leased.start(handler);
          awaitStats(m, stats(1, 0, 1, 0, 0));
        }
        default -> throw new AssertionError(phase);
      }
    }

    /** Runs {@code call} where the phase needs it: for ANSWERED on the loop, right after the
     *  request was served from the pool; otherwise here. */
    <T> T atPhase(java.util.concurrent.Callable<T> call) throws Exception {
      if (phase != Phase.ANSWERED) {
        return call.call();
      }
      return onLoop(m, () -> {
        id = m.allocate(target, rec); // inline: served from the pool, delivery queued
        assertThat(m.stats()).isEqualTo(stats(1, 0, 1, 0, 0));
        return call.call();
      });
    }

    /** Ends the manager with {@code end} (shutdown or close) at the phase; the manager. */
    ConnectionManager endAtPhase(java.util.function.Consumer<ConnectionManager> end)
        throws Exception {
      atPhase(Managers.callable(() -> end.accept(m)));
      return m;
    }

    /** Checks the sockets the phase had are closed, as seen from their peers. */
    void assertSocketsClosed() throws Exception {
      if (peer != null) {
        assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.EOF);
      }
      if (hanging != null) {
        await()
            .until(
                () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).isEmpty());
      }
      if (silent != null) {
        within(silent.peers().get(0).ended());
      }
    }

    @Override
    public void close() {
      m.close();
      server.close();
      if (hanging != null) {
        hanging.close();
      }
      if (silent != null) {
        silent.close();
      }
    }
  }

  // ---------------------------------------------------------------- every phase

  /**
   * deallocate() cancels a request that is still resolving, queued, connecting or in its TLS
   * handshake: true once, never answered, every slot and socket released. Once the request is
   * answered (even if the answer is not yet delivered) it returns false and the answer comes,
   * once.
   */
  @ParameterizedTest
  @EnumSource(value = Phase.class, names = "IDLE", mode = EnumSource.Mode.EXCLUDE)
  void deallocateInEveryPhase(Phase phase) throws Exception {
    try (Rig r = new Rig(phase)) {
      ConnectionManager m = r.m;
      boolean cancelled = r.atPhase(() -> m.deallocate(r.id));
      assertThat(cancelled).isEqualTo(phase.pending());
      assertThat(m.deallocate(r.id)).isFalse();
      if (phase.pending()) {
        awaitStats(m, phase == Phase.QUEUED ? stats(1, 0, 1, 0, 0) : EMPTY);
        assertThat(onLoop(m, () -> Internals.books(m).tracked())).isZero();
        r.assertSocketsClosed();
        switch (phase) {
          case RESOLVING -> {
            r.resolver.completeAll(Loopback.ipv4()); // reaches nobody
            assertThat(onLoop(m, () -> Internals.books(m))).isEqualTo(Internals.Books.NONE);
            CompletableFuture<Connection> again = m.allocate(r.target); // a lookup of its own
            await().until(() -> r.resolver.callCount() == 2);
            r.resolver.completeAll(Loopback.ipv4());
            Connection c = get(again);
            peerOf(r.server, c); // accepted before the server closes
            assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
            c.close();
          }
          case QUEUED -> {
            r.blocker.close(); // to the pool, not to the cancelled request
            awaitStats(m, stats(1, 1, 0, 0, 0));
            assertNextServed(m, r.target, FromCache.IMMEDIATE);
          }
          default -> {
            Connection c = get(m.allocate(plain(r.server.port()))); // its slot is free
            peerOf(r.server, c); // accepted before the server closes
            assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
            c.close();
          }
        }
        m.close();
        assertThat(r.rec.all()).isEmpty();
      } else {
        AllocationResult a =
            phase == Phase.ANSWERED ? r.rec.next() : r.rec.all().get(0);
        assertThat(a.requestId()).isEqualTo(r.id);
        assertThat(a.fromCache())
            .isEqualTo(phase == Phase.ANSWERED ? FromCache.IMMEDIATE : FromCache.NEW);
        if (phase == Phase.DELIVERED) { // its handler reads
          within(a.connection().write(buf("mine")));
          assertThat(PeerIo.read(r.peer, 4)).isEqualTo("mine");
          PeerIo.write(r.peer, "yours");
          await().until(() -> r.handler.text().equals("yours"));
        } else {
          Managers.assertRoundTrip(a.connection(), r.peer, "mine");
        }
        a.connection().close();
        awaitStats(m, stats(1, 1, 0, 0, 0));
        m.close();
        assertThat(r.rec.all()).hasSize(1);
      }
    }
  }

  /**
   * shutdown() answers every pending request once with "shutdown" and closes its socket; an
   * answer already decided is still delivered (a connection); leased connections keep working
   * and are closed, not pooled, when given back; idle sockets are closed at once; the loop ends
   * once no socket is left. allocate() then throws.
   */
  @ParameterizedTest
  @EnumSource(Phase.class)
  void shutdownInEveryPhase(Phase phase) throws Exception {
    try (Rig r = new Rig(phase)) {
      ConnectionManager m = r.endAtPhase(ConnectionManager::shutdown);
      assertThatThrownBy(() -> m.allocate(r.target, r.rec))
          .isInstanceOf(IllegalStateException.class);
      switch (phase) {
        case RESOLVING, QUEUED, CONNECTING, HANDSHAKING -> {
          AllocationResult a = r.rec.next();
          assertThat(a.requestId()).isEqualTo(r.id);
          assertFailure(a, "shutdown", null, SHUT);
          r.assertSocketsClosed();
          if (phase == Phase.QUEUED) { // the holder's connection still works, then is closed
            Socket blockerPeer = peerOf(r.server, r.blocker);
            Managers.assertRoundTrip(r.blocker, blockerPeer, "held");
            r.blocker.close();
            assertThat(PeerIo.awaitClosed(blockerPeer)).isEqualTo(PeerIo.Ending.EOF);
          }
          if (phase == Phase.RESOLVING) {
            r.resolver.completeAll(Loopback.ipv4()); // reaches nobody
          }
        }
        case ANSWERED -> {
          AllocationResult a = r.rec.next();
          assertThat(a.fromCache()).isEqualTo(FromCache.IMMEDIATE);
          Managers.assertRoundTrip(a.connection(), r.peer, "after shutdown");
          a.connection().close(); // closed, not pooled
          r.assertSocketsClosed();
        }
        case DELIVERED -> {
          within(r.leased.write(buf("still mine")));
          PeerIo.write(r.peer, "still yours");
          await().until(() -> r.handler.text().equals("still yours"));
          assertThat(PeerIo.read(r.peer, 10)).isEqualTo("still mine");
          r.leased.close();
          r.assertSocketsClosed();
          assertThat(r.handler.errors.get() + r.handler.eofs.get()).isZero();
        }
        case IDLE -> r.assertSocketsClosed();
        default -> throw new AssertionError(phase);
      }
      awaitStats(m, EMPTY);
      await().until(() -> Internals.loopTerminated(m));
      assertThat(m.deallocate(r.id)).isFalse();
      assertThat(r.rec.all()).hasSize(phase == Phase.IDLE ? 0 : 1);
    }
  }

  /**
   * close() does what shutdown() does, closes leased sockets (a started handler hears
   * onError(AsynchronousCloseException) once) and ends the loop; every answer is delivered before
   * it returns. From the loop itself (ANSWERED: inside a callback) it returns at once and the
   * loop ends after the current task.
   */
  @ParameterizedTest
  @EnumSource(Phase.class)
  void closeInEveryPhase(Phase phase) throws Exception {
    try (Rig r = new Rig(phase)) {
      ConnectionManager m = r.endAtPhase(ConnectionManager::close);
      await().until(() -> Internals.loopTerminated(m));
      assertThat(m.stats()).isEqualTo(EMPTY);
      assertThat(r.rec.all()).hasSize(phase == Phase.IDLE ? 0 : 1); // all delivered already
      switch (phase) {
        case RESOLVING, QUEUED, CONNECTING, HANDSHAKING -> {
          assertFailure(r.rec.all().get(0), "shutdown", null, SHUT);
          if (phase == Phase.QUEUED) {
            assertThat(r.blocker.isOpen()).isFalse();
          }
        }
        case ANSWERED -> {
          AllocationResult a = r.rec.all().get(0);
          assertThat(a.fromCache()).isEqualTo(FromCache.IMMEDIATE);
          assertThat(a.connection().isOpen()).isFalse();
        }
        case DELIVERED -> {
          assertThat(r.leased.isOpen()).isFalse();
          assertThat(r.handler.errors.get()).isEqualTo(1);
          assertThat(r.handler.errorList.get(0)).isInstanceOf(AsynchronousCloseException.class);
          assertThat(r.handler.eofs.get()).isZero();
        }
        case IDLE -> {}
        default -> throw new AssertionError(phase);
      }
      r.assertSocketsClosed();
      assertThatThrownBy(() -> m.allocate(r.target, r.rec))
          .isInstanceOf(IllegalStateException.class);
      m.close(); // again: nothing happens
      assertThat(r.rec.all()).hasSize(phase == Phase.IDLE ? 0 : 1);
    }
  }

  // ---------------------------------------------------------------- close() racing callbacks

  /**
   * Twenty rounds: three threads allocate as fast as they can (callbacks close, discard, keep
   * with a started handler, or allocate again from the loop), while another thread calls close()
   * (in some rounds two threads at once, or shutdown() and close() together) after a random
   * number of answers. Every request allocate() accepted is answered exactly once, nothing is
   * answered or heard after close() returned, every connection handed out is closed, and the
   * counts are zero.
   */
  @Test
  void closeFromOtherThreadsWhileCallbacksRun() throws Exception {
    try (SinkServer server = new SinkServer()) {
      int refused = Loopback.closedPort();
      for (int round = 0; round < 20; round++) {
        closeRace(server, refused, new Random(7_000 + round), round);
      }
    }
  }

  private static void closeRace(SinkServer server, int refused, Random rnd, int round)
      throws Exception {
    ConnectionManager m = ConnectionManager.builder().maxPerHost(4).maxOpen(16).build();
    Map<Long, AtomicInteger> answers = new ConcurrentHashMap<>();
    Queue<Long> ids = new ConcurrentLinkedQueue<>();
    List<Connection> handedOut = new CopyOnWriteArrayList<>();
    List<HandlerRecorder> handlers = new CopyOnWriteArrayList<>();
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicBoolean closeReturned = new AtomicBoolean();
    AtomicInteger answered = new AtomicInteger();
    int closeAfter = rnd.nextInt(300);
    int closers = rnd.nextInt(3); // 0: one close(); 1: two close(); 2: shutdown() and close()
    long[] seeds = {rnd.nextLong(), rnd.nextLong(), rnd.nextLong()};

    class Worker implements Runnable {
      final Random wr;

      Worker(long seed) {
        wr = new Random(seed);
      }

      @Override
      public void run() {
        for (int i = 0; i < 3000 && !closeReturned.get(); i++) {
          if (!allocate(wr.nextInt(5) == 0 ? refused : server.port())) {
            return; // shut down
          }
        }
      }

      boolean allocate(int port) {
        try {
          ids.add(m.allocate(plain(port), this::answer));
          return true;
        } catch (IllegalStateException e) {
          return false;
        }
      }

      void answer(AllocationResult r) {
        if (closeReturned.get()) {
          violations.add("answered after close() returned: " + r);
        }
        answers.computeIfAbsent(r.requestId(), k -> new AtomicInteger()).incrementAndGet();
        answered.incrementAndGet();
        if (!r.isSuccess()) {
          return;
        }
        Connection c = r.connection();
        handedOut.add(c);
        int choice = wr.nextInt(10); // Random is thread-safe
        if (choice < 4) {
          c.close();
        } else if (choice < 5) {
          c.discard();
        } else if (choice < 8) {
          HandlerRecorder h = new HandlerRecorder() {
            @Override
            public void onError(Connection connection, java.io.IOException e) {
              if (closeReturned.get()) {
                violations.add("a handler heard of an error after close() returned");
              }
              super.onError(connection, e);
            }
          };
          handlers.add(h);
          c.start(h);
          c.write(buf("kept"));
        } else {
          allocate(server.port()); // from the loop: may meet the shutdown
          c.close();
        }
      }
    }

    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (long seed : seeds) {
        workers.add(pool.submit(new Worker(seed)));
      }
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> closing = new ArrayList<>();
      closing.add(pool.submit(() -> {
        go.await();
        m.close();
        return null;
      }));
      if (closers > 0) {
        closing.add(pool.submit(() -> {
          go.await();
          if (closers == 1) {
            m.close();
          } else {
            m.shutdown();
          }
          return null;
        }));
      }
      await().until(() -> answered.get() >= closeAfter);
      go.countDown();
      for (Future<?> f : closing) {
        f.get(20, TimeUnit.SECONDS);
      }
      m.close(); // returns once the loop has ended
      closeReturned.set(true);
      for (Future<?> f : workers) {
        f.get(20, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      m.close();
    }
    String where = "round " + round;
    assertThat(violations).as(where).isEmpty();
    assertThat(Internals.loopTerminated(m)).as(where).isTrue();
    assertThat(m.stats()).as(where).isEqualTo(EMPTY);
    for (long id : ids) {
      AtomicInteger n = answers.get(id);
      assertThat(n).as("%s: request %d was never answered", where, id).isNotNull();
      assertThat(n.get()).as("%s: answers to request %d", where, id).isEqualTo(1);
    }
    assertThat(answers.keySet()).as(where).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(handedOut).as(where).allSatisfy(c -> assertThat(c.isOpen()).isFalse());
    for (HandlerRecorder h : handlers) {
      assertThat(h.errors.get() + h.eofs.get()).as(where).isLessThanOrEqualTo(1);
      if (h.errors.get() == 1) {
        assertThat(h.errorList.get(0)).isInstanceOf(AsynchronousCloseException.class);
      }
    }
  }

  // ---------------------------------------------------------------- cancelled at random

  /** One request of the cancellation storm and what happened to it. */
  private static final class Req {
    volatile long id;
    volatile CompletableFuture<Connection> future; // null: callback style
    final AtomicInteger answers = new AtomicInteger();
    final AtomicInteger cancelled = new AtomicInteger(); // cancel calls that returned true

    boolean cancel(ConnectionManager m) {
      boolean done = future == null ? m.deallocate(id) : future.cancel(true);
      if (done) {
        cancelled.incrementAndGet();
      }
      return done;
    }

    boolean settled() {
      return answers.get() + cancelled.get() > 0;
    }
  }

  /**
   * 5000 allocations from four threads, to keys that are served from the pool, queued behind
   * maxPerHost, resolving (a resolver the test answers in batches) or connecting for ever (a
   * full accept queue); about half are cancelled at random — at once, later, from another
   * thread's callback on the loop, by deallocate() or by cancelling the future. Then everything
   * left is answered or cancelled. Each request was either cancelled (a true return, exactly
   * once, and then never answered) or answered exactly once, never both; nothing is left in the
   * pool's books; the manager still serves.
   */
  @Test
  void thousandsOfAllocationsCancelledAtRandom() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (SinkServer server = new SinkServer();
        HangingListener hanging = new HangingListener();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(2)
            .maxOpen(24)
            .resolver(resolver)
            .build()) {
      List<Allocation> keys = new ArrayList<>();
      for (int k = 0; k < 3; k++) {
        keys.add(Allocation.to("k" + k, "127.0.0.1", server.port()));
        keys.add(Allocation.to("http", "name" + k + ".test", server.port()));
      }
      keys.add(plain(hanging.port()));
      List<Req> all = new CopyOnWriteArrayList<>();
      Queue<Req> candidates = new ConcurrentLinkedQueue<>(); // for cancels from callbacks
      Queue<Connection> held = new ConcurrentLinkedQueue<>();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        Random rnd = new Random(42 + w);
        workers.add(pool.submit(() -> {
          List<Req> mine = new ArrayList<>();
          for (int i = 0; i < 1250; i++) {
            Allocation a = keys.get(rnd.nextInt(keys.size()));
            Req req = new Req();
            long salt = rnd.nextInt(5);
            boolean cancelFromLoop = rnd.nextInt(7) == 0;
            if (rnd.nextBoolean()) {
              req.id = m.allocate(a, r -> {
                req.answers.incrementAndGet();
                if (r.isSuccess()) {
                  dispose(r.connection(), salt, held);
                }
                Req victim = cancelFromLoop ? candidates.poll() : null;
                if (victim != null) {
                  victim.cancel(m); // from the loop thread
                }
              });
            } else {
              CompletableFuture<Connection> f = m.allocate(a);
              req.future = f;
              f.whenComplete((c, e) -> {
                if (!(e instanceof CancellationException)) {
                  req.answers.incrementAndGet();
                }
                if (c != null) {
                  dispose(c, salt, held);
                }
              });
            }
            all.add(req);
            mine.add(req);
            int p = rnd.nextInt(10);
            if (p < 3) {
              req.cancel(m);
            } else if (p < 5) {
              mine.get(rnd.nextInt(mine.size())).cancel(m);
            } else if (p < 6) {
              candidates.add(req);
            }
            if (i % 50 == 49) {
              completeLookups(resolver);
              Connection c;
              while ((c = held.poll()) != null) {
                c.close();
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : workers) {
        f.get(50, TimeUnit.SECONDS);
      }
      pool.shutdown();

      // settle what is left: answer the lookups, give back what is held, cancel the rest
      for (Req r : all) {
        if (!r.settled() && !r.cancel(m)) {
          completeLookups(resolver);
          Connection c;
          while ((c = held.poll()) != null) {
            c.close();
          }
          await().until(r::settled); // answered meanwhile: the answer is on its way
        }
      }
      await().until(() -> {
        Connection c;
        while ((c = held.poll()) != null) {
          c.close();
        }
        return m.stats().leased() == 0
            && m.stats().connecting() == 0
            && m.stats().pending() == 0;
      });

      int cancelled = 0;
      int answered = 0;
      for (Req r : all) {
        assertThat(r.cancelled.get()).as("true cancels of %s", r.id).isLessThanOrEqualTo(1);
        assertThat(r.answers.get() + r.cancelled.get())
            .as("request %d: %d answers, %d cancels", r.id, r.answers.get(), r.cancelled.get())
            .isEqualTo(1);
        cancelled += r.cancelled.get();
        answered += r.answers.get();
      }
      assertThat(all).hasSize(5000);
      assertThat(cancelled).isGreaterThan(1000);
      assertThat(answered).isGreaterThan(1000);
      Internals.Books books = onLoop(m, () -> Internals.books(m));
      assertThat(books.tracked()).isZero();
      assertThat(books.lookups()).isZero();
      assertThat(books.hosts()).isLessThanOrEqualTo(keys.size());
      Connection c = get(m.allocate(keys.get(0)));
      c.close();
      m.close();
      assertThat(m.stats()).isEqualTo(EMPTY);
      await()
          .until(() -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).isEmpty());
    }
  }

  private static void dispose(Connection c, long salt, Queue<Connection> held) {
    switch ((int) salt) {
      case 0 -> c.discard();
      case 1, 2 -> held.add(c);
      default -> c.close();
    }
  }

  private static int completeLookups(TestResolver resolver) {
    int n = 0;
    for (TestResolver.Lookup l : resolver.calls()) {
      if (l.answer().complete(List.of(Loopback.ipv4()))) {
        n++;
      }
    }
    return n;
  }
}
