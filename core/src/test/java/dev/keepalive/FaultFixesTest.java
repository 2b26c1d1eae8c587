package dev.keepalive;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.TcpTable;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One test for each fault of the original that this implementation fixes (see SEED-NOTES). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FaultFixesTest {

  // ---- deallocate() in every phase ----

  /** The original crashed; here a request still resolving is cancelled cleanly. */
  @Test
  void deallocateWhileResolving() {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "pending.test", server.port());
      ResultRecorder cancelled = new ResultRecorder();
      long id = m.allocate(a, cancelled);
      awaitStats(m, 0, 0, 0, 0, 1);
      assertThat(resolver.hosts()).containsExactly("pending.test");

      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(m.deallocate(id)).isFalse();

      // the lookup answers late: it reaches nobody
      resolver.completeAll(Loopback.ipv4());
      // the next request to the host proceeds (with a lookup of its own)
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a, rec);
      eventually().until(() -> resolver.callCount() == 2);
      resolver.completeAll(Loopback.ipv4());
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(cancelled.all()).isEmpty();
      awaitAccepted(server::acceptedCount, 1);
      awaitStats(m, 1, 0, 1, 0, 0);
    }
  }

  /** The original delivered a queued request anyway; here it is cancelled, in both styles. */
  @Test
  void deallocateWhileQueued() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a, rec);
      Connection held = rec.next().connection();

      ResultRecorder cancelled = new ResultRecorder();
      long id = m.allocate(a, cancelled);
      awaitStats(m, 1, 0, 1, 0, 1);
      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 1, 0, 1, 0, 0);
      assertThat(m.deallocate(id)).isFalse();

      CompletableFuture<Connection> f = m.allocate(a);
      awaitStats(m, 1, 0, 1, 0, 1);
      assertThat(f.cancel(true)).isTrue();
      assertThat(f).isCancelled();
      awaitStats(m, 1, 0, 1, 0, 0);

      // the socket given back goes to the pool, not to a cancelled request
      held.close();
      awaitStats(m, 1, 1, 0, 0, 0);
      m.allocate(a, rec);
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(cancelled.all()).isEmpty();
      assertThatThrownBy(() -> f.get(1, SECONDS)).isInstanceOf(CancellationException.class);
      awaitAccepted(server::acceptedCount, 1);
    }
  }

  /** The original delivered a connecting request anyway; here its socket is closed at once. */
  @Test
  void deallocateWhileConnecting() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      ResultRecorder cancelled = new ResultRecorder();
      long id = m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), cancelled);
      awaitStats(m, 1, 0, 0, 1, 0);
      eventually().until(
          () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 1);

      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 0, 0, 0, 0, 0);
      eventually().until(
          () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 0);
      assertThat(m.deallocate(id)).isFalse();

      // its global slot is free again: with maxOpen=1 the next request connects at once
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(cancelled.all()).isEmpty();
      awaitStats(m, 1, 0, 1, 0, 0);
    }
  }

  /** deallocate() of an answered request, or of an id never given, returns false. */
  @Test
  void deallocateOfAnsweredOrUnknownIdReturnsFalse() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      long ok = m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      AllocationResult r = rec.next();
      assertThat(m.deallocate(ok)).isFalse();
      long refused = m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), rec);
      assertThat(rec.next().errorNum()).isEqualTo(111);
      assertThat(m.deallocate(refused)).isFalse();
      assertThat(m.deallocate(refused + 1000)).isFalse();
      assertThat(m.deallocate(0)).isFalse();
      assertThat(m.deallocate(-1)).isFalse();
      assertThat(r.connection().isOpen()).isTrue();
      assertThat(rec.all()).hasSize(2);
      r.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  // ---- data arriving after free ----

  /** Data arriving on an idle pooled socket gets it discarded: the next request gets a NEW one. */
  @Test
  void dataArrivingWhileIdleDiscardsTheSocket() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a, rec);
      Connection c1 = rec.next().connection();
      int port1 = c1.localAddress().getPort();
      c1.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      Socket peer = peer(server, port1);
      PeerIo.write(peer, "late data");
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.RESET);

      m.allocate(a, rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().localAddress().getPort()).isNotEqualTo(port1);
      r2.connection().close();
    }
  }

  /**
   * The original handed out a socket whose unread data arrived after free(). Here the socket is
   * checked again when it leaves the pool: with the loop kept busy so that its idle watch cannot
   * run, data arrives, then a request made on the loop gets a NEW socket, not the dirty one.
   */
  @Test
  void socketLeavingThePoolIsCheckedAgain() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a, rec);
      Connection c1 = rec.next().connection();
      int port1 = c1.localAddress().getPort();
      c1.close();
      awaitStats(m, 1, 1, 0, 0, 0);
      Socket peer = peer(server, port1);

      CompletableFuture<AllocationResult> inner = new CompletableFuture<>();
      // the callback of a refused request runs on the loop thread and holds it
      m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), refused -> {
        try {
          PeerIo.write(peer, "late data");
          eventually().until(() -> TcpTable.receiveQueue(port1) > 0);
          m.allocate(a, inner::complete);
        } catch (Throwable t) {
          inner.completeExceptionally(t);
        }
      });
      AllocationResult r2 = inner.get(20, SECONDS);
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().localAddress().getPort()).isNotEqualTo(port1);
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.RESET);
      awaitStats(m, 1, 0, 1, 0, 0);
      awaitAccepted(server::acceptedCount, 2);
      r2.connection().close();
    }
  }

  // ---- shutdown() ----

  /**
   * The original answered nothing on shutdown and let in-flight connects deliver later. Here every
   * pending request, in every phase, gets exactly one "shutdown" answer and connects are closed.
   */
  @Test
  void shutdownAnswersEveryPendingRequestOnceAndClosesConnects() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(1).resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ResultRecorder recHeld = new ResultRecorder();
      m.allocate(a, recHeld);
      Connection held = recHeld.next().connection();
      Socket peer = peer(server, held.localAddress().getPort());

      ResultRecorder queued = new ResultRecorder();
      ResultRecorder resolving = new ResultRecorder();
      ResultRecorder connecting = new ResultRecorder();
      long idQueued = m.allocate(a, queued);
      long idResolving = m.allocate(Allocation.to("http", "slow.test", server.port()), resolving);
      long idConnecting = m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), connecting);
      CompletableFuture<Connection> futureQueued = m.allocate(a);
      awaitStats(m, 2, 0, 1, 1, 3);
      eventually().until(
          () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 1);

      m.shutdown();
      Map<Long, ResultRecorder> pending = Map.of(
          idQueued, queued, idResolving, resolving, idConnecting, connecting);
      for (Map.Entry<Long, ResultRecorder> e : pending.entrySet()) {
        AllocationResult r = e.getValue().next();
        assertThat(r.requestId()).isEqualTo(e.getKey());
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.connection()).isNull();
        assertThat(r.function()).isEqualTo("shutdown");
        assertThat(r.errorNum()).isNull();
        assertThat(r.errorStr()).isEqualTo("Connection manager is shut down");
      }
      assertThatThrownBy(() -> futureQueued.get(10, SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOfSatisfying(AllocationException.class,
              e -> assertThat(e.function()).isEqualTo("shutdown"));
      awaitStats(m, 1, 0, 1, 0, 0);
      eventually().until(
          () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 0);

      // late events reach nobody: the lookup answers now; a write is a loop task run after it
      resolver.completeAll(Loopback.ipv4());
      held.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII))).get(10, SECONDS);
      assertThat(PeerIo.read(peer, 4)).isEqualTo("ping");
      for (ResultRecorder rec : pending.values()) {
        assertThat(rec.all()).hasSize(1);
      }
      assertThat(recHeld.all()).hasSize(1);
      awaitAccepted(server::acceptedCount, 1);

      held.close();
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }

  // ---- timeouts leak nothing ----

  /**
   * The original leaked bookkeeping when requests timed out while resolving or queued. Here
   * requests timing out in every phase leave no count, no lookup and no file descriptor behind.
   */
  @Test
  void nothingLeakedAfterTimeouts() throws Exception {
    timeoutRound(); // warms up every class and file the round touches
    int baseline = Descriptors.count();
    timeoutRound();
    eventually().until(() -> Descriptors.count() <= baseline);
  }

  private static void timeoutRound() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener()) {
      try (ConnectionManager m = ConnectionManager.builder().maxPerHost(1)
          .timeout(Duration.ofMillis(300)).resolver(resolver).build()) {
        int before = Descriptors.count();
        Allocation a = Allocation.to("http", "127.0.0.1", server.port());
        Allocation named = Allocation.to("http", "leak.test", server.port());
        Connection held = m.allocate(a.timeout(Duration.ofSeconds(10))).get(10, SECONDS);

        ResultRecorder queued = new ResultRecorder();
        ResultRecorder resolving = new ResultRecorder();
        ResultRecorder connecting = new ResultRecorder();
        m.allocate(a, queued);
        m.allocate(named, resolving);
        m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), connecting);
        for (ResultRecorder rec : List.of(queued, resolving, connecting)) {
          AllocationResult r = rec.next();
          assertThat(r.function()).isEqualTo("connect");
          assertThat(r.errorNum()).isEqualTo(110);
          assertThat(r.errorStr()).isEqualTo("Connection timed out");
        }
        awaitStats(m, 1, 0, 1, 0, 0);
        held.discard();
        awaitStats(m, 0, 0, 0, 0, 0);

        // the abandoned lookup is forgotten: a new request for the host gets a lookup of its own
        ResultRecorder again = new ResultRecorder();
        m.allocate(named.timeout(Duration.ofSeconds(10)), again);
        eventually().until(() -> resolver.callCount() == 2);
        resolver.calls().get(1).answer().complete(List.of(Loopback.ipv4()));
        AllocationResult r = again.next();
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        r.connection().discard();
        awaitStats(m, 0, 0, 0, 0, 0);

        // no descriptor left but the server's side of the connections it accepted
        eventually().until(() -> Descriptors.count() <= before + server.acceptedCount());
        eventually().until(
            () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 0);
        assertThat(queued.all()).hasSize(1);
        assertThat(resolving.all()).hasSize(1);
        assertThat(connecting.all()).hasSize(1);
      }
    }
  }

  // ---- LRU eviction ----

  /**
   * The original evicted a random idle socket; here the least recently used one of another key is
   * closed, and use (not creation) is what counts.
   */
  @Test
  void evictionClosesTheLeastRecentlyUsedIdleSocket() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(3).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(key(server, "key-a"), rec);
      m.allocate(key(server, "key-b"), rec);
      m.allocate(key(server, "key-c"), rec);
      Map<String, Connection> first = new java.util.HashMap<>();
      for (int i = 0; i < 3; i++) {
        AllocationResult r = rec.next();
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        first.put(r.scheme(), r.connection());
      }
      int portA = first.get("key-a").localAddress().getPort();
      int portB = first.get("key-b").localAddress().getPort();
      int portC = first.get("key-c").localAddress().getPort();
      // given back in the order B, A, C; then A is used once more: least recently used is B, then C
      first.get("key-b").close();
      first.get("key-a").close();
      first.get("key-c").close();
      awaitStats(m, 3, 3, 0, 0, 0);
      m.allocate(key(server, "key-a"), rec);
      AllocationResult a2 = rec.next();
      assertThat(a2.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      a2.connection().close();
      awaitStats(m, 3, 3, 0, 0, 0);

      m.allocate(key(server, "key-d"), rec);
      AllocationResult d = rec.next();
      assertThat(d.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(PeerIo.awaitClosed(peer(server, portB))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 3, 2, 1, 0, 0);

      m.allocate(key(server, "key-e"), rec);
      AllocationResult e = rec.next();
      assertThat(e.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(PeerIo.awaitClosed(peer(server, portC))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 3, 1, 2, 0, 0);

      // A, the oldest socket but the most recently used, survived
      m.allocate(key(server, "key-a"), rec);
      AllocationResult a3 = rec.next();
      assertThat(a3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(a3.connection().localAddress().getPort()).isEqualTo(portA);
      a3.connection().write(ByteBuffer.wrap("alive".getBytes(StandardCharsets.US_ASCII)))
          .get(10, SECONDS);
      assertThat(PeerIo.read(peer(server, portA), 5)).isEqualTo("alive");
      awaitAccepted(server::acceptedCount, 5);
      for (AllocationResult r : List.of(a3, d, e)) {
        r.connection().close();
      }
      awaitStats(m, 3, 3, 0, 0, 0);
    }
  }

  // ---- literals skip the resolver; every address is tried ----

  /** The original sent IPv6 literals through DNS; here "::1" and "[::1]" never reach the resolver. */
  @Test
  void ipv6LiteralsSkipTheResolver() throws Exception {
    InetAddress v6 = InetAddress.getByName("::1");
    AcceptingServer server = AcceptingServer.tryBind(v6);
    assumeTrue(server != null, "::1 cannot be bound on this machine");
    TestResolver forbidden = TestResolver.forbidden();
    try (server; ConnectionManager m = ConnectionManager.builder().resolver(forbidden).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", "[::1]", server.port()), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.isSuccess()).as("%s", r1).isTrue();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r1.addr()).isEqualTo("[::1]");
      assertThat(r1.connection().remoteAddress()).isEqualTo(new InetSocketAddress(v6, server.port()));
      r1.connection().discard();
      awaitStats(m, 0, 0, 0, 0, 0);

      m.allocate(Allocation.to("http", "::1", server.port()), rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.isSuccess()).as("%s", r2).isTrue();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().remoteAddress()).isEqualTo(new InetSocketAddress(v6, server.port()));
      int port2 = r2.connection().localAddress().getPort();
      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);

      // with or without brackets, one key
      m.allocate(Allocation.to("http", "[::1]", server.port()), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r3.connection().localAddress().getPort()).isEqualTo(port2);
      r3.connection().close();

      assertThat(forbidden.hosts()).isEmpty();
      awaitAccepted(server::acceptedCount, 2);
    }
  }

  /** Dotted-quad IPv4 skips the resolver too, while a host name does go through it. */
  @Test
  void ipv4LiteralSkipsTheResolver() {
    TestResolver forbidden = TestResolver.forbidden();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(forbidden).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(forbidden.hosts()).isEmpty();

      // the resolver is wired in: a name is looked up, and its failure answers "resolve"
      m.allocate(Allocation.to("http", "not-a-literal.test", server.port()), rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.isSuccess()).isFalse();
      assertThat(r2.function()).isEqualTo("resolve");
      assertThat(r2.errorStr()).isNotBlank();
      assertThat(forbidden.hosts()).containsExactly("not-a-literal.test");
      r1.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  /**
   * The original tried only the first address. Here a refused address is followed by the next one:
   * 127.0.0.2 refuses (the server listens on 127.0.0.1 only), 127.0.0.1 answers.
   */
  @Test
  void nextAddressIsTriedWhenOneIsRefused() throws Exception {
    InetAddress first = Loopback.ipv4(2);
    InetAddress second = Loopback.ipv4();
    try (AcceptingServer server = new AcceptingServer(second)) {
      assumeTrue(refuses(first, server.port()), "127.0.0.2 does not refuse connections here");
      TestResolver resolver = TestResolver.answering(Map.of(
          "two.test", List.of(first, second),
          "refusing.test", List.of(first)));
      try (ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
        ResultRecorder rec = new ResultRecorder();
        m.allocate(Allocation.to("http", "refusing.test", server.port()), rec);
        AllocationResult refused = rec.next();
        assertThat(refused.function()).isEqualTo("connect");
        assertThat(refused.errorNum()).isEqualTo(111);
        assertThat(refused.errorStr()).isEqualTo("Connection refused");

        m.allocate(Allocation.to("http", "two.test", server.port()), rec);
        AllocationResult r = rec.next();
        assertThat(r.isSuccess()).as("%s", r).isTrue();
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        assertThat(r.connection().remoteAddress())
            .isEqualTo(new InetSocketAddress(second, server.port()));
        awaitAccepted(server::acceptedCount, 1);
        r.connection().close();
        awaitStats(m, 1, 1, 0, 0, 0);
      }
    }
  }

  // ---- helpers ----

  private static boolean refuses(InetAddress address, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), 2000);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static Allocation key(AcceptingServer server, String scheme) {
    return Allocation.to(scheme, "127.0.0.1", server.port());
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
}
