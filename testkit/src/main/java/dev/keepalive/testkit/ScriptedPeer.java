package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A hostile peer on 127.0.0.1: every accepted connection runs a {@link Script} on a daemon
 * thread of its own. The script gets the accepted channel (blocking; it may switch it to
 * non-blocking, to flood) and may leave it open when it returns: the test drives it then. A
 * script's unexpected exception (anything but an IOException, which is the client going away)
 * is kept for {@link #failures()}. Pieces of scripts: {@link #readClientHello}, {@link #drain},
 * {@link #reset}. (For a peer that speaks HTTP, see {@link HttpScriptServer}.)
 */
public final class ScriptedPeer implements AutoCloseable {
  /** What the peer does with one connection. */
  @FunctionalInterface
  public interface Script {
    void run(SocketChannel peer) throws Exception;
  }

  private final ServerSocketChannel server;
  private final AcceptLoop<SocketChannel> loop;
  private final List<Throwable> failures = new CopyOnWriteArrayList<>();

  public ScriptedPeer(Script script) {
    try {
      server = ServerSocketChannel.open();
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(new InetSocketAddress(Loopback.ipv4(), 0), 1024);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    loop = new AcceptLoop<>(
        "scripted-acceptor-" + port(),
        server,
        server::accept,
        ch -> AcceptLoop.daemon("scripted-" + ch.socket().getPort(), () -> {
          try {
            script.run(ch);
          } catch (IOException e) {
            // the client went away, or the test closed the peer
          } catch (Throwable e) {
            failures.add(e);
          }
        }));
  }

  /** A peer that accepts and never says anything: the test drives each connection. */
  public static ScriptedPeer passive() {
    return new ScriptedPeer(peer -> {});
  }

  public int port() {
    return server.socket().getLocalPort();
  }

  /** Every connection accepted so far, in order (a live view). */
  public List<SocketChannel> accepted() {
    return loop.accepted();
  }

  public int acceptedCount() {
    return loop.accepted().size();
  }

  /** What scripts threw, other than IOExceptions. */
  public List<Throwable> failures() {
    return failures;
  }

  /** The accepted connection from the client's local port {@code clientPort} (waits). */
  public SocketChannel peerOf(int clientPort) {
    return AcceptLoop.awaitFirst(loop.accepted(), ch -> ch.socket().getPort() == clientPort);
  }

  /** The accept loop, for the kit's own tests. */
  AcceptLoop<SocketChannel> acceptLoop() {
    return loop;
  }

  // ---- pieces of scripts ----

  /** Reads until the client's first TLS record (its ClientHello) is complete; false at EOF. */
  public static boolean readClientHello(SocketChannel peer) throws IOException {
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
  public static void drain(SocketChannel peer) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(16 * 1024);
    while (true) {
      b.clear();
      if (peer.read(b) < 0) {
        return;
      }
    }
  }

  /** Closes abortively: the client gets a RST. */
  public static void reset(SocketChannel peer) throws IOException {
    peer.setOption(StandardSocketOptions.SO_LINGER, 0);
    peer.close();
  }

  /** Closes the listener and every accepted connection. */
  @Override
  public void close() {
    loop.close();
  }
}
