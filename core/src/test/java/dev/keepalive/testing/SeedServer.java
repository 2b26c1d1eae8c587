package dev.keepalive.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An accepting TCP server bound to one given loopback address (127.0.0.1 exactly, or ::1), that
 * keeps the accepted sockets, like {@link LoopbackServer} but with the address chosen.
 */
public final class SeedServer implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> accepted = new CopyOnWriteArrayList<>();

  public SeedServer(InetAddress bind) throws IOException {
    server = new ServerSocket();
    try {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(bind, 0), 128);
    } catch (IOException e) {
      server.close();
      throw e;
    }
    Thread t = new Thread(this::acceptLoop, "seed-acceptor-" + server.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  /** A server on {@code bind}, or null when that address cannot be bound here. */
  public static SeedServer tryBind(InetAddress bind) {
    try {
      return new SeedServer(bind);
    } catch (IOException e) {
      return null;
    }
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        accepted.add(server.accept());
      } catch (IOException e) {
        return;
      }
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  public int acceptedCount() {
    return accepted.size();
  }

  /** The accepted socket whose remote port is {@code clientPort}. */
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
}
