package dev.keepalive.internal;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.AcceptingServer;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;

/**
 * TCP keepalive on real sockets: the options read back from the manager's channel, and the
 * kernel's view of an idle pooled socket (/proc/net/tcp: its keepalive timer runs only when the
 * option is on).
 */
class TcpKeepAliveTest {
  /** The kernel's timer kinds in /proc/net/tcp's "tr" column. */
  static final int NO_TIMER = 0;

  static final int KEEPALIVE_TIMER = 2;

  static SocketChannel channelOf(Connection c) {
    return ((LeasedConnection) c).lease.channel;
  }

  /**
   * The timer kind the kernel runs for the established socket from {@code localPort} to
   * {@code remotePort} (IPv4 loopback), or -1 when it is not listed.
   */
  static int timerOf(int localPort, int remotePort) throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc/net/tcp"));
    String local = String.format(Locale.ROOT, ":%04X", localPort);
    String remote = String.format(Locale.ROOT, ":%04X", remotePort);
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.trim().split("\\s+");
      if (f[1].endsWith(local) && f[2].endsWith(remote) && f[3].equals("01")) {
        return Integer.parseInt(f[5].substring(0, f[5].indexOf(':')), 16);
      }
    }
    return -1;
  }

  /** Connects, reads the channel's options, and pools the socket; returns its local port. */
  static int pooled(ConnectionManager m, Allocation a, boolean keepAliveExpected) throws Exception {
    Connection c = get(m.allocate(a));
    SocketChannel ch = channelOf(c);
    assertThat(ch.getOption(StandardSocketOptions.SO_KEEPALIVE)).isEqualTo(keepAliveExpected);
    int port = c.localAddress().getPort();
    c.close();
    awaitStats(m, 1, 1, 0, 0, 0);
    return port;
  }

  @Test
  void offByDefaultAnIdlePooledSocketRunsNoKeepaliveTimer() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      int port = pooled(m, Allocation.to("http", "127.0.0.1", server.port()), false);
      assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "needs Linux's /proc/net/tcp");
      assertThat(timerOf(port, server.port())).isEqualTo(NO_TIMER);
    }
  }

  @Test
  void onWithTheSystemsTimingSetsOnlySoKeepalive() throws Exception {
    int systemIdle;
    try (SocketChannel plain = SocketChannel.open()) {
      assumeTrue(plain.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE));
      systemIdle = plain.getOption(ExtendedSocketOptions.TCP_KEEPIDLE);
    }
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().tcpKeepAlive(true).build()) {
      Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      SocketChannel ch = channelOf(c);
      assertThat(ch.getOption(StandardSocketOptions.SO_KEEPALIVE)).isTrue();
      assertThat(ch.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)).isEqualTo(systemIdle);
      c.close();
    }
  }

  @Test
  void onWithATimingSetsItAndAnIdlePooledSocketRunsTheKeepaliveTimer() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .tcpKeepAlive(Duration.ofSeconds(7), Duration.ofSeconds(3), 4)
            .build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Connection c = get(m.allocate(a));
      SocketChannel ch = channelOf(c);
      assertThat(ch.getOption(StandardSocketOptions.SO_KEEPALIVE)).isTrue();
      if (ch.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE)) {
        assertThat(ch.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)).isEqualTo(7);
        assertThat(ch.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL)).isEqualTo(3);
        assertThat(ch.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT)).isEqualTo(4);
      }
      assertThat(ch.getOption(StandardSocketOptions.TCP_NODELAY)).isTrue(); // still set
      int port = c.localAddress().getPort();
      c.close();
      awaitStats(m, 1, 1, 0, 0, 0);
      assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "needs Linux's /proc/net/tcp");
      assertThat(timerOf(port, server.port())).isEqualTo(KEEPALIVE_TIMER);
    }
  }
}
