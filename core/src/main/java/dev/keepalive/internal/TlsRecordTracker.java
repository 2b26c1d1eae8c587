package dev.keepalive.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;

/**
 * The socket as tls-channel sees it, watching the TLS record framing of what is read: tells
 * whether the TLS layer holds part of a record (ciphertext it took off the socket but cannot
 * decrypt yet), which a one-byte plaintext probe cannot see.
 */
final class TlsRecordTracker implements ByteChannel {
  private final SocketChannel channel;
  private int headerSeen; // bytes of the current 5-byte record header read so far
  private int lengthHigh;
  private int bodyLeft; // bytes of the current record's body still to come
  private boolean unsent; // the last write to the socket left bytes of tls-channel's buffer

  TlsRecordTracker(SocketChannel channel) {
    this.channel = channel;
  }

  /** True when tls-channel still holds bytes the socket did not take (the last write was short). */
  boolean unsent() {
    return unsent;
  }

  /** True when the bytes read so far end inside a record. */
  boolean midRecord() {
    return headerSeen > 0 || bodyLeft > 0;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    int start = dst.position();
    int n = channel.read(dst);
    for (int i = start; i < start + Math.max(n, 0); ) {
      if (bodyLeft > 0) {
        int skip = Math.min(bodyLeft, start + n - i);
        bodyLeft -= skip;
        i += skip;
        continue;
      }
      int b = dst.get(i++) & 0xff;
      if (headerSeen == 3) {
        lengthHigh = b;
      } else if (headerSeen == 4) {
        bodyLeft = (lengthHigh << 8) | b;
        headerSeen = -1;
      }
      headerSeen++;
    }
    return n;
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    int n = channel.write(src);
    unsent = src.hasRemaining();
    return n;
  }

  @Override
  public boolean isOpen() {
    return channel.isOpen();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
