package dev.keepalive.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;

/**
 * The non-blocking channel of one hand-out: reads and writes go straight to the socket (through
 * TLS for TLS schemes) on the caller's thread; a read or write that would block returns 0, and stop working once the hand-out ends, so a stale holder can never touch the
 * stream of the socket's next holder. Closing it discards the connection.
 */
final class LeaseChannel implements ByteChannel {
  private final LeasedConnection connection;

  LeaseChannel(LeasedConnection connection) {
    this.connection = connection;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    check();
    return connection.lease.io.read(dst);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    check();
    return connection.lease.io.write(src);
  }

  @Override
  public boolean isOpen() {
    return connection.isOpen();
  }

  @Override
  public void close() {
    connection.discard();
  }

  private void check() throws ClosedChannelException {
    if (!connection.isOpen()) {
      throw new ClosedChannelException();
    }
  }
}
