package dev.keepalive;

import static dev.keepalive.testing.Managers.assertRoundTrip;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.PeerIo;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Eviction at maxOpen: a request for another key closes an idle socket to make room, the least
 * recently used one, and never a socket that has just been handed out from the pool.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EvictionTest {
  /** maxOpen=2: a request to host B evicts an idle socket of host A. */
  @Test
  void atMaxOpenARequestForAnotherHostEvictsAnIdleSocket() {
    try (AcceptingServer serverA = new AcceptingServer();
        AcceptingServer serverB = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(2).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(serverA.port()), rec);
      m.allocate(plain(serverA.port()), rec);
      Connection a1 = rec.next().connection();
      Connection a2 = rec.next().connection();
      int portA1 = a1.localAddress().getPort();
      int portA2 = a2.localAddress().getPort();
      a1.close();
      a2.close();
      awaitStats(m, 2, 2, 0, 0, 0);

      m.allocate(plain(serverB.port()), rec);
      AllocationResult b = rec.next();
      assertThat(b.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(b.port()).isEqualTo(serverB.port());
      awaitStats(m, 2, 1, 1, 0, 0);

      // one A socket survived and is reused; the other was closed
      m.allocate(plain(serverA.port()), rec);
      AllocationResult again = rec.next();
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      int survivor = again.connection().localAddress().getPort();
      assertThat(survivor).isIn(portA1, portA2);
      int evicted = survivor == portA1 ? portA2 : portA1;
      assertThat(PeerIo.awaitClosed(peerOf(serverA, evicted))).isEqualTo(PeerIo.Ending.EOF);
      await().until(() -> serverA.acceptedCount() == 2);
      again.connection().close();
      b.connection().close();
      awaitStats(m, 2, 2, 0, 0, 0);
    }
  }

  /** A socket handed out from the pool is never also chosen for eviction. */
  @Test
  void aSocketHandedOutFromThePoolIsNeverEvicted() throws Exception {
    try (AcceptingServer serverA = new AcceptingServer();
        AcceptingServer serverB = new AcceptingServer();
        AcceptingServer serverC = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxOpen(2).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(serverA.port()), rec);
      Connection a1 = rec.next().connection();
      m.allocate(plain(serverB.port()), rec);
      Connection b1 = rec.next().connection();
      int portA = a1.localAddress().getPort();
      int portB = b1.localAddress().getPort();
      a1.close();
      awaitStats(m, 2, 1, 1, 0, 0);

      // in one go: A takes its idle socket, C must then wait rather than evict it
      ResultRecorder recA = new ResultRecorder();
      ResultRecorder recC = new ResultRecorder();
      m.allocate(plain(serverA.port()), recA);
      m.allocate(plain(serverC.port()), recC);
      AllocationResult ra = recA.next();
      assertThat(ra.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      Connection a2 = ra.connection();
      assertThat(a2.localAddress().getPort()).isEqualTo(portA);
      awaitStats(m, 2, 0, 2, 0, 1);
      assertThat(recC.all()).isEmpty();

      Socket peerA = peerOf(serverA, portA);
      assertRoundTrip(a2, peerA, "hello");

      // B comes back: it is the one evicted for C
      b1.close();
      AllocationResult rc = recC.next();
      assertThat(rc.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(PeerIo.awaitClosed(peerOf(serverB, portB))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 2, 0, 2, 0, 0);
      assertThat(a2.isOpen()).isTrue();
      assertRoundTrip(a2, peerA, "again");
      await().until(() -> serverA.acceptedCount() == 1);
      a2.close();
      rc.connection().close();
      awaitStats(m, 2, 2, 0, 0, 0);
    }
  }

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
      assertThat(PeerIo.awaitClosed(peerOf(server, portB))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 3, 2, 1, 0, 0);

      m.allocate(key(server, "key-e"), rec);
      AllocationResult e = rec.next();
      assertThat(e.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(PeerIo.awaitClosed(peerOf(server, portC))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, 3, 1, 2, 0, 0);

      // A, the oldest socket but the most recently used, survived
      m.allocate(key(server, "key-a"), rec);
      AllocationResult a3 = rec.next();
      assertThat(a3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(a3.connection().localAddress().getPort()).isEqualTo(portA);
      a3.connection()
          .write(ByteBuffer.wrap("alive".getBytes(StandardCharsets.US_ASCII)))
          .get(10, SECONDS);
      assertThat(PeerIo.read(peerOf(server, portA), 5)).isEqualTo("alive");
      await().until(() -> server.acceptedCount() == 5);
      for (AllocationResult r : List.of(a3, d, e)) {
        r.connection().close();
      }
      awaitStats(m, 3, 3, 0, 0, 0);
    }
  }

  private static Allocation key(AcceptingServer server, String scheme) {
    return Allocation.to(scheme, "127.0.0.1", server.port());
  }
}
