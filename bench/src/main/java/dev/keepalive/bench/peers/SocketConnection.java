package dev.keepalive.bench.peers;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.io.ModalCloseable;

/** The httpcore5 pools' pooled connection: a connected loopback socket to the sink. */
final class SocketConnection implements ModalCloseable {
  final SocketChannel channel;

  private SocketConnection(SocketChannel channel) {
    this.channel = channel;
  }

  /** A TCP connect to {@code address} (blocking, then made non-blocking like keepalive's). */
  static SocketConnection connect(InetSocketAddress address) throws IOException {
    SocketChannel ch = SocketChannel.open(address);
    ch.configureBlocking(false);
    return new SocketConnection(ch);
  }

  @Override
  public void close(CloseMode mode) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing a loopback socket: nothing to do about a failure
    }
  }

  @Override
  public void close() {
    close(CloseMode.GRACEFUL);
  }
}
