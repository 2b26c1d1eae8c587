package dev.keepalive;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testing.Managers;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ConnectionManager.totals() with real sockets on 127.0.0.1: hand-outs by how, closes by the
 * reason they happen for (the holder's verdict, the peer, retirement, shutdown), failures by
 * function, and the final totals after close(). Every reason on the pool's side is in
 * PoolTotalsTest.
 */
class TotalsTest {
  @RegisterExtension
  final ServerRig<AcceptingServer> rig = ServerRig.plain();

  private final ConnectionManager m = rig.m;
  private final Allocation to = rig.a;

  private Connection get() throws Exception {
    return m.allocate(to).get(10, TimeUnit.SECONDS);
  }

  @Test
  void aNewManagerHasCountedNothing() {
    PoolTotals t = m.totals();
    assertThat(t.handOuts()).isZero();
    assertThat(t.closes())
        .hasSize(CloseReason.values().length)
        .allSatisfy((r, n) -> assertThat(n).isZero());
    assertThat(t.failures()).containsKeys("resolve", "connect", "sslify", "shutdown", "queue");
  }

  @Test
  void handOutsAndTheHoldersVerdictsAreCounted() throws Exception {
    Connection c = get();
    c.close();
    Managers.awaitStats(m, Managers.stats(1, 1, 0, 0, 0));
    Connection again = get();
    assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    again.discard();
    Connection dirty = get();
    Socket peer = rig.peerOf(dirty);
    PeerIo.write(peer, "unread");
    // given back with the data unread (closed by RST), or pooled just before it arrives (closed
    // by RST as it arrives): unread data either way
    dirty.close();
    await().until(() -> m.totals().closed(CloseReason.UNREAD_DATA) == 1);
    PoolTotals t = m.totals();
    assertThat(t.newHandOuts()).isEqualTo(2);
    assertThat(t.immediateHandOuts()).isEqualTo(1);
    assertThat(t.deferredHandOuts()).isZero();
    assertThat(t.closed(CloseReason.DISCARDED)).isEqualTo(1);
  }

  @Test
  void aPeerClosingAnIdleSocketAndRetirementAreCounted() throws Exception {
    Connection a = get();
    Connection b = get();
    Socket peerA = rig.peerOf(a);
    a.close();
    b.close();
    Managers.awaitStats(m, Managers.stats(2, 2, 0, 0, 0));
    peerA.close();
    await().until(() -> m.totals().closed(CloseReason.PEER_CLOSED) == 1);
    assertThat(m.retireAll()).isEqualTo(1);
    assertThat(m.totals().closed(CloseReason.RETIRED)).isEqualTo(1);
  }

  @Test
  void failuresAreCountedByFunctionAndCloseLeavesTheFinalTotals() throws Exception {
    Allocation refused = Allocation.to("http", "127.0.0.1", Loopback.closedPort());
    AllocationException e = Managers.failureOf(m.allocate(refused));
    assertThat(e.function()).isEqualTo("connect");
    assertThat(m.totals().failed("connect")).isEqualTo(1);
    assertThat(m.totals().closed(CloseReason.CONNECT_FAILED)).isEqualTo(1);
    get(); // held at close()
    get().close(); // idle at close()
    Managers.awaitStats(m, Managers.stats(2, 1, 1, 0, 0));
    m.close();
    PoolTotals t = m.totals();
    assertThat(t.closed(CloseReason.SHUTDOWN)).isEqualTo(2);
    assertThat(t.newHandOuts()).isEqualTo(2);
  }
}
