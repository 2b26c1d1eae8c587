package dev.keepalive.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A misbehaving peer on 127.0.0.1: every accepted connection runs a {@link Script} on its own
 * daemon thread. The script gets the accepted channel (blocking; switch it to non-blocking to
 * flood) and may keep it open after it returns: the test drives it then. A script's unexpected
 * exception (anything but an IOException, which is the client going away) is kept for
 * {@link #failures()}.
 */
final class ScriptedServer implements AutoCloseable {
  /** What the server does with one connection. */
  @FunctionalInterface
  interface Script {
    void run(SocketChannel peer) throws Exception;
  }

  private final ServerSocketChannel server;
  private final Script script;
  private final List<SocketChannel> accepted = new CopyOnWriteArrayList<>();
  private final List<Throwable> failures = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  ScriptedServer(Script script) {
    this.script = script;
    try {
      server = ServerSocketChannel.open();
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 1024);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread t = new Thread(this::acceptLoop, "scripted-acceptor-" + port());
    t.setDaemon(true);
    t.start();
  }

  /** A peer that accepts and never says anything: the test drives each connection. */
  static ScriptedServer passive() {
    return new ScriptedServer(peer -> {});
  }

  int port() {
    return server.socket().getLocalPort();
  }

  List<SocketChannel> accepted() {
    return accepted;
  }

  int acceptedCount() {
    return accepted.size();
  }

  List<Throwable> failures() {
    return failures;
  }

  /** The accepted connection from the client's local port {@code clientPort} (waits). */
  SocketChannel peerOf(int clientPort) {
    Harness.await().until(() -> find(clientPort) != null);
    return find(clientPort);
  }

  private SocketChannel find(int clientPort) {
    for (SocketChannel ch : accepted) {
      if (ch.socket().getPort() == clientPort) {
        return ch;
      }
    }
    return null;
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (IOException e) {
        return;
      }
      accepted.add(ch);
      if (closed) { // close() may have gone through the list before the add
        closeQuietly(ch);
        return;
      }
      Thread t = new Thread(() -> {
        try {
          script.run(ch);
        } catch (IOException e) {
          // the client went away, or the test closed the peer
        } catch (Throwable e) {
          failures.add(e);
        }
      }, "scripted-" + ch.socket().getPort());
      t.setDaemon(true);
      t.start();
    }
  }

  // ---- pieces of scripts ----

  /** Reads until the client's first TLS record (its ClientHello) is complete; false at EOF. */
  static boolean readClientHello(SocketChannel peer) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(5);
    while (head.hasRemaining()) {
      if (peer.read(head) < 0) {
        return false;
      }
    }
    int length = ((head.get(3) & 0xff) << 8) | (head.get(4) & 0xff);
    ByteBuffer body = ByteBuffer.allocate(length);
    while (body.hasRemaining()) {
      if (peer.read(body) < 0) {
        return false;
      }
    }
    return true;
  }

  /** Reads and drops everything until the client closes (or resets). */
  static void drain(SocketChannel peer) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(16 * 1024);
    while (true) {
      b.clear();
      if (peer.read(b) < 0) {
        return;
      }
    }
  }

  /** Closes abortively: the client gets a RST. */
  static void reset(SocketChannel peer) throws IOException {
    peer.setOption(StandardSocketOptions.SO_LINGER, 0);
    peer.close();
  }

  private static void closeQuietly(SocketChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (SocketChannel ch : accepted) {
      closeQuietly(ch);
    }
  }
}
