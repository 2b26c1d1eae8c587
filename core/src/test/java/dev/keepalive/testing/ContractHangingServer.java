package dev.keepalive.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A listener on 127.0.0.1 where connects hang: backlog 1, never accepts, and its accept queue is
 * filled first by plain client connections, so the kernel drops every further SYN and a client's
 * connect stays in progress until it gives up.
 */
public final class ContractHangingServer implements AutoCloseable {
  private final ServerSocket server;
  private final List<AutoCloseable> fillers = new ArrayList<>();

  public ContractHangingServer() {
    try {
      server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
      InetSocketAddress where = new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
      // Linux lets backlog + 1 connections complete into the accept queue.
      for (int i = 0; i < 2; i++) {
        Socket s = new Socket();
        fillers.add(s);
        s.connect(where, 5_000);
      }
      // a few more that hang themselves, to be sure the queue stays full
      for (int i = 0; i < 2; i++) {
        SocketChannel ch = SocketChannel.open();
        fillers.add(ch);
        ch.configureBlocking(false);
        ch.connect(where);
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  @Override
  public void close() {
    for (AutoCloseable c : fillers) {
      try {
        c.close();
      } catch (Exception ignored) {
        // closing
      }
    }
    try {
      if (server != null) {
        server.close();
      }
    } catch (IOException ignored) {
      // closing
    }
  }
}
