package dev.keepalive.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * What the proxy stages ({@link HttpTunnel}, {@link Socks5Tunnel}) share: the target the tunnel
 * leads to, the credentials for the proxy, and one socket's exchange with the proxy in progress
 * (bytes to send, bytes received). Reads never take a byte past what the proxy's answer is known
 * to need, so whatever the target sends first through the tunnel stays in the socket for the
 * stages and holders after this one.
 *
 * @param kind HTTP CONNECT or SOCKS5
 * @param host the target's host name or literal address (normalized, no brackets)
 * @param literal whether {@code host} is a literal address
 * @param port the target's port
 * @param user the proxy user name, or null for none
 * @param password the proxy password (with {@code user}), or null
 */
record Tunnel(Kind kind, String host, boolean literal, int port, String user, String password) {
  /** The proxy protocols. */
  enum Kind {
    HTTP,
    SOCKS5
  }

  /** The longest answer a proxy may give before the tunnel is up (HTTP: the header). */
  static final int MAX_ANSWER = 16 * 1024;

  /** {@code host:port} as a CONNECT request target (IPv6 literals bracketed). */
  String authority() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  @Override
  public String toString() {
    // never the password
    return kind + " tunnel to " + authority() + (user == null ? "" : " as " + user);
  }

  /** One socket's exchange with its proxy, kept in {@link SocketIo#stageState}. */
  static final class Exchange {
    /** What is left to send. */
    ByteBuffer out;
    /** What came in so far (position: bytes received). */
    final ByteBuffer in = ByteBuffer.allocate(MAX_ANSWER);
    /** The stage's own step (each stage numbers its own). */
    int step;

    Exchange(byte[] request) {
      send(request);
    }

    void send(byte[] request) {
      out = ByteBuffer.wrap(request);
    }

    /**
     * Sends what is left: true when all of it is out; else the socket waits for OP_WRITE.
     *
     * @throws IOException when the proxy is gone
     */
    boolean flush(SocketIo s) throws IOException {
      if (out.hasRemaining()) {
        s.channel.write(out);
        if (out.hasRemaining()) {
          s.interest(SelectionKey.OP_WRITE);
          return false;
        }
      }
      return true;
    }

    /**
     * Reads until {@link #in} holds {@code total} bytes: true when it does; false when the
     * socket has no more for now (it then waits for OP_READ).
     *
     * @throws EOFException when the proxy closed the connection first
     * @throws ProxyAnswerException when {@code total} is more than any answer may be
     */
    boolean fill(SocketIo s, int total) throws IOException {
      if (total > in.capacity()) {
        throw new ProxyAnswerException("proxy answer longer than " + MAX_ANSWER + " bytes");
      }
      SocketChannel ch = s.channel;
      while (in.position() < total) {
        in.limit(total);
        int n = ch.read(in);
        if (n < 0) {
          throw new EOFException("proxy closed the connection before the tunnel was up");
        }
        if (n == 0) {
          s.interest(SelectionKey.OP_READ);
          return false;
        }
      }
      return true;
    }

    /** Byte {@code i} of what came in, unsigned. */
    int at(int i) {
      return in.get(i) & 0xff;
    }
  }

  /** The proxy's answer is not what the protocol allows. */
  static final class ProxyAnswerException extends IOException {
    private static final long serialVersionUID = 1L;

    ProxyAnswerException(String message) {
      super(message);
    }
  }

  /**
   * The failure of a proxy stage caused by {@code e}: the proxy's own errno where one applies
   * (a reset), else its text, with function "proxy".
   */
  static Failure failure(IOException e) {
    if (e instanceof ProxyAnswerException || e instanceof EOFException) {
      return new Failure(Failure.Function.PROXY, null, e.getMessage());
    }
    return Errno.failure(Failure.Function.PROXY, e);
  }
}
