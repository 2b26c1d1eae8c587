package dev.keepalive.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A server on 127.0.0.1 that answers every connection with a line of plain text and closes it:
 * a TLS handshake against it fails at once ("sslify").
 */
public final class NotTlsServer implements AutoCloseable {
  private final ServerSocket server;

  public NotTlsServer() {
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread t = new Thread(() -> {
      while (!server.isClosed()) {
        try (Socket s = server.accept()) {
          s.getOutputStream().write("HTTP/1.1 400 Not TLS\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
          // closed, or the client went away
        }
      }
    }, "not-tls-" + server.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
