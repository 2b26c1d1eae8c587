package dev.keepalive.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A listener on 127.0.0.1 where connects hang: bound with backlog 1, it never accepts, and its
 * accept queue is filled by plain client connections. Once the queue is full Linux drops further
 * SYNs, so a connect to {@link #port()} neither succeeds nor fails until its caller gives up.
 */
public final class SeedHangingServer implements AutoCloseable {
  private final ServerSocket listener;
  private final List<Socket> fillers = new ArrayList<>();

  public SeedHangingServer() throws IOException {
    listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 1);
    for (int i = 0; i < 32; i++) {
      Socket s = new Socket();
      try {
        s.connect(listener.getLocalSocketAddress(), 250);
        fillers.add(s);
      } catch (SocketTimeoutException e) {
        s.close(); // this one hung: the queue is full
        return;
      }
    }
    close();
    throw new IllegalStateException("the accept queue of a backlog-1 listener never filled");
  }

  public int port() {
    return listener.getLocalPort();
  }

  @Override
  public void close() {
    for (Socket s : fillers) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
    }
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
