package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * The test's side of a connection (a socket an {@link AcceptingServer} accepted): write to it,
 * read from it, and see how the client's side ended. Reads wait up to {@link Await#LONG}.
 */
public final class PeerIo {
  /** How the peer saw the client's side end. */
  public enum Ending {
    /** An orderly close: FIN. */
    EOF,
    /** An abortive close: RST (SO_LINGER 0, or a close with unread data). */
    RESET
  }

  private PeerIo() {}

  /** Writes {@code text} (ASCII) to {@code peer}. */
  public static void write(Socket peer, String text) {
    try {
      peer.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
      peer.getOutputStream().flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads exactly {@code n} bytes (ASCII) from {@code peer}. */
  public static String read(Socket peer, int n) {
    try {
      peer.setSoTimeout((int) Await.LONG.toMillis());
      return new String(peer.getInputStream().readNBytes(n), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads {@code peer} until the other side closes, skipping data still arriving first: EOF for
   * an orderly close, RESET for an abortive one.
   */
  public static Ending awaitClosed(Socket peer) {
    try {
      peer.setSoTimeout((int) Await.LONG.toMillis());
      byte[] buf = new byte[256];
      while (true) {
        if (peer.getInputStream().read(buf) < 0) {
          return Ending.EOF;
        }
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError(
          "the client's side was not closed within " + Await.LONG.toSeconds() + " s", e);
    } catch (SocketException e) {
      return Ending.RESET;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
