package dev.keepalive;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.TcpTable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The test scenarios of the original distribution (01-13, 50, 51), ported: each test is one
 * scenario, run against real sockets on 127.0.0.1.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SeedScenariosTest {

  // ---- 01 ----

  /** 01: a connection given back is reused: NEW, then IMMEDIATE, always answered off the caller's stack. */
  @Test
  void s01_reuse_newThenImmediate() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      long id1 = m.allocate(to(server).context("first"), rec);
      AllocationResult r1 = rec.next();
      assertThat(id1).isPositive();
      assertThat(r1.requestId()).isEqualTo(id1);
      assertThat(r1.isSuccess()).isTrue();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r1.context()).isEqualTo("first");
      assertThat(r1.scheme()).isEqualTo("http");
      assertThat(r1.addr()).isEqualTo("127.0.0.1");
      assertThat(r1.port()).isEqualTo(server.port());
      assertThat(r1.forScheme()).isEqualTo("http");
      assertThat(r1.forAddr()).isEqualTo("127.0.0.1");
      assertThat(r1.forPort()).isEqualTo(server.port());
      assertThat(r1.function()).isNull();
      assertThat(r1.errorNum()).isNull();
      assertThat(r1.errorStr()).isNull();
      Connection c1 = r1.connection();
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      int port1 = c1.localAddress().getPort();
      c1.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      long id2 = m.allocate(to(server).context("second"), rec);
      AllocationResult r2 = rec.next();
      assertThat(id2).isPositive().isNotEqualTo(id1);
      assertThat(r2.requestId()).isEqualTo(id2);
      assertThat(r2.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r2.context()).isEqualTo("second");
      assertThat(r2.connection().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r2.connection().localAddress().getPort()).isEqualTo(port1);
      awaitAccepted(server::acceptedCount, 1);
      assertThat(rec.threads()).doesNotContain(Thread.currentThread());
      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);

      // Even a pool hit asked for on the loop thread itself is answered later, never inside allocate().
      AtomicBoolean insideAllocate = new AtomicBoolean();
      CompletableFuture<Boolean> answeredInside = new CompletableFuture<>();
      CompletableFuture<AllocationResult> inner = new CompletableFuture<>();
      m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), failed -> {
        insideAllocate.set(true);
        try {
          m.allocate(to(server), r -> {
            answeredInside.complete(insideAllocate.get());
            inner.complete(r);
          });
        } finally {
          insideAllocate.set(false);
        }
      });
      AllocationResult r3 = inner.get(10, SECONDS);
      assertThat(answeredInside.get(10, SECONDS)).as("answered on allocate()'s stack").isFalse();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      r3.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  // ---- 02 ----

  /**
   * 02 maxOpen=1: the second request waits and gets the first socket (DEFERRED), the third gets it
   * from the pool (IMMEDIATE), the fourth, to a closed port, evicts the idle socket and is refused.
   */
  @Test
  void s02_maxOpenOne_deferredImmediateThenEvictionAndRefusal() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(server), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      int port = r1.connection().localAddress().getPort();

      m.allocate(to(server), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      r1.connection().close();
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.DEFERRED);
      assertThat(r2.connection().localAddress().getPort()).isEqualTo(port);
      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);

      m.allocate(to(server), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r3.connection().localAddress().getPort()).isEqualTo(port);
      r3.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      awaitAccepted(server::acceptedCount, 1);

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
      assertThat(PeerIo.awaitClosed(peer(server, port))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }

  // ---- 03 ----

  /** 03 maxPerHost=1: NEW, DEFERRED, IMMEDIATE, DEFERRED, all on one socket. */
  @Test
  void s03_maxPerHostOne_newDeferredImmediateDeferred() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(server), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      int port = r1.connection().localAddress().getPort();

      m.allocate(to(server), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      r1.connection().close();
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.DEFERRED);

      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      m.allocate(to(server), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);

      m.allocate(to(server), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      r3.connection().close();
      AllocationResult r4 = rec.next();
      assertThat(r4.fromCache()).isEqualTo(FromCache.DEFERRED);

      for (AllocationResult r : List.of(r2, r3, r4)) {
        assertThat(r.connection().localAddress().getPort()).isEqualTo(port);
      }
      awaitAccepted(server::acceptedCount, 1);
      r4.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  // ---- 04 ----

  /**
   * 04: a socket its user shut down is not pooled; the other one is reused IMMEDIATE; closing or
   * discarding an already closed or discarded connection is harmless.
   */
  @Test
  void s04_shutDownSocketNotPooled_otherReused_closeCopesWithClosed() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(server), rec);
      m.allocate(to(server), rec);
      Connection c1 = rec.next().connection();
      Connection c2 = rec.next().connection();
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      int port1 = c1.localAddress().getPort();
      int port2 = c2.localAddress().getPort();

      c1.shutdownOutput();
      Socket peer1 = peer(server, port1);
      assertThat(PeerIo.awaitClosed(peer1)).isEqualTo(PeerIo.Ending.EOF);
      c1.close();
      c2.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      m.allocate(to(server), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      Connection c3 = r3.connection();
      assertThat(c3.localAddress().getPort()).isEqualTo(port2);

      // closing again, in any way, copes
      c1.close();
      c1.discard();
      m.free(c1);
      assertThat(c1.isOpen()).isFalse();
      c3.discard();
      c3.close();
      m.free(c3);
      c3.discard();
      assertThat(c3.isOpen()).isFalse();
      awaitStats(m, 0, 0, 0, 0, 0);

      // a connection whose channel its user closed is dropped, and a later close() copes
      m.allocate(to(server), rec);
      Connection c4 = rec.next().connection();
      assertThat(c4.fromCache()).isEqualTo(FromCache.NEW);
      c4.channel().close();
      c4.close();
      m.free(c4);
      assertThat(c4.isOpen()).isFalse();
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }

  // ---- 05 ----

  /** 05: every argument error is an IllegalArgumentException whose message names the argument. */
  @Test
  void s05_argumentErrorsNameTheArgument() {
    ConnectionManager.Builder b = ConnectionManager.builder();
    assertArgError(() -> b.maxPerHost(0), "maxPerHost");
    assertArgError(() -> b.maxPerHost(-1), "maxPerHost");
    assertArgError(() -> b.maxOpen(0), "maxOpen");
    assertArgError(() -> b.maxOpen(-3), "maxOpen");
    assertArgError(() -> b.keepAlive(null), "keepAlive");
    assertArgError(() -> b.keepAlive(Duration.ZERO), "keepAlive");
    assertArgError(() -> b.keepAlive(Duration.ofSeconds(-1)), "keepAlive");
    assertArgError(() -> b.timeout(null), "timeout");
    assertArgError(() -> b.timeout(Duration.ZERO), "timeout");
    assertArgError(() -> b.timeout(Duration.ofMillis(-5)), "timeout");
    assertArgError(() -> b.resolver(null), "resolver");
    assertArgError(() -> b.bindAddress(null), "bindAddress");
    assertArgError(() -> b.sslContext(null), "sslContext");

    assertArgError(() -> Allocation.to(null, "127.0.0.1", 80), "scheme");
    assertArgError(() -> Allocation.to("", "127.0.0.1", 80), "scheme");
    assertArgError(() -> Allocation.to("  ", "127.0.0.1", 80), "scheme");
    assertArgError(() -> Allocation.to("http", null, 80), "addr");
    assertArgError(() -> Allocation.to("http", "", 80), "addr");
    assertArgError(() -> Allocation.to("http", " \t", 80), "addr");
    assertArgError(() -> Allocation.to("http", "127.0.0.1", 0), "port");
    assertArgError(() -> Allocation.to("http", "127.0.0.1", -1), "port");
    assertArgError(() -> Allocation.to("http", "127.0.0.1", 65536), "port");
    Allocation a = Allocation.to("http", "127.0.0.1", 80);
    assertArgError(() -> a.timeout(null), "timeout");
    assertArgError(() -> a.timeout(Duration.ZERO), "timeout");
    assertArgError(() -> a.timeout(Duration.ofSeconds(-1)), "timeout");
    assertArgError(() -> a.forTarget(null, "example.org", 80), "forScheme");
    assertArgError(() -> a.forTarget(" ", "example.org", 80), "forScheme");
    assertArgError(() -> a.forTarget("http", null, 80), "forAddr");
    assertArgError(() -> a.forTarget("http", "", 80), "forAddr");
    assertArgError(() -> a.forTarget("http", "example.org", 0), "forPort");
    assertArgError(() -> a.forTarget("http", "example.org", 65536), "forPort");
    // a valid allocation is unchanged by a failed derivation
    assertThat(a.timeout()).isNull();
    assertThat(a.forScheme()).isEqualTo("http");

    try (ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      assertArgError(() -> m.allocate(null, rec), "request");
      assertArgError(() -> m.allocate(a, null), "event");
      assertArgError(() -> m.allocate((Allocation) null), "request");
      assertArgError(() -> m.free(null), "connection");
      assertThat(rec.all()).isEmpty();
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }

  // ---- 06 ----

  /** 06: a socket given back with data its user never read is not reused (closed with a reset). */
  @Test
  void s06_socketWithUnreadDataIsNotReused() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(server), rec);
      Connection c1 = rec.next().connection();
      int port1 = c1.localAddress().getPort();
      Socket peer = peer(server, port1);
      PeerIo.write(peer, "never read by the client");
      // the bytes are in the client socket's receive queue, unread
      eventually().until(() -> TcpTable.receiveQueue(port1) > 0);

      c1.close();
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.RESET);
      awaitStats(m, 0, 0, 0, 0, 0);

      m.allocate(to(server), rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().localAddress().getPort()).isNotEqualTo(port1);
      awaitAccepted(server::acceptedCount, 2);
      r2.connection().close();
    }
  }

  // ---- 07 ----

  /**
   * 07 keepAlive=1s: idle sockets expire; then two concurrent requests to a host name both get NEW
   * sockets and share one lookup.
   */
  @Test
  void s07_keepAliveExpiry_thenConcurrentRequestsShareOneLookup() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .keepAlive(Duration.ofSeconds(1)).resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "seed-host.test", server.port());
      ResultRecorder rec = new ResultRecorder();

      m.allocate(a, rec);
      m.allocate(a, rec);
      awaitStats(m, 0, 0, 0, 0, 2);
      assertThat(resolver.hosts()).containsExactly("seed-host.test");
      resolver.completeAll(Loopback.ipv4());
      AllocationResult r1 = rec.next();
      AllocationResult r2 = rec.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r1.addr()).isEqualTo("seed-host.test");
      assertThat(r1.connection().remoteAddress())
          .isEqualTo(new InetSocketAddress(Loopback.ipv4(), server.port()));
      int port1 = r1.connection().localAddress().getPort();
      int port2 = r2.connection().localAddress().getPort();
      r1.connection().close();
      r2.connection().close();

      // keep-alive runs out: both sockets, given back, are closed (idle 0 and nothing open)
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(PeerIo.awaitClosed(peer(server, port1))).isEqualTo(PeerIo.Ending.EOF);
      assertThat(PeerIo.awaitClosed(peer(server, port2))).isEqualTo(PeerIo.Ending.EOF);

      m.allocate(a, rec);
      m.allocate(a, rec);
      awaitStats(m, 0, 0, 0, 0, 2);
      assertThat(resolver.callCount()).as("one lookup for two concurrent requests").isEqualTo(2);
      resolver.completeAll(Loopback.ipv4());
      AllocationResult r3 = rec.next();
      AllocationResult r4 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r4.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r3.connection().localAddress().getPort())
          .isNotEqualTo(r4.connection().localAddress().getPort());
      assertThat(resolver.hosts()).containsExactly("seed-host.test", "seed-host.test");
      awaitAccepted(server::acceptedCount, 4);
      r3.connection().close();
      r4.connection().close();
    }
  }

  // ---- 08 ----

  /** 08 maxOpen=2: a request to host B evicts an idle socket of host A. */
  @Test
  void s08_maxOpenTwo_requestToOtherHostEvictsIdleSocket() {
    try (AcceptingServer serverA = new AcceptingServer();
        AcceptingServer serverB = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(2).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(serverA), rec);
      m.allocate(to(serverA), rec);
      Connection a1 = rec.next().connection();
      Connection a2 = rec.next().connection();
      int portA1 = a1.localAddress().getPort();
      int portA2 = a2.localAddress().getPort();
      a1.close();
      a2.close();
      awaitStats(m, 2, 2, 0, 0, 0);

      m.allocate(to(serverB), rec);
      AllocationResult b = rec.next();
      assertThat(b.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(b.port()).isEqualTo(serverB.port());
      awaitStats(m, 2, 1, 1, 0, 0);

      // one A socket survived and is reused; the other was closed
      m.allocate(to(serverA), rec);
      AllocationResult again = rec.next();
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      int survivor = again.connection().localAddress().getPort();
      assertThat(survivor).isIn(portA1, portA2);
      int evicted = survivor == portA1 ? portA2 : portA1;
      assertThat(PeerIo.awaitClosed(peer(serverA, evicted))).isEqualTo(PeerIo.Ending.EOF);
      awaitAccepted(serverA::acceptedCount, 2);
      again.connection().close();
      b.connection().close();
      awaitStats(m, 2, 2, 0, 0, 0);
    }
  }

  // ---- 09 ----

  /** 09: a request that times out is answered "connect", 110, "Connection timed out". */
  @Test
  void s09_timeoutGivesEtimedout() throws Exception {
    try (HangingListener hanging = new HangingListener()) {
      Allocation a = Allocation.to("http", "127.0.0.1", hanging.port());
      // the manager's timeout, seed style
      try (ConnectionManager m = ConnectionManager.builder()
          .timeout(Duration.ofMillis(400)).build()) {
        ResultRecorder rec = new ResultRecorder();
        long id = m.allocate(a.context("ctx"), rec);
        AllocationResult r = rec.next();
        assertThat(r.requestId()).isEqualTo(id);
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.connection()).isNull();
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
        assertThat(r.errorStr()).isEqualTo("Connection timed out");
        assertThat(r.context()).isEqualTo("ctx");
        awaitStats(m, 0, 0, 0, 0, 0);
        assertThat(rec.countFor(id)).isEqualTo(1);
      }
      // the request's own timeout, future style
      try (ConnectionManager m = ConnectionManager.create()) {
        CompletableFuture<Connection> f = m.allocate(a.timeout(Duration.ofMillis(300)));
        assertThatThrownBy(() -> f.get(10, SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause()
            .isInstanceOfSatisfying(AllocationException.class, e -> {
              assertThat(e.function()).isEqualTo("connect");
              assertThat(e.errorNum()).isEqualTo(110);
              assertThat(e.errorStr()).isEqualTo("Connection timed out");
              assertThat(e.result().port()).isEqualTo(hanging.port());
              assertThat(e.result().isSuccess()).isFalse();
            });
        awaitStats(m, 0, 0, 0, 0, 0);
      }
    }
  }

  // ---- 10 ----

  /** 10: two managers, each with its own resolver, work side by side. */
  @Test
  void s10_twoManagersWithTheirOwnResolvers() {
    TestResolver resolver1 = TestResolver.answering(
        Map.of("alpha.test", List.of(Loopback.ipv4())));
    TestResolver resolver2 = TestResolver.answering(
        Map.of("beta.test", List.of(Loopback.ipv4())));
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m1 = ConnectionManager.builder().resolver(resolver1).build();
        ConnectionManager m2 = ConnectionManager.builder().resolver(resolver2).build()) {
      ResultRecorder rec1 = new ResultRecorder();
      ResultRecorder rec2 = new ResultRecorder();
      Allocation alpha = Allocation.to("http", "alpha.test", server.port());
      Allocation beta = Allocation.to("http", "beta.test", server.port());
      m1.allocate(alpha, rec1);
      m2.allocate(beta, rec2);
      AllocationResult r1 = rec1.next();
      AllocationResult r2 = rec2.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r1.connection().addr()).isEqualTo("alpha.test");
      assertThat(r2.connection().addr()).isEqualTo("beta.test");
      assertThat(resolver1.hosts()).containsExactly("alpha.test");
      assertThat(resolver2.hosts()).containsExactly("beta.test");
      // each manager answers on its own loop thread
      assertThat(rec1.threads().get(0)).isNotSameAs(rec2.threads().get(0));

      r1.connection().close();
      r2.connection().close();
      awaitStats(m1, 1, 1, 0, 0, 0);
      awaitStats(m2, 1, 1, 0, 0, 0);
      m1.allocate(alpha, rec1);
      m2.allocate(beta, rec2);
      assertThat(rec1.next().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(rec2.next().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(resolver1.callCount()).isEqualTo(1);
      assertThat(resolver2.callCount()).isEqualTo(1);
      awaitAccepted(server::acceptedCount, 2);

      // one manager's shutdown does not touch the other
      m1.close();
      assertThat(m1.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
      awaitStats(m2, 1, 0, 1, 0, 0);
    }
  }

  // ---- 11 ----

  /**
   * 11: a socket at EOF is not pooled; the handler of an earlier holder of a reused socket never
   * gets the events of the next holder.
   */
  @Test
  void s11_socketAtEofNotPooled_oldHandlerGetsNoEventsOfNewHolder() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();

      // EOF seen by a handler
      m.allocate(to(server), rec);
      Connection c1 = rec.next().connection();
      Handler h1 = new Handler();
      c1.start(h1);
      peer(server, c1.localAddress().getPort()).close();
      eventually().untilTrue(h1.eof);
      c1.close();
      awaitStats(m, 0, 0, 0, 0, 0);

      // EOF nobody read
      m.allocate(to(server), rec);
      Connection c1b = rec.next().connection();
      assertThat(c1b.fromCache()).isEqualTo(FromCache.NEW);
      peer(server, c1b.localAddress().getPort()).close();
      c1b.close();
      awaitStats(m, 0, 0, 0, 0, 0);

      // an old holder's handler and connection are cut off from the next holder
      m.allocate(to(server), rec);
      Connection c2 = rec.next().connection();
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      int port2 = c2.localAddress().getPort();
      Socket peer2 = peer(server, port2);
      Handler h2 = new Handler();
      c2.start(h2);
      PeerIo.write(peer2, "one");
      eventually().until(() -> h2.text().equals("one"));
      c2.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      m.allocate(to(server), rec);
      Connection c3 = rec.next().connection();
      assertThat(c3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(c3.localAddress().getPort()).isEqualTo(port2);
      Handler h3 = new Handler();
      c3.start(h3);
      PeerIo.write(peer2, "two");
      eventually().until(() -> h3.text().equals("two"));
      // the old face cannot reach the socket any more
      assertThat(c2.isOpen()).isFalse();
      assertThatThrownBy(() -> c2.channel().read(ByteBuffer.allocate(8)))
          .isInstanceOf(ClosedChannelException.class);
      assertThatThrownBy(() -> c2.write(ByteBuffer.wrap(new byte[] {'x'})).get(10, SECONDS))
          .isInstanceOf(ExecutionException.class);
      peer2.close();
      eventually().untilTrue(h3.eof);

      assertThat(h1.text()).isEmpty();
      assertThat(h2.text()).isEqualTo("one");
      assertThat(h2.eof).isFalse();
      assertThat(h2.error.get()).isNull();
      assertThat(h3.error.get()).isNull();
      c3.close();
      awaitStats(m, 0, 0, 0, 0, 0);
      awaitAccepted(server::acceptedCount, 3);
    }
  }

  // ---- 12 ----

  /**
   * 12: shutdown() while a connection is held: no new requests; the held connection keeps working
   * and is closed, not pooled, when given back.
   */
  @Test
  void s12_shutdownWhileConnectionHeld() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(server), rec);
      Connection c = rec.next().connection();
      Socket peer = peer(server, c.localAddress().getPort());

      m.shutdown();
      assertThatThrownBy(() -> m.allocate(to(server), rec)).isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> m.allocate(to(server))).isInstanceOf(IllegalStateException.class);
      m.shutdown(); // idempotent

      assertThat(c.isOpen()).isTrue();
      c.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII))).get(10, SECONDS);
      assertThat(PeerIo.read(peer, 4)).isEqualTo("ping");
      PeerIo.write(peer, "pong");
      assertThat(new String(c.inputStream().readNBytes(4), StandardCharsets.US_ASCII))
          .isEqualTo("pong");
      awaitStats(m, 1, 0, 1, 0, 0);

      c.close();
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(rec.all()).hasSize(1);
    }
  }

  // ---- 13 ----

  /** 13: giving a connection up releases both its per-host slot and its global slot. */
  @Test
  void s13_closeReleasesBothLimitSlots() {
    try (AcceptingServer serverA = new AcceptingServer();
        AcceptingServer serverB = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).maxOpen(1).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(serverA), rec);
      Connection c1 = rec.next().connection();
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);

      // discard (the seed's close): the waiting request of the same key gets a new socket
      m.allocate(to(serverA), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      c1.discard();
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      awaitAccepted(serverA::acceptedCount, 2);
      awaitStats(m, 1, 0, 1, 0, 0);

      // close (give back): the waiting request of another key gets the global slot
      m.allocate(to(serverB), rec);
      awaitStats(m, 1, 0, 1, 0, 1);
      r2.connection().close();
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r3.port()).isEqualTo(serverB.port());
      awaitStats(m, 1, 0, 1, 0, 0);

      // and the per-host slot of a key comes back with close(): the next request is IMMEDIATE
      r3.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      m.allocate(to(serverB), rec);
      AllocationResult r4 = rec.next();
      assertThat(r4.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      r4.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  // ---- 50 ----

  /** 50: a request whose lookup never answers gets exactly one response, the timeout. */
  @Test
  void s50_dnsThatNeverAnswersGivesExactlyOneResponse() {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .resolver(resolver).timeout(Duration.ofMillis(300)).build()) {
      ResultRecorder never = new ResultRecorder();
      ResultRecorder late = new ResultRecorder();
      long idNever = m.allocate(Allocation.to("http", "never.test", server.port()), never);
      long idLate = m.allocate(Allocation.to("http", "late.test", server.port()), late);
      eventually().until(() -> resolver.callCount() == 2);
      assertThat(resolver.hosts()).containsExactlyInAnyOrder("never.test", "late.test");

      for (AllocationResult r : List.of(never.next(), late.next())) {
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
        assertThat(r.errorStr()).isEqualTo("Connection timed out");
      }
      awaitStats(m, 0, 0, 0, 0, 0);

      // the lookup of late.test answers after its request timed out: nobody is answered again
      resolver.calls().stream().filter(l -> l.host().equals("late.test"))
          .forEach(l -> l.answer().complete(List.of(Loopback.ipv4())));
      // a later request is answered after the loop handled that late answer
      ResultRecorder barrier = new ResultRecorder();
      m.allocate(to(server), barrier);
      assertThat(barrier.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(never.all()).hasSize(1);
      assertThat(never.countFor(idNever)).isEqualTo(1);
      assertThat(late.all()).hasSize(1);
      assertThat(late.countFor(idLate)).isEqualTo(1);
      awaitStats(m, 1, 0, 1, 0, 0);
      awaitAccepted(server::acceptedCount, 1);
    }
  }

  // ---- 51 ----

  /** 51: a socket handed out from the pool is never also chosen for eviction. */
  @Test
  void s51_reusedSocketNeverEvicted() throws Exception {
    try (AcceptingServer serverA = new AcceptingServer();
        AcceptingServer serverB = new AcceptingServer();
        AcceptingServer serverC = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(2).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(to(serverA), rec);
      Connection a1 = rec.next().connection();
      m.allocate(to(serverB), rec);
      Connection b1 = rec.next().connection();
      int portA = a1.localAddress().getPort();
      int portB = b1.localAddress().getPort();
      a1.close();
      awaitStats(m, 2, 1, 1, 0, 0);

      // in one go: A takes its idle socket, C must then wait rather than evict it
      ResultRecorder recA = new ResultRecorder();
      ResultRecorder recC = new ResultRecorder();
      m.allocate(to(serverA), recA);
      m.allocate(to(serverC), recC);
      AllocationResult ra = recA.next();
      assertThat(ra.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      Connection a2 = ra.connection();
      assertThat(a2.localAddress().getPort()).isEqualTo(portA);
      awaitStats(m, 2, 0, 2, 0, 1);
      assertThat(recC.all()).isEmpty();

      Socket peerA = peer(serverA, portA);
      assertEchoes(a2, peerA, "hello");

      // B comes back: it is the one evicted for C
      b1.close();
      AllocationResult rc = recC.next();
      assertThat(rc.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(PeerIo.awaitClosed(peer(serverB, portB))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 2, 0, 2, 0, 0);
      assertThat(a2.isOpen()).isTrue();
      assertEchoes(a2, peerA, "again");
      awaitAccepted(serverA::acceptedCount, 1);
      a2.close();
      rc.connection().close();
      awaitStats(m, 2, 2, 0, 0, 0);
    }
  }

  // ---- helpers ----

  private static Allocation to(AcceptingServer server) {
    return Allocation.to("http", "127.0.0.1", server.port());
  }

  private static Socket peer(AcceptingServer server, int clientPort) {
    eventually().until(() -> server.accepted().stream().anyMatch(s -> s.getPort() == clientPort));
    return server.peerOf(clientPort);
  }

  private static void awaitAccepted(java.util.function.IntSupplier acceptedCount, int n) {
    eventually().until(() -> acceptedCount.getAsInt() == n);
  }

  private static ConditionFactory eventually() {
    return await().atMost(10, SECONDS).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5));
  }

  private static void awaitStats(ConnectionManager m, int open, int idle, int leased,
      int connecting, int pending) {
    PoolStats expected = new PoolStats(open, idle, leased, connecting, pending);
    eventually().untilAsserted(() -> assertThat(m.stats()).isEqualTo(expected));
  }

  private static void assertArgError(ThrowingCallable call, String argument) {
    assertThatThrownBy(call)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageMatching("(?s).*\\b" + argument + "\\b.*");
  }

  /** Writes through the connection, the peer reads; the peer writes back, the connection reads. */
  private static void assertEchoes(Connection c, Socket peer, String text) throws Exception {
    c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII))).get(10, SECONDS);
    assertThat(PeerIo.read(peer, text.length())).isEqualTo(text);
    PeerIo.write(peer, text);
    byte[] back = c.inputStream().readNBytes(text.length());
    assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo(text);
  }

  /** Collects what a started connection delivers. */
  private static final class Handler implements ConnectionHandler {
    final StringBuffer text = new StringBuffer();
    final AtomicBoolean eof = new AtomicBoolean();
    final AtomicReference<IOException> error = new AtomicReference<>();

    @Override
    public void onInput(Connection connection, ByteBuffer data) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      text.append(new String(b, StandardCharsets.US_ASCII));
    }

    @Override
    public void onEof(Connection connection) {
      eof.set(true);
    }

    @Override
    public void onError(Connection connection, IOException e) {
      error.set(e);
    }

    String text() {
      return text.toString();
    }
  }
}
