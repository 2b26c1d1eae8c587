package dev.keepalive.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/** A plain TCP socket as a {@link Transport}. */
final class PlainTransport implements Transport {
  private final SocketChannel channel;
  private int blockedOn = SelectionKey.OP_READ;

  PlainTransport(SocketChannel channel) {
    this.channel = channel;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    blockedOn = SelectionKey.OP_READ;
    return channel.read(dst);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    blockedOn = SelectionKey.OP_WRITE;
    return channel.write(src);
  }

  @Override
  public int blockedOn() {
    return blockedOn;
  }

  @Override
  public void shutdownOutput() throws IOException {
    channel.shutdownOutput();
  }
}
