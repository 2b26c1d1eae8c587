package dev.keepalive.internal;

import java.io.IOException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import jdk.net.ExtendedSocketOptions;

/**
 * TCP keepalive for the manager's sockets (sockets layer): SO_KEEPALIVE, and where the platform
 * has them (Linux, macOS, Windows 10+) the idle time before the first probe, the time between
 * probes and how many unanswered probes drop the connection. A value of 0 keeps the system's
 * default for that one.
 *
 * @param idleSeconds TCP_KEEPIDLE, or 0
 * @param intervalSeconds TCP_KEEPINTERVAL, or 0
 * @param probes TCP_KEEPCOUNT, or 0
 */
record TcpKeepAlive(int idleSeconds, int intervalSeconds, int probes) {
  /**
   * Turns keepalive on for {@code ch}, before it connects. An option the platform does not
   * support is left out; one it refuses fails the connect like any socket error.
   */
  void apply(SocketChannel ch) throws IOException {
    ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    set(ch, ExtendedSocketOptions.TCP_KEEPIDLE, idleSeconds);
    set(ch, ExtendedSocketOptions.TCP_KEEPINTERVAL, intervalSeconds);
    set(ch, ExtendedSocketOptions.TCP_KEEPCOUNT, probes);
  }

  private static void set(SocketChannel ch, SocketOption<Integer> option, int value)
      throws IOException {
    if (value > 0 && ch.supportedOptions().contains(option)) {
      ch.setOption(option, value);
    }
  }
}
