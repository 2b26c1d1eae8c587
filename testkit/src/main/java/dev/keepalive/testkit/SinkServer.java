package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A sink on 127.0.0.1 for load tests: one selector thread accepts every connection, never writes
 * (unless told to, below), drops what it reads and closes its side as soon as the client closes,
 * so thousands of short-lived connections do not pile up descriptors.
 *
 * <p>One {@link #obeyingFaultBytes() obeying fault bytes} also misbehaves on request: a
 * connection that sends {@link #RESET} is reset (RST), {@link #CLOSE} is closed (FIN), and
 * {@link #ECHO} gets one unexpected byte back.
 */
public final class SinkServer implements AutoCloseable {
  /** With {@link #obeyingFaultBytes()}: reset this connection. */
  public static final byte RESET = 'R';
  /** With {@link #obeyingFaultBytes()}: close this connection. */
  public static final byte CLOSE = 'C';
  /** With {@link #obeyingFaultBytes()}: send one byte nobody asked for. */
  public static final byte ECHO = 'E';

  private final boolean obeying;
  private final ServerSocketChannel server;
  private final Selector selector;
  private final Thread thread;
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger resets = new AtomicInteger();
  private volatile boolean closed;

  /** A sink that only reads. */
  public SinkServer() {
    this(false);
  }

  private SinkServer(boolean obeying) {
    this.obeying = obeying;
    try {
      selector = Selector.open();
      server = ServerSocketChannel.open();
      server.bind(new InetSocketAddress(Loopback.ipv4(), 0), 4096);
      server.configureBlocking(false);
      server.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    thread = new Thread(this::run, "sink-" + port());
    thread.setDaemon(true);
    thread.start();
  }

  /** A sink that obeys the fault bytes {@link #RESET}, {@link #CLOSE} and {@link #ECHO}. */
  public static SinkServer obeyingFaultBytes() {
    return new SinkServer(true);
  }

  public int port() {
    return server.socket().getLocalPort();
  }

  /** Connections accepted so far. */
  public int acceptedCount() {
    return accepted.get();
  }

  /** Accepted connections not closed yet. */
  public int openCount() {
    return open.get();
  }

  /** Connections reset on request. */
  public int resets() {
    return resets.get();
  }

  private void run() {
    ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
    try {
      while (!closed) {
        selector.select();
        for (SelectionKey key : selector.selectedKeys()) {
          if (!key.isValid()) {
            continue;
          }
          if (key.isAcceptable()) {
            acceptAll();
          } else if (key.isReadable()) {
            serve(key, buf);
          }
        }
        selector.selectedKeys().clear();
      }
    } catch (IOException | RuntimeException e) {
      // closed under us
    } finally {
      for (SelectionKey key : selector.keys()) {
        AcceptLoop.closeQuietly(key.channel());
      }
      AcceptLoop.closeQuietly(selector);
    }
  }

  private void acceptAll() throws IOException {
    SocketChannel ch;
    while ((ch = server.accept()) != null) {
      accepted.incrementAndGet();
      open.incrementAndGet();
      try {
        ch.configureBlocking(false);
        ch.register(selector, SelectionKey.OP_READ);
      } catch (IOException | RuntimeException e) {
        AcceptLoop.closeQuietly(ch); // not registered: the finally above would not find it
        throw e;
      }
    }
  }

  private void serve(SelectionKey key, ByteBuffer buf) throws IOException {
    SocketChannel ch = (SocketChannel) key.channel();
    int n;
    buf.clear();
    try {
      n = ch.read(buf);
    } catch (IOException e) {
      n = -1;
    }
    boolean close = n < 0;
    boolean reset = false;
    for (int i = 0; obeying && i < n; i++) {
      byte b = buf.get(i);
      if (b == RESET) {
        close = true;
        reset = true;
      } else if (b == CLOSE) {
        close = true;
      } else if (b == ECHO) {
        try {
          ch.write(ByteBuffer.wrap(new byte[] {'x'}));
        } catch (IOException e) {
          close = true;
        }
      }
    }
    if (close) {
      if (reset) {
        try {
          ch.setOption(StandardSocketOptions.SO_LINGER, 0);
          resets.incrementAndGet();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
      key.cancel();
      ch.close();
      open.decrementAndGet();
    }
  }

  /** Stops the thread, which closes the listener and every connection still open. */
  @Override
  public void close() {
    closed = true;
    selector.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
