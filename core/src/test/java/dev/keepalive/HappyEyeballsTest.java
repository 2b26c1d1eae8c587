package dev.keepalive;

import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.assertTimedOut;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keepalive.testing.Managers;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TcpTable;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Happy Eyeballs (RFC 8305): a host name with several addresses is connected by racing attempts,
 * families interleaved; the first to connect wins and every other attempt is closed. Hosts resolve
 * through a {@link TestResolver} to loopback addresses (Linux answers on all of 127/8), where a
 * {@link HangingListener} is an address whose connects never complete. No timing is asserted: an
 * attempt delay of an hour means only a failure can start the next attempt, and a request that
 * would wait for it times out and fails the test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HappyEyeballsTest {
  private static final String HOST = "eyeballs.test";
  private static final Duration HOUR = Duration.ofHours(1);

  @Test
  void anAddressWhoseConnectHangsIsOvertakenByTheNext() throws Exception {
    InetAddress hanging = Loopback.ipv4(2);
    InetAddress live = Loopback.ipv4(3);
    try (AcceptingServer server = new AcceptingServer(live);
        HangingListener hang = new HangingListener(hanging, server.port());
        ConnectionManager m = manager(Duration.ofMillis(50), hanging, live)) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", HOST, server.port()).timeout(HOUR), rec);
      AllocationResult r = rec.next();
      assertThat(r.isSuccess()).as("%s", r).isTrue();
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r.connection().remoteAddress())
          .isEqualTo(new InetSocketAddress(live, server.port()));
      peerOf(server, r.connection());
      // the attempt to the hanging address is closed once the other connected
      awaitNoHalfOpenConnectTo(server.port());
      awaitStats(m, 1, 0, 1, 0, 0);
      r.connection().close();
    }
  }

  @Test
  void aRefusedAddressStartsTheNextAtOnce() throws Exception {
    InetAddress refusing = Loopback.ipv4(2);
    InetAddress live = Loopback.ipv4(3);
    try (AcceptingServer server = new AcceptingServer(live);
        ConnectionManager m = manager(HOUR, refusing, live)) {
      assumeTrue(refuses(refusing, server.port()), "127.0.0.2 does not refuse connections here");
      // with an hour's attempt delay, only the refusal can start the second attempt
      connectedTo(m, server.port(), live).close();
    }
  }

  @Test
  void ipv6AndIpv4AreRaced() throws Exception {
    InetAddress v6 = Loopback.ipv6();
    InetAddress v4 = Loopback.ipv4();
    try (AcceptingServer server = new AcceptingServer(v4)) {
      HangingListener hang = hangingOrNull(v6, server.port());
      assumeTrue(hang != null, "::1 is not available here");
      try (hang;
          ConnectionManager m = manager(Duration.ofMillis(50), v6, v4)) {
        Connection c = connectedTo(m, server.port(), v4);
        awaitNoHalfOpenConnectTo(server.port());
        c.close();
      }
    }
  }

  /**
   * The resolver answers IPv4, IPv4, IPv6; RFC 8305 order tries the IPv6 address second. The
   * first is refused, the second IPv4 address hangs: tried in the resolver's order, the request
   * would wait an hour's attempt delay on it (and time out); interleaved, it connects to ::1.
   */
  @Test
  void addressFamiliesAreInterleaved() throws Exception {
    InetAddress refusing = Loopback.ipv4(2);
    InetAddress hanging = Loopback.ipv4(3);
    InetAddress v6 = Loopback.ipv6();
    AcceptingServer server = AcceptingServer.tryBind(v6);
    assumeTrue(server != null, "::1 is not available here");
    try (server;
        HangingListener hang = new HangingListener(hanging, server.port());
        ConnectionManager m = manager(HOUR, refusing, hanging, v6)) {
      assumeTrue(refuses(refusing, server.port()), "127.0.0.2 does not refuse connections here");
      connectedTo(m, server.port(), v6).close();
    }
  }

  @Test
  void whenEveryAttemptHangsTheRequestTimesOutOnceAndNothingStaysOpen() throws Exception {
    try (TwoHanging lab = new TwoHanging()) {
      ConnectionManager m = lab.manager;
      ResultRecorder rec = new ResultRecorder();
      long id = lab.allocate(Duration.ofSeconds(3), rec);
      // both attempts are under way: the second did not wait for the first to fail
      lab.awaitBothConnecting();
      AllocationResult r = rec.next();
      assertTimedOut(r);
      lab.awaitNothingLeftOpen();
      Managers.onLoop(m, () -> null); // anything still due to be delivered is delivered by now
      assertThat(rec.countFor(id)).isEqualTo(1);
      awaitStats(m, Managers.EMPTY);
    }
  }

  @Test
  void deallocateClosesEveryAttempt() throws Exception {
    try (TwoHanging lab = new TwoHanging()) {
      ConnectionManager m = lab.manager;
      ResultRecorder rec = new ResultRecorder();
      long id = lab.allocate(HOUR, rec);
      lab.awaitBothConnecting();
      assertThat(m.stats()).isEqualTo(Managers.stats(1, 0, 0, 1, 0)); // one socket to the pool
      assertThat(m.deallocate(id)).isTrue();
      lab.awaitNothingLeftOpen();
      awaitStats(m, Managers.EMPTY);
      Managers.onLoop(m, () -> null);
      assertThat(rec.all()).isEmpty();
    }
  }

  @Test
  void shutdownClosesEveryAttempt() throws Exception {
    try (TwoHanging lab = new TwoHanging()) {
      ResultRecorder rec = new ResultRecorder();
      lab.allocate(HOUR, rec);
      lab.awaitBothConnecting();
      lab.manager.shutdown();
      assertFailure(rec.next(), "shutdown", null, "Connection manager is shut down");
      awaitNoHalfOpenConnectTo(lab.port);
    }
  }

  /**
   * Two TLS servers on one port of two addresses; with a 1 ns attempt delay both attempts start
   * before the loop polls for the first connect, and both connect (TCP). One wins and is the only
   * one that sees a ClientHello; the other, connected too late, is closed without a byte.
   */
  @Test
  void tlsRunsOnTheWinnerOnlyAndTheLateLoserIsClosed() throws Exception {
    InetAddress a = Loopback.ipv4(2);
    InetAddress b = Loopback.ipv4(3);
    try (TlsServer serverA = TlsServer.builder().bind(a, 0).build();
        TlsServer serverB = TlsServer.builder().bind(b, serverA.port()).build();
        ConnectionManager m = ConnectionManager.builder()
            .resolver(TestResolver.answering(Map.of("localhost", List.of(a, b))))
            .sslContext(TestCertificates.get().clientContext())
            .connectAttemptDelay(Duration.ofNanos(1))
            .build()) {
      int port = serverA.port();
      Connection c = within(m.allocate(Allocation.to("https", "localhost", port).timeout(HOUR)));
      boolean aWon = c.remoteAddress().equals(new InetSocketAddress(a, port));
      TlsServer winner = aWon ? serverA : serverB;
      TlsServer loser = aWon ? serverB : serverA;
      assertThat(c.remoteAddress())
          .isIn(new InetSocketAddress(a, port), new InetSocketAddress(b, port));
      TlsServer.Peer won = winner.peerOf(c.localAddress().getPort());
      within(won.handshake());
      // the other attempt connected too, and was closed without a ClientHello
      await().until(() -> loser.acceptedCount() == 1);
      TlsServer.Peer lost = loser.peers().get(0);
      within(lost.ended());
      assertThat(lost.rawReceived()).isZero();
      assertThat(loser.handshakesCompleted()).isZero();
      assertThat(winner.handshakesCompleted()).isEqualTo(1);
      assertThat(winner.acceptedCount()).isEqualTo(1);
      awaitStats(m, 1, 0, 1, 0, 0);
      c.close();
    }
  }

  /**
   * Allocates a connection to {@link #HOST} on {@code port} and checks that it reached {@code
   * expected}; the caller closes it.
   */
  private static Connection connectedTo(ConnectionManager m, int port, InetAddress expected)
      throws Exception {
    Connection c = within(m.allocate(Allocation.to("http", HOST, port).timeout(HOUR)));
    assertThat(c.remoteAddress()).isEqualTo(new InetSocketAddress(expected, port));
    return c;
  }

  /**
   * {@link #HOST} at two addresses (127.0.0.2 and 127.0.0.3, one port) whose connects both hang,
   * and a manager that starts the second attempt 20 ms after the first.
   */
  private static final class TwoHanging implements AutoCloseable {
    final HangingListener first = new HangingListener(Loopback.ipv4(2), 0);
    final HangingListener second = new HangingListener(Loopback.ipv4(3), first.port());
    final int port = first.port();
    final ConnectionManager manager =
        manager(Duration.ofMillis(20), Loopback.ipv4(2), Loopback.ipv4(3));
    /** The descriptors open once the lab stands. */
    final Map<Integer, String> before = Descriptors.snapshot();

    /** Asks {@link #manager} for a connection to {@link #HOST}; returns the request's id. */
    long allocate(Duration timeout, ResultRecorder rec) {
      return manager.allocate(Allocation.to("http", HOST, port).timeout(timeout), rec);
    }

    /** Waits until both attempts are under way (SYN_SENT): the second did not wait for the first. */
    void awaitBothConnecting() {
      await().until(() -> TcpTable.byRemotePort(port, TcpTable.SYN_SENT).size() == 2);
    }

    /** Waits until no attempt is connecting and no descriptor opened since {@link #before} is. */
    void awaitNothingLeftOpen() {
      awaitNoHalfOpenConnectTo(port);
      await().until(() -> Descriptors.openedSince(before).isEmpty());
    }

    @Override
    public void close() {
      try (first;
          second) {
        manager.close();
      }
    }
  }

  private static ConnectionManager manager(Duration attemptDelay, InetAddress... addresses) {
    return ConnectionManager.builder()
        .resolver(TestResolver.answering(Map.of(HOST, List.of(addresses))))
        .connectAttemptDelay(attemptDelay)
        .build();
  }

  /** No socket of this machine is still connecting to {@code port} (SYN_SENT). */
  private static void awaitNoHalfOpenConnectTo(int port) {
    await().until(() -> TcpTable.byRemotePort(port, TcpTable.SYN_SENT).isEmpty());
  }

  private static HangingListener hangingOrNull(InetAddress address, int port) {
    try {
      return new HangingListener(address, port);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static boolean refuses(InetAddress address, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), (int) Await.LONG.toMillis());
      return false;
    } catch (IOException e) {
      return true;
    }
  }
}
