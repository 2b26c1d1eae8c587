package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.TcpTable;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Shutdown and close: after either, allocate() throws; every pending request gets one
 * "shutdown" answer and connects in flight are closed; a held connection keeps working and is
 * closed, not pooled, when given back; close() leaves no descriptor open.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LifecycleTest {
  @Test
  void noFileDescriptorIsLeftOpenAfterClose() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hang = new HangingListener()) {
      fdScenario(server, hang); // warm-up: load every class and open every jar first
      for (Socket s : server.accepted()) {
        s.close();
      }
      int before = Descriptors.count();
      Map<Integer, String> beforeList = Descriptors.snapshot();
      fdScenario(server, hang);
      for (Socket s : server.accepted()) {
        s.close(); // the server's side of the manager's sockets; the manager's side is gone
      }
      try {
        await().until(() -> Descriptors.count() == before);
      } catch (ConditionTimeoutException e) {
        throw new AssertionError(
            "descriptors left open: " + Descriptors.openedSince(beforeList), e);
      }
    }
  }

  private static void fdScenario(AcceptingServer server, HangingListener hang) throws Exception {
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
      AllocationException refused =
          failureOf(m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort())));
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
        assertThatThrownBy(() -> shut.allocate(a, r -> {}))
            .isInstanceOf(IllegalStateException.class);

        get(closed.allocate(a)).close();
        closed.close();
        closed.close(); // idempotent
        assertThatThrownBy(() -> closed.allocate(a)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> closed.allocate(a, r -> {}))
            .isInstanceOf(IllegalStateException.class);
        assertThat(closed.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
        await().until(() -> shut.stats().open() == 0);
      } finally {
        shut.close();
        closed.close();
      }
    }
  }

  /**
   * Shutdown() while a connection is held: no new requests; the held connection keeps working
   * and is closed, not pooled, when given back.
   */
  @Test
  void shutdownWhileAConnectionIsHeldLetsItWorkThenClosesIt() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(server.port()), rec);
      Connection c = rec.next().connection();
      Socket peer = peerOf(server, c.localAddress().getPort());

      m.shutdown();
      assertThatThrownBy(() -> m.allocate(plain(server.port()), rec))
          .isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> m.allocate(plain(server.port())))
          .isInstanceOf(IllegalStateException.class);
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

  /**
   * The original answered nothing on shutdown and let in-flight connects deliver later. Here every
   * pending request, in every phase, gets exactly one "shutdown" answer and connects are closed.
   */
  @Test
  void shutdownAnswersEveryPendingRequestOnceAndClosesConnects() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener();
        ConnectionManager m =
            ConnectionManager.builder().maxPerHost(1).resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ResultRecorder recHeld = new ResultRecorder();
      m.allocate(a, recHeld);
      Connection held = recHeld.next().connection();
      Socket peer = peerOf(server, held.localAddress().getPort());

      ResultRecorder queued = new ResultRecorder();
      ResultRecorder resolving = new ResultRecorder();
      ResultRecorder connecting = new ResultRecorder();
      long idQueued = m.allocate(a, queued);
      long idResolving = m.allocate(Allocation.to("http", "slow.test", server.port()), resolving);
      long idConnecting = m.allocate(plain(hanging.port()), connecting);
      CompletableFuture<Connection> futureQueued = m.allocate(a);
      awaitStats(m, 2, 0, 1, 1, 3);
      await()
          .until(() -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 1);

      m.shutdown();
      Map<Long, ResultRecorder> pending =
          Map.of(idQueued, queued, idResolving, resolving, idConnecting, connecting);
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
          .isInstanceOfSatisfying(
              AllocationException.class, e -> assertThat(e.function()).isEqualTo("shutdown"));
      awaitStats(m, 1, 0, 1, 0, 0);
      await()
          .until(() -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 0);

      // late events reach nobody: the lookup answers now; a write is a loop task run after it
      resolver.completeAll(Loopback.ipv4());
      held.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII))).get(10, SECONDS);
      assertThat(PeerIo.read(peer, 4)).isEqualTo("ping");
      for (ResultRecorder rec : pending.values()) {
        assertThat(rec.all()).hasSize(1);
      }
      assertThat(recHeld.all()).hasSize(1);
      await().until(() -> server.acceptedCount() == 1);

      held.close();
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }
}
