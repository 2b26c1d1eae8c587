package dev.keepalive;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keepalive.testing.Fds;
import dev.keepalive.testing.LoopbackServer;
import dev.keepalive.testing.SeedHangingServer;
import dev.keepalive.testing.SeedRecorder;
import dev.keepalive.testing.SeedResolver;
import dev.keepalive.testing.SeedServer;
import dev.keepalive.testing.SeedSockets;
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
    SeedResolver resolver = SeedResolver.manual();
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "pending.test", server.port());
      SeedRecorder cancelled = new SeedRecorder();
      long id = m.allocate(a, cancelled);
      awaitStats(m, 0, 0, 0, 0, 1);
      assertThat(resolver.hosts()).containsExactly("pending.test");

      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(m.deallocate(id)).isFalse();

      // the lookup answers late: it reaches nobody
      resolver.completeAll(SeedResolver.ipv4Loopback());
      // the next request to the host proceeds (with a lookup of its own)
      SeedRecorder rec = new SeedRecorder();
      m.allocate(a, rec);
      eventually().until(() -> resolver.callCount() == 2);
      resolver.completeAll(SeedResolver.ipv4Loopback());
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(cancelled.all()).isEmpty();
      awaitAccepted(server::acceptedCount, 1);
      awaitStats(m, 1, 0, 1, 0, 0);
    }
  }

  /** The original delivered a queued request anyway; here it is cancelled, in both styles. */
  @Test
  void deallocateWhileQueued() throws Exception {
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      SeedRecorder rec = new SeedRecorder();
      m.allocate(a, rec);
      Connection held = rec.next().connection();

      SeedRecorder cancelled = new SeedRecorder();
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
    try (LoopbackServer server = new LoopbackServer();
        SeedHangingServer hanging = new SeedHangingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      SeedRecorder cancelled = new SeedRecorder();
      long id = m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), cancelled);
      awaitStats(m, 1, 0, 0, 1, 0);
      eventually().until(
          () -> SeedSockets.countByRemotePort(hanging.port(), SeedSockets.SYN_SENT) == 1);

      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 0, 0, 0, 0, 0);
      eventually().until(
          () -> SeedSockets.countByRemotePort(hanging.port(), SeedSockets.SYN_SENT) == 0);
      assertThat(m.deallocate(id)).isFalse();

      // its global slot is free again: with maxOpen=1 the next request connects at once
      SeedRecorder rec = new SeedRecorder();
      m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(cancelled.all()).isEmpty();
      awaitStats(m, 1, 0, 1, 0, 0);
    }
  }

  /** deallocate() of an answered request, or of an id never given, returns false. */
  @Test
  void deallocateOfAnsweredOrUnknownIdReturnsFalse() {
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.create()) {
      SeedRecorder rec = new SeedRecorder();
      long ok = m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      AllocationResult r = rec.next();
      assertThat(m.deallocate(ok)).isFalse();
      long refused = m.allocate(Allocation.to("http", "127.0.0.1", LoopbackServer.closedPort()), rec);
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
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      SeedRecorder rec = new SeedRecorder();
      m.allocate(a, rec);
      Connection c1 = rec.next().connection();
      int port1 = c1.localAddress().getPort();
      c1.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      Socket peer = peer(server, port1);
      SeedSockets.write(peer, "late data");
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(SeedSockets.awaitClosed(peer)).isEqualTo(SeedSockets.Ending.RESET);

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
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      SeedRecorder rec = new SeedRecorder();
      m.allocate(a, rec);
      Connection c1 = rec.next().connection();
      int port1 = c1.localAddress().getPort();
      c1.close();
      awaitStats(m, 1, 1, 0, 0, 0);
      Socket peer = peer(server, port1);

      CompletableFuture<AllocationResult> inner = new CompletableFuture<>();
      // the callback of a refused request runs on the loop thread and holds it
      m.allocate(Allocation.to("http", "127.0.0.1", LoopbackServer.closedPort()), refused -> {
        try {
          SeedSockets.write(peer, "late data");
          eventually().until(() -> SeedSockets.receiveQueue(port1) > 0);
          m.allocate(a, inner::complete);
        } catch (Throwable t) {
          inner.completeExceptionally(t);
        }
      });
      AllocationResult r2 = inner.get(20, SECONDS);
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().localAddress().getPort()).isNotEqualTo(port1);
      assertThat(SeedSockets.awaitClosed(peer)).isEqualTo(SeedSockets.Ending.RESET);
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
    SeedResolver resolver = SeedResolver.manual();
    try (LoopbackServer server = new LoopbackServer();
        SeedHangingServer hanging = new SeedHangingServer();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(1).resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      SeedRecorder recHeld = new SeedRecorder();
      m.allocate(a, recHeld);
      Connection held = recHeld.next().connection();
      Socket peer = peer(server, held.localAddress().getPort());

      SeedRecorder queued = new SeedRecorder();
      SeedRecorder resolving = new SeedRecorder();
      SeedRecorder connecting = new SeedRecorder();
      long idQueued = m.allocate(a, queued);
      long idResolving = m.allocate(Allocation.to("http", "slow.test", server.port()), resolving);
      long idConnecting = m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), connecting);
      CompletableFuture<Connection> futureQueued = m.allocate(a);
      awaitStats(m, 2, 0, 1, 1, 3);
      eventually().until(
          () -> SeedSockets.countByRemotePort(hanging.port(), SeedSockets.SYN_SENT) == 1);

      m.shutdown();
      Map<Long, SeedRecorder> pending = Map.of(
          idQueued, queued, idResolving, resolving, idConnecting, connecting);
      for (Map.Entry<Long, SeedRecorder> e : pending.entrySet()) {
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
          () -> SeedSockets.countByRemotePort(hanging.port(), SeedSockets.SYN_SENT) == 0);

      // late events reach nobody: the lookup answers now; a write is a loop task run after it
      resolver.completeAll(SeedResolver.ipv4Loopback());
      held.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII))).get(10, SECONDS);
      assertThat(SeedSockets.read(peer, 4)).isEqualTo("ping");
      for (SeedRecorder rec : pending.values()) {
        assertThat(rec.all()).hasSize(1);
      }
      assertThat(recHeld.all()).hasSize(1);
      awaitAccepted(server::acceptedCount, 1);

      held.close();
      assertThat(SeedSockets.awaitClosed(peer)).isEqualTo(SeedSockets.Ending.EOF);
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
    int baseline = Fds.open();
    timeoutRound();
    eventually().until(() -> Fds.open() <= baseline);
  }

  private static void timeoutRound() throws Exception {
    SeedResolver resolver = SeedResolver.manual();
    try (LoopbackServer server = new LoopbackServer();
        SeedHangingServer hanging = new SeedHangingServer()) {
      try (ConnectionManager m = ConnectionManager.builder().maxPerHost(1)
          .timeout(Duration.ofMillis(300)).resolver(resolver).build()) {
        int before = Fds.open();
        Allocation a = Allocation.to("http", "127.0.0.1", server.port());
        Allocation named = Allocation.to("http", "leak.test", server.port());
        Connection held = m.allocate(a.timeout(Duration.ofSeconds(10))).get(10, SECONDS);

        SeedRecorder queued = new SeedRecorder();
        SeedRecorder resolving = new SeedRecorder();
        SeedRecorder connecting = new SeedRecorder();
        m.allocate(a, queued);
        m.allocate(named, resolving);
        m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), connecting);
        for (SeedRecorder rec : List.of(queued, resolving, connecting)) {
          AllocationResult r = rec.next();
          assertThat(r.function()).isEqualTo("connect");
          assertThat(r.errorNum()).isEqualTo(110);
          assertThat(r.errorStr()).isEqualTo("Connection timed out");
        }
        awaitStats(m, 1, 0, 1, 0, 0);
        held.discard();
        awaitStats(m, 0, 0, 0, 0, 0);

        // the abandoned lookup is forgotten: a new request for the host gets a lookup of its own
        SeedRecorder again = new SeedRecorder();
        m.allocate(named.timeout(Duration.ofSeconds(10)), again);
        eventually().until(() -> resolver.callCount() == 2);
        resolver.calls().get(1).answer().complete(List.of(SeedResolver.ipv4Loopback()));
        AllocationResult r = again.next();
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        r.connection().discard();
        awaitStats(m, 0, 0, 0, 0, 0);

        // no descriptor left but the server's side of the connections it accepted
        eventually().until(() -> Fds.open() <= before + server.acceptedCount());
        eventually().until(
            () -> SeedSockets.countByRemotePort(hanging.port(), SeedSockets.SYN_SENT) == 0);
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
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(3).build()) {
      SeedRecorder rec = new SeedRecorder();
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
      assertThat(SeedSockets.awaitClosed(peer(server, portB))).isEqualTo(SeedSockets.Ending.EOF);
      awaitStats(m, 3, 2, 1, 0, 0);

      m.allocate(key(server, "key-e"), rec);
      AllocationResult e = rec.next();
      assertThat(e.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(SeedSockets.awaitClosed(peer(server, portC))).isEqualTo(SeedSockets.Ending.EOF);
      awaitStats(m, 3, 1, 2, 0, 0);

      // A, the oldest socket but the most recently used, survived
      m.allocate(key(server, "key-a"), rec);
      AllocationResult a3 = rec.next();
      assertThat(a3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(a3.connection().localAddress().getPort()).isEqualTo(portA);
      a3.connection().write(ByteBuffer.wrap("alive".getBytes(StandardCharsets.US_ASCII)))
          .get(10, SECONDS);
      assertThat(SeedSockets.read(peer(server, portA), 5)).isEqualTo("alive");
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
    SeedServer server = SeedServer.tryBind(v6);
    assumeTrue(server != null, "::1 cannot be bound on this machine");
    SeedResolver forbidden = SeedResolver.forbidden();
    try (server; ConnectionManager m = ConnectionManager.builder().resolver(forbidden).build()) {
      SeedRecorder rec = new SeedRecorder();
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
    SeedResolver forbidden = SeedResolver.forbidden();
    try (LoopbackServer server = new LoopbackServer();
        ConnectionManager m = ConnectionManager.builder().resolver(forbidden).build()) {
      SeedRecorder rec = new SeedRecorder();
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
    InetAddress first = SeedResolver.loopback(2);
    InetAddress second = SeedResolver.ipv4Loopback();
    try (SeedServer server = new SeedServer(second)) {
      assumeTrue(refuses(first, server.port()), "127.0.0.2 does not refuse connections here");
      SeedResolver resolver = SeedResolver.answering(Map.of(
          "two.test", List.of(first, second),
          "refusing.test", List.of(first)));
      try (ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
        SeedRecorder rec = new SeedRecorder();
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

  private static Allocation key(LoopbackServer server, String scheme) {
    return Allocation.to(scheme, "127.0.0.1", server.port());
  }

  private static Socket peer(LoopbackServer server, int clientPort) {
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
