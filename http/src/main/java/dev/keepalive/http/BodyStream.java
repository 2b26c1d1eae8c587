package dev.keepalive.http;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * A response body read as a stream: counts the bytes it delivered, reads one byte as a read of
 * an array of one, and refuses to read once closed. Meant for one reader thread; its methods are
 * synchronized so a close() from another thread is safe.
 */
abstract class BodyStream extends InputStream {
  private volatile long delivered;
  private boolean closed;

  /** The body bytes read so far. */
  final long delivered() {
    return delivered;
  }

  /** Whether {@link #close()} was called. */
  final synchronized boolean isClosed() {
    return closed;
  }

  @Override
  public final synchronized int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public final synchronized int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (closed) {
      throw new IOException("body stream closed");
    }
    int n = readBody(b, off, len);
    if (n > 0) {
      delivered += n;
    }
    return n;
  }

  /**
   * Reads up to {@code len} bytes of the body (0 when {@code len} is 0) into {@code b} at {@code
   * off}; -1 at its end. Runs with this stream's lock held, never once it is closed.
   */
  abstract int readBody(byte[] b, int off, int len) throws IOException;

  /** Done with the body: the first call runs {@link #onClose()}, later ones do nothing. */
  @Override
  public final synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    onClose();
  }

  /** What closing does to the body's connection; runs once, with this stream's lock held. */
  abstract void onClose();
}
