package dev.keepalive.internal;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * How a hand-out reads and writes its socket: plain ({@link PlainTransport}) or TLS
 * ({@link TlsTransport}). Non-blocking, and a would-block is a 0, never an exception, so callers
 * treat both alike; {@link #blockedOn()} tells which readiness to wait for after a 0.
 */
interface Transport {
  /** Bytes read, 0 when nothing can be read now, -1 at end of stream. */
  int read(ByteBuffer dst) throws IOException;

  /** Bytes written, 0 when the socket takes nothing now. */
  int write(ByteBuffer src) throws IOException;

  /** The selection op the last 0 from read() or write() waits for. */
  int blockedOn();

  /**
   * Sends what the transport itself still holds from earlier writes (TLS: the rest of a record
   * whose plaintext a write already took); true when nothing is left, false when the socket
   * takes no more now ({@link #blockedOn()} says what to wait for).
   */
  default boolean flush() throws IOException {
    return true;
  }

  /** Half-closes the output (for TLS: close_notify first, when possible without blocking). */
  void shutdownOutput() throws IOException;
}
