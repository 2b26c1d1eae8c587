package dev.keepalive.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A blocking read view: reads the socket on the caller's thread, and when nothing is there asks
 * the event loop to say when it becomes readable, waiting on a future (so virtual threads park
 * rather than pin a carrier). Refuses to run on the event loop thread. Closing the stream does
 * nothing to the connection: give it back with {@code Connection.close()}.
 */
final class LeaseInputStream extends InputStream {
  private final LeasedConnection connection;

  LeaseInputStream(LeasedConnection connection) {
    this.connection = connection;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    Lease lease = connection.lease;
    if (lease.core.loop.inLoop()) {
      throw new IllegalStateException("a blocking read must not run on the event loop thread");
    }
    if (len == 0) {
      return 0;
    }
    ByteBuffer dst = ByteBuffer.wrap(b, off, len);
    while (true) {
      if (!connection.isOpen()) {
        throw new ClosedChannelException();
      }
      int n = lease.channel.read(dst);
      if (n != 0) {
        return n;
      }
      CompletableFuture<Void> readable = new CompletableFuture<>();
      if (!lease.core.loop.execute(() -> lease.awaitReadable(readable))) {
        throw new ClosedChannelException();
      }
      try {
        readable.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for input");
      } catch (ExecutionException e) {
        throw new IOException(e.getCause());
      }
    }
  }

  @Override
  public int available() throws IOException {
    return 0;
  }
}
