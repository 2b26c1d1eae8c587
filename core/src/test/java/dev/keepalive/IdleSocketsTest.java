package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.TcpTable;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Idle sockets in the pool: they expire after keepAlive; the idle watch discards one the peer
 * writes to (or closes) at once; and a socket is checked again on its way out of the pool, for
 * what arrived while the loop could not watch it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdleSocketsTest {
  @Test
  void idleSocketsAreClosedAfterKeepAlive() throws Exception {
    try (ServerRig<AcceptingServer> rig = ServerRig.plain(
        () -> ConnectionManager.builder().keepAlive(Duration.ofMillis(500)).build())) {
      CompletableFuture<PoolStats> afterGiveBack = new CompletableFuture<>();
      CompletableFuture<Integer> localPort = new CompletableFuture<>();
      rig.m.allocate(rig.a, r -> {
        localPort.complete(r.connection().localAddress().getPort());
        r.connection().close(); // on the loop: pooled at once
        afterGiveBack.complete(rig.m.stats()); // exact on the loop
      });
      assertThat(afterGiveBack.get(LONG.toSeconds(), TimeUnit.SECONDS))
          .isEqualTo(new PoolStats(1, 1, 0, 0, 0));
      Socket peer = peerOf(rig.server, localPort.get());
      peer.setSoTimeout((int) LONG.toMillis());
      InputStream in = peer.getInputStream();
      assertThat(in.read()).as("the peer sees EOF when the idle socket expires").isEqualTo(-1);
      await().until(() -> rig.m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));
    }
  }

  /**
   * keepAlive=1s: idle sockets expire; then two concurrent requests to a host name both get NEW
   * sockets and share one lookup.
   */
  @Test
  void idleSocketsExpireAfterKeepAliveThenConcurrentRequestsShareOneLookup() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .keepAlive(Duration.ofSeconds(1))
            .resolver(resolver)
            .build()) {
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
      assertThat(PeerIo.awaitClosed(peerOf(server, port1))).isEqualTo(PeerIo.Ending.EOF);
      assertThat(PeerIo.awaitClosed(peerOf(server, port2))).isEqualTo(PeerIo.Ending.EOF);

      m.allocate(a, rec);
      m.allocate(a, rec);
      awaitStats(m, 0, 0, 0, 0, 2);
      assertThat(resolver.callCount())
          .as("one lookup for two concurrent requests")
          .isEqualTo(2);
      resolver.completeAll(Loopback.ipv4());
      AllocationResult r3 = rec.next();
      AllocationResult r4 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r4.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r3.connection().localAddress().getPort())
          .isNotEqualTo(r4.connection().localAddress().getPort());
      assertThat(resolver.hosts()).containsExactly("seed-host.test", "seed-host.test");
      await().until(() -> server.acceptedCount() == 4);
      r3.connection().close();
      r4.connection().close();
    }
  }

  /** Data arriving on an idle pooled socket gets it discarded: the next request gets a NEW one. */
  @Test
  void dataArrivingWhileIdleDiscardsTheSocket() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      Socket peer = pooledPeer(m, server, rec);
      int port1 = peer.getPort();
      PeerIo.write(peer, "late data");
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.RESET);

      m.allocate(plain(server.port()), rec);
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
      ResultRecorder rec = new ResultRecorder();
      Socket peer = pooledPeer(m, server, rec);
      int port1 = peer.getPort();
      Allocation a = plain(server.port());

      CompletableFuture<AllocationResult> inner = new CompletableFuture<>();
      // the callback of a refused request runs on the loop thread and holds it
      m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), refused -> {
        try {
          PeerIo.write(peer, "late data");
          await().until(() -> TcpTable.receiveQueue(port1) > 0);
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
      await().until(() -> server.acceptedCount() == 2);
      r2.connection().close();
    }
  }

  /**
   * Makes a connection to {@code server} and gives it back, idle in the pool: the server's side
   * of it (its port is the pooled socket's local port).
   */
  private static Socket pooledPeer(
      ConnectionManager m, AcceptingServer server, ResultRecorder rec) {
    m.allocate(plain(server.port()), rec);
    Connection c = rec.next().connection();
    int port = c.localAddress().getPort();
    c.close();
    awaitStats(m, 1, 1, 0, 0, 0);
    return peerOf(server, port);
  }
}
