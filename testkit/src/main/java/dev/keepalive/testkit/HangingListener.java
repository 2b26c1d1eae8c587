package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A listener on 127.0.0.1 (or a given address) where connects hang: it never accepts, and its accept queue (backlog
 * 1) is full of connections of its own. Linux completes backlog + 1 connections into the queue
 * and then drops every further SYN, so a connect to {@link #port()} neither succeeds nor fails
 * until its caller gives up (a client's timeout, ETIMEDOUT). The queue is seen to be full in
 * /proc/net/tcp, not assumed to be.
 */
public final class HangingListener implements AutoCloseable {
  private static final int BACKLOG = 1;

  private final ServerSocket listener;
  private final List<Socket> fillers = new ArrayList<>();

  public HangingListener() {
    this(Loopback.ipv4(), 0);
  }

  /**
   * The same on {@code address}:{@code port} (port 0: any free port): with the port of a live
   * server on another loopback address, a host name resolving to both has one address where
   * connects hang.
   */
  public HangingListener(InetAddress address, int port) {
    try {
      listener = new ServerSocket();
      listener.bind(new InetSocketAddress(address, port), BACKLOG);
      for (int i = 0; i < BACKLOG + 1; i++) {
        Socket s = new Socket();
        fillers.add(s);
        s.connect(listener.getLocalSocketAddress(), (int) Await.LONG.toMillis());
      }
      Await.await().until(() -> TcpTable.acceptQueue(port()) > BACKLOG);
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  public int port() {
    return listener.getLocalPort();
  }

  @Override
  public void close() {
    for (Socket s : fillers) {
      AcceptLoop.closeQuietly(s);
    }
    AcceptLoop.closeQuietly(listener);
  }
}
