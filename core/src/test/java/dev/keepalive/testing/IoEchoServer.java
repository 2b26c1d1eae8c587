package dev.keepalive.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An echo server on 127.0.0.1 for I/O tests: every accepted connection gets a daemon thread that
 * writes back whatever it reads, as it reads it (so a client writing megabytes must read the echo
 * concurrently), and closes its side when the client closes.
 */
public final class IoEchoServer implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> accepted = new CopyOnWriteArrayList<>();
  private final AtomicLong echoed = new AtomicLong();

  public IoEchoServer() {
    try {
      server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 128);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread acceptor = new Thread(this::acceptLoop, "io-echo-acceptor-" + port());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Bytes echoed so far over every connection. */
  public long echoed() {
    return echoed.get();
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

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        return;
      }
      accepted.add(s);
      Thread t = new Thread(() -> echo(s), "io-echo-" + s.getPort());
      t.setDaemon(true);
      t.start();
    }
  }

  private void echo(Socket s) {
    byte[] buf = new byte[64 * 1024];
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
        echoed.addAndGet(n);
      }
    } catch (IOException e) {
      // the client went away
    }
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
