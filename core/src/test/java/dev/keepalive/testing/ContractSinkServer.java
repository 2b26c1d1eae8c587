package dev.keepalive.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP server on 127.0.0.1 for load tests: one daemon thread accepts every connection, never
 * writes, discards what it reads and closes its side as soon as the client closes, so thousands
 * of short-lived client connections do not pile up file descriptors.
 */
public final class ContractSinkServer implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Selector selector;
  private final Thread thread;
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger open = new AtomicInteger();
  private volatile boolean closed;

  public ContractSinkServer() {
    try {
      selector = Selector.open();
      server = ServerSocketChannel.open();
      server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 4096);
      server.configureBlocking(false);
      server.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    thread = new Thread(this::run, "contract-sink-" + port());
    thread.setDaemon(true);
    thread.start();
  }

  public int port() {
    return server.socket().getLocalPort();
  }

  /** Connections accepted so far. */
  public int acceptedCount() {
    return accepted.get();
  }

  /** Accepted connections the client has not closed yet. */
  public int openCount() {
    return open.get();
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
            SocketChannel ch;
            while ((ch = server.accept()) != null) {
              accepted.incrementAndGet();
              open.incrementAndGet();
              ch.configureBlocking(false);
              ch.register(selector, SelectionKey.OP_READ);
            }
          } else if (key.isReadable()) {
            SocketChannel ch = (SocketChannel) key.channel();
            int n;
            try {
              buf.clear();
              n = ch.read(buf);
            } catch (IOException e) {
              n = -1;
            }
            if (n < 0) {
              key.cancel();
              ch.close();
              open.decrementAndGet();
            }
          }
        }
        selector.selectedKeys().clear();
      }
    } catch (IOException | RuntimeException e) {
      // closed under us
    } finally {
      for (SelectionKey key : selector.keys()) {
        try {
          key.channel().close();
        } catch (IOException ignored) {
          // closing
        }
      }
      try {
        selector.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

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
