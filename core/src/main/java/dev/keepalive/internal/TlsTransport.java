package dev.keepalive.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import tlschannel.NeedsReadException;
import tlschannel.NeedsTaskException;
import tlschannel.NeedsWriteException;
import tlschannel.impl.TlsChannelImpl;

/**
 * TLS over a non-blocking socket as a {@link Transport}: tls-channel's would-block exceptions
 * become 0 plus the readiness to wait for (TLS may need to write to read, or read to write).
 */
final class TlsTransport implements Transport {
  private final TlsChannelImpl tls;
  private final TlsRecordTracker records;
  private volatile int blockedOn = SelectionKey.OP_READ;

  TlsTransport(TlsChannelImpl tls, TlsRecordTracker records) {
    this.tls = tls;
    this.records = records;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    while (true) {
      try {
        return tls.read(dst);
      } catch (NeedsReadException e) {
        blockedOn = SelectionKey.OP_READ;
        return 0;
      } catch (NeedsWriteException e) {
        blockedOn = SelectionKey.OP_WRITE;
        return 0;
      } catch (NeedsTaskException e) {
        runTask(e);
      }
    }
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    while (true) {
      try {
        return tls.write(src);
      } catch (NeedsWriteException e) {
        blockedOn = SelectionKey.OP_WRITE;
        return 0;
      } catch (NeedsReadException e) {
        blockedOn = SelectionKey.OP_READ;
        return 0;
      } catch (NeedsTaskException e) {
        runTask(e);
      }
    }
  }

  /**
   * After the handshake, a delegated task of the engine (a post-handshake message, a
   * renegotiation of TLS 1.2) runs on the calling thread, as tls-channel itself would run it:
   * the handshake's tasks are the costly ones, and they run off the loop ({@code Tls}).
   */
  private static void runTask(NeedsTaskException e) {
    e.getTask().run();
  }

  @Override
  public boolean flush() throws IOException {
    if (!records.unsent()) {
      return true; // nothing held back: skip tls-channel's write path (it allocates a buffer)
    }
    while (true) {
      try {
        tls.write(EMPTY); // tls-channel first sends what it holds, then finds nothing to wrap
        return true;
      } catch (NeedsWriteException e) {
        blockedOn = SelectionKey.OP_WRITE;
        return false;
      } catch (NeedsReadException e) {
        blockedOn = SelectionKey.OP_READ;
        return false;
      } catch (NeedsTaskException e) {
        runTask(e);
      }
    }
  }

  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  @Override
  public int blockedOn() {
    return blockedOn;
  }

  @Override
  public void shutdownOutput() throws IOException {
    closeNotify(tls);
  }

  /** Sends close_notify if the socket takes it now; never blocks, never throws on would-block. */
  static void closeNotify(TlsChannelImpl tls) {
    for (int tries = 0; tries < 8; tries++) {
      try {
        tls.shutdown();
        return;
      } catch (NeedsTaskException e) {
        runTask(e);
      } catch (IOException | RuntimeException e) {
        return; // would block, or already broken: the socket is closed right after anyway
      }
    }
  }
}
