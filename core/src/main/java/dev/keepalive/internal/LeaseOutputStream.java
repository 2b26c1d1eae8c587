package dev.keepalive.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutionException;

/**
 * A blocking write view: each write goes through the connection's ordered write queue and waits
 * until the socket took all of it, so it mixes safely with {@code Connection.write()}. Refuses to
 * run on the event loop thread. Closing the stream does nothing to the connection.
 */
final class LeaseOutputStream extends OutputStream {
  private final LeasedConnection connection;

  LeaseOutputStream(LeasedConnection connection) {
    this.connection = connection;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (connection.lease.owner.inLoop()) {
      throw new IllegalStateException("a blocking write must not run on the event loop thread");
    }
    if (len == 0) {
      return;
    }
    try {
      connection.write(ByteBuffer.wrap(b, off, len)).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof IOException ? (IOException) cause : new IOException(cause);
    }
  }
}
