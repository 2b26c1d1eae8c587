package dev.keepalive;

import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerSawClose;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.Managers;
import dev.keepalive.testkit.AcceptingServer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * retireAll() and retire(predicate) with real sockets on 127.0.0.1: idle sockets are closed at
 * once, leased ones when given back, later ones are untouched, the predicate sees each socket
 * and its exception reaches the caller. The pool's side is in PoolRetireTest.
 */
class RetirementTest {
  private AcceptingServer server;
  private AcceptingServer other;
  private final List<ConnectionManager> managers = new ArrayList<>();
  private Allocation to;

  @BeforeEach
  void start() {
    server = new AcceptingServer();
    other = new AcceptingServer();
    to = Allocation.to("http", "127.0.0.1", server.port());
  }

  @AfterEach
  void stop() {
    managers.forEach(ConnectionManager::close);
    server.close();
    other.close();
  }

  private ConnectionManager manager() {
    ConnectionManager m = ConnectionManager.create();
    managers.add(m);
    return m;
  }

  @Test
  void retireAllClosesIdleSocketsNowAndLeasedOnesWhenGivenBack() throws Exception {
    ConnectionManager m = manager();
    Connection idle = get(m, to);
    Connection leased = get(m, to);
    Socket idlePeer = Managers.peerOf(server, idle);
    Socket leasedPeer = Managers.peerOf(server, leased);
    idle.close();
    Managers.awaitStats(m, Managers.stats(2, 1, 1, 0, 0));

    assertThat(m.retireAll()).isEqualTo(2);
    assertThat(m.stats()).isEqualTo(Managers.stats(1, 0, 1, 0, 0));
    assertThat(peerSawClose(idlePeer)).isTrue();
    Managers.assertRoundTrip(leased, leasedPeer, "still works");

    leased.close();
    assertThat(peerSawClose(leasedPeer)).as("closed, not pooled").isTrue();
    Managers.awaitStats(m, Managers.EMPTY);
    Connection next = get(m, to);
    assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
    next.close();
    Managers.awaitStats(m, Managers.stats(1, 1, 0, 0, 0));
    assertThat(get(m, to).fromCache())
        .as("sockets opened later pool as usual")
        .isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void retireSelectsByRemoteAddressAndShowsEachSocket() throws Exception {
    ConnectionManager m = manager();
    Allocation toOther = Allocation.to("http", "127.0.0.1", other.port());
    get(m, to).close();
    Connection held = get(m, toOther);
    Managers.awaitStats(m, Managers.stats(2, 1, 1, 0, 0));
    List<ConnectionInfo> seen = new ArrayList<>();
    int n = m.retire(info -> {
      seen.add(info);
      return info.remoteAddress().getPort() == other.port();
    });
    assertThat(n).isEqualTo(1);
    assertThat(seen).hasSize(2);
    ConnectionInfo idleInfo = seen.get(0);
    assertThat(idleInfo.scheme()).isEqualTo("http");
    assertThat(idleInfo.addr()).isEqualTo("127.0.0.1");
    assertThat(idleInfo.port()).isEqualTo(server.port());
    assertThat(idleInfo.forPort()).isEqualTo(server.port());
    assertThat(idleInfo.remoteAddress())
        .isEqualTo(new InetSocketAddress("127.0.0.1", server.port()));
    assertThat(idleInfo.uses()).isEqualTo(1);
    assertThat(idleInfo.leased()).isFalse();
    assertThat(idleInfo.age()).isGreaterThanOrEqualTo(Duration.ZERO);
    assertThat(seen.get(1).leased()).isTrue();
    assertThat(m.stats())
        .as("the idle one is not selected")
        .isEqualTo(Managers.stats(2, 1, 1, 0, 0));
    Socket peer = Managers.peerOf(other, held);
    held.close();
    assertThat(peerSawClose(peer)).isTrue();
    Managers.awaitStats(m, Managers.stats(1, 1, 0, 0, 0));
  }

  @Test
  void aThrowingPredicateReachesTheCallerAndTheManagerCarriesOn() throws Exception {
    ConnectionManager m = manager();
    get(m, to).close();
    Managers.awaitStats(m, Managers.stats(1, 1, 0, 0, 0));
    assertThatThrownBy(() -> m.retire(info -> {
          throw new IllegalStateException("boom");
        }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("boom");
    Connection c = get(m, to);
    assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    c.close();
  }

  @Test
  void retireRejectsANullPredicateAndDoesNothingAfterClose() throws Exception {
    ConnectionManager m = manager();
    assertThatThrownBy(() -> m.retire(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("which");
    get(m, to).close();
    m.close();
    assertThat(m.retireAll()).isZero();
  }

  @Test
  void retireAllIsInlineOnTheLoopThread() throws Exception {
    ConnectionManager m = manager();
    get(m, to).close();
    Managers.awaitStats(m, Managers.stats(1, 1, 0, 0, 0));
    Connection c = get(m, to);
    java.util.concurrent.CompletableFuture<Integer> onLoop =
        new java.util.concurrent.CompletableFuture<>();
    m.allocate(to, r -> onLoop.complete(m.retireAll()));
    assertThat(onLoop.get(10, TimeUnit.SECONDS))
        .as("c and the new one, both leased")
        .isEqualTo(2);
    c.close();
    await().until(() -> m.stats().equals(Managers.stats(1, 0, 1, 0, 0)));
  }
}
