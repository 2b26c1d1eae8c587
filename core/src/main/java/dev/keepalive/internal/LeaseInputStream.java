package dev.keepalive.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A blocking read view: reads the socket (through TLS for TLS schemes) on the caller's thread,
 * and when nothing is there asks the event loop to say when it becomes ready (readable, or
 * writable when TLS must write first), up to the connection's read timeout, waiting on a future (so virtual threads park
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
    if (lease.owner.inLoop()) {
      throw new IllegalStateException("a blocking read must not run on the event loop thread");
    }
    if (len == 0) {
      return 0;
    }
    ByteBuffer dst = ByteBuffer.wrap(b, off, len);
    long timeout = lease.readTimeoutNanos;
    long deadline = System.nanoTime() + timeout;
    while (true) {
      if (!connection.isOpen()) {
        throw new ClosedChannelException();
      }
      int n = lease.io.read(dst);
      if (n != 0) {
        return n;
      }
      int ops = lease.io.blockedOn();
      CompletableFuture<Void> ready = new CompletableFuture<>();
      if (!lease.owner.execute(() -> lease.awaitIo(ops, ready))) {
        throw new ClosedChannelException();
      }
      try {
        if (timeout == 0) {
          ready.get();
        } else {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new SocketTimeoutException("Read timed out");
          }
          ready.get(left, TimeUnit.NANOSECONDS);
        }
      } catch (TimeoutException e) {
        throw new SocketTimeoutException("Read timed out");
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
