package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Loopback addresses, and closed ports on them: every fixture of the kit listens on loopback, and
 * a client that connects to a closed port is refused at once (ECONNREFUSED).
 */
public final class Loopback {
  private Loopback() {}

  /** 127.0.0.1, whatever the JVM prefers for "localhost". */
  public static InetAddress ipv4() {
    return ipv4(1);
  }

  /** 127.0.0.{@code last}: on Linux the whole 127/8 is loopback. */
  public static InetAddress ipv4(int last) {
    return Addresses.of(new byte[] {127, 0, 0, (byte) last});
  }

  /** ::1. */
  public static InetAddress ipv6() {
    byte[] b = new byte[16];
    b[15] = 1;
    return Addresses.of(b);
  }

  /**
   * A port on 127.0.0.1 where nothing listens: one the kernel just gave a listener, which is
   * closed again. Good for a few connects; over thousands, one of them may be given that very
   * port as its own local port (see {@link #closedPortOutsideEphemeralRange()}).
   */
  public static int closedPort() {
    try (ServerSocket s = new ServerSocket(0, 1, ipv4())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A port on 127.0.0.1 where connects are refused, outside the ephemeral range, so that no
   * client socket is ever given it as its local port and connects to itself: port 1 when
   * nothing listens there (else, rarely, {@link #closedPort()}).
   */
  public static int closedPortOutsideEphemeralRange() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ipv4(), 1), 2_000);
    } catch (IOException e) {
      return 1;
    }
    return closedPort(); // something listens on 1: take the small risk
  }
}
