package dev.keepalive;

import static dev.keepalive.testing.Managers.assertReused;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.TcpTable;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Which sockets are reused: one given back in good order is (NEW, then IMMEDIATE); one its user
 * shut down, one given back with data unread or at EOF is not; and once a socket has a new
 * holder, nothing of its old holder reaches it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReuseTest {
  /**
   * A connection given back is reused: NEW, then IMMEDIATE, always answered off the caller's
   * stack.
   */
  @Test
  void aSocketGivenBackIsReusedNewThenImmediate() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      long id1 = m.allocate(plain(server.port()).context("first"), rec);
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

      long id2 = m.allocate(plain(server.port()).context("second"), rec);
      AllocationResult r2 = rec.next();
      assertThat(id2).isPositive().isNotEqualTo(id1);
      assertThat(r2.requestId()).isEqualTo(id2);
      assertThat(r2.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r2.context()).isEqualTo("second");
      assertThat(r2.connection().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r2.connection().localAddress().getPort()).isEqualTo(port1);
      await().until(() -> server.acceptedCount() == 1);
      assertThat(rec.threads()).doesNotContain(Thread.currentThread());
      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);

      // Even a pool hit asked for on the loop thread itself is answered later, never inside
      // allocate().
      AtomicBoolean insideAllocate = new AtomicBoolean();
      CompletableFuture<Boolean> answeredInside = new CompletableFuture<>();
      CompletableFuture<AllocationResult> inner = new CompletableFuture<>();
      m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), failed -> {
        insideAllocate.set(true);
        try {
          m.allocate(plain(server.port()), r -> {
            answeredInside.complete(insideAllocate.get());
            inner.complete(r);
          });
        } finally {
          insideAllocate.set(false);
        }
      });
      AllocationResult r3 = inner.get(10, SECONDS);
      assertThat(answeredInside.get(10, SECONDS))
          .as("answered on allocate()'s stack")
          .isFalse();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      r3.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  /**
   * A socket its user shut down is not pooled; the other one is reused IMMEDIATE; closing or
   * discarding an already closed or discarded connection is harmless.
   */
  @Test
  void aSocketItsUserShutDownIsNotPooledAndClosingAgainIsHarmless() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(server.port()), rec);
      m.allocate(plain(server.port()), rec);
      Connection c1 = rec.next().connection();
      Connection c2 = rec.next().connection();
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      int port1 = c1.localAddress().getPort();
      int port2 = c2.localAddress().getPort();

      c1.shutdownOutput();
      Socket peer1 = peerOf(server, port1);
      assertThat(PeerIo.awaitClosed(peer1)).isEqualTo(PeerIo.Ending.EOF);
      c1.close();
      c2.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      m.allocate(plain(server.port()), rec);
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
      m.allocate(plain(server.port()), rec);
      Connection c4 = rec.next().connection();
      assertThat(c4.fromCache()).isEqualTo(FromCache.NEW);
      c4.channel().close();
      c4.close();
      m.free(c4);
      assertThat(c4.isOpen()).isFalse();
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }

  /** A socket given back with data its user never read is not reused (closed with a reset). */
  @Test
  void aSocketGivenBackWithUnreadDataIsNotReused() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(server.port()), rec);
      Connection c1 = rec.next().connection();
      int port1 = c1.localAddress().getPort();
      Socket peer = peerOf(server, port1);
      PeerIo.write(peer, "never read by the client");
      // the bytes are in the client socket's receive queue, unread
      await().until(() -> TcpTable.receiveQueue(port1) > 0);

      c1.close();
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.RESET);
      awaitStats(m, 0, 0, 0, 0, 0);

      m.allocate(plain(server.port()), rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().localAddress().getPort()).isNotEqualTo(port1);
      await().until(() -> server.acceptedCount() == 2);
      r2.connection().close();
    }
  }

  /**
   * A socket at EOF is not pooled; the handler of an earlier holder of a reused socket never
   * gets the events of the next holder.
   */
  @Test
  void aSocketAtEofIsNotPooledAndAnOldHandlerHearsNothingOfTheNextHolder() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();

      // EOF seen by a handler
      m.allocate(plain(server.port()), rec);
      Connection c1 = rec.next().connection();
      HandlerRecorder h1 = HandlerRecorder.startedOn(c1);
      peerOf(server, c1.localAddress().getPort()).close();
      await().until(() -> h1.eofs.get() == 1);
      c1.close();
      awaitStats(m, 0, 0, 0, 0, 0);

      // EOF nobody read
      m.allocate(plain(server.port()), rec);
      Connection c1b = rec.next().connection();
      assertThat(c1b.fromCache()).isEqualTo(FromCache.NEW);
      peerOf(server, c1b.localAddress().getPort()).close();
      c1b.close();
      awaitStats(m, 0, 0, 0, 0, 0);

      // an old holder's handler and connection are cut off from the next holder
      m.allocate(plain(server.port()), rec);
      Connection c2 = rec.next().connection();
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      int port2 = c2.localAddress().getPort();
      Socket peer2 = peerOf(server, port2);
      HandlerRecorder h2 = HandlerRecorder.startedOn(c2);
      PeerIo.write(peer2, "one");
      await().until(() -> h2.text().equals("one"));
      c2.close();
      awaitStats(m, 1, 1, 0, 0, 0);

      m.allocate(plain(server.port()), rec);
      Connection c3 = rec.next().connection();
      assertReused(c3, port2);
      HandlerRecorder h3 = HandlerRecorder.startedOn(c3);
      PeerIo.write(peer2, "two");
      await().until(() -> h3.text().equals("two"));
      // the old face cannot reach the socket any more
      assertThat(c2.isOpen()).isFalse();
      assertThatThrownBy(() -> c2.channel().read(ByteBuffer.allocate(8)))
          .isInstanceOf(ClosedChannelException.class);
      assertThatThrownBy(() -> c2.write(ByteBuffer.wrap(new byte[] {'x'})).get(10, SECONDS))
          .isInstanceOf(ExecutionException.class);
      peer2.close();
      await().until(() -> h3.eofs.get() == 1);

      assertThat(h1.text()).isEmpty();
      assertThat(h2.text()).isEqualTo("one");
      assertThat(h2.eofs.get()).isZero();
      assertThat(h2.error.get()).isNull();
      assertThat(h3.error.get()).isNull();
      c3.close();
      awaitStats(m, 0, 0, 0, 0, 0);
      await().until(() -> server.acceptedCount() == 3);
    }
  }
}
