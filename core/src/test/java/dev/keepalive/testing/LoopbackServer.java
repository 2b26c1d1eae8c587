package dev.keepalive.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A TCP server on 127.0.0.1 for tests: accepts every connection on a daemon thread and keeps the
 * accepted sockets, so a test can write to them, close them or reset them (the peer's side of
 * each client connection).
 */
public final class LoopbackServer implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> accepted = new CopyOnWriteArrayList<>();
  private final LinkedBlockingQueue<Socket> fresh = new LinkedBlockingQueue<>();
  private final Thread acceptor;

  public LoopbackServer() {
    try {
      server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = new Thread(this::acceptLoop, "test-acceptor-" + server.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        accepted.add(s);
        fresh.add(s);
      } catch (IOException e) {
        return;
      }
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Every connection accepted so far. */
  public List<Socket> accepted() {
    return accepted;
  }

  public int acceptedCount() {
    return accepted.size();
  }

  /** The next connection accepted (waits up to 10 s). */
  public Socket nextAccepted() {
    try {
      Socket s = fresh.poll(10, TimeUnit.SECONDS);
      if (s == null) {
        throw new AssertionError("no connection accepted within 10 s");
      }
      return s;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The accepted socket whose remote port is {@code clientPort} (the client's local port). */
  public Socket peerOf(int clientPort) {
    for (Socket s : accepted) {
      if (s.getPort() == clientPort) {
        return s;
      }
    }
    throw new AssertionError("no accepted connection from port " + clientPort);
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Socket s : accepted) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  /** A port on 127.0.0.1 where nothing listens (connects are refused). */
  public static int closedPort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
