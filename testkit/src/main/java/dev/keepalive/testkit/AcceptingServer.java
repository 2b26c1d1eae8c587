package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A TCP server on loopback (127.0.0.1 unless told otherwise) that accepts every connection and
 * keeps the accepted sockets: the peer's side of each client connection, for the test to read,
 * write, close or reset. Made with a {@link Script}, it also runs that script on each connection,
 * on a daemon thread of its own (the {@link EchoServer}, the {@link HttpScriptServer} and the
 * {@link TlsServer} are such servers). {@link #close()} closes every socket it accepted, even one
 * accepted while it closes.
 */
public class AcceptingServer implements AutoCloseable {
  /** What the server does with one accepted connection, on a thread of its own. */
  @FunctionalInterface
  public interface Script {
    /**
     * Serves {@code peer}; it may leave it open (the server closes it on close()). An
     * IOException is the client going away and is ignored; anything else is kept for
     * {@link #failures()}.
     */
    void run(Socket peer) throws Exception;
  }

  private final ServerSocket server;
  private final AcceptLoop<Socket> loop;
  private final LinkedBlockingQueue<Socket> fresh = new LinkedBlockingQueue<>();
  private final List<Throwable> failures = new CopyOnWriteArrayList<>();

  /** A server on 127.0.0.1 that only accepts. */
  public AcceptingServer() {
    this(Loopback.ipv4());
  }

  /** A server on {@code address} (127.0.0.1 or ::1, say) that only accepts. */
  public AcceptingServer(InetAddress address) {
    this("accepting", unbound(), address, null);
  }

  /**
   * A server on {@code address}:{@code port} that only accepts: with the port of a server on
   * another loopback address, one port answers on several addresses (a host name resolving to
   * both, for Happy Eyeballs).
   */
  public AcceptingServer(InetAddress address, int port) {
    this("accepting", unbound(), new InetSocketAddress(address, port), null);
  }

  /** A server on 127.0.0.1 that runs {@code script} on every connection it accepts. */
  public AcceptingServer(Script script) {
    this("scripted", unbound(), Loopback.ipv4(), script);
  }

  /**
   * For servers built on this one: {@code unbound} (a plain, TLS or recording ServerSocket) is
   * bound to {@code address}; {@code script}, when not null, runs on every connection.
   *
   * @throws UncheckedIOException if the address cannot be bound
   */
  // the accept loop starts here and sees this server; a subclass (EchoServer) adds no state the
  // loop reads, so it cannot see one half made (javac 21+ warns of the escape)
  @SuppressWarnings("this-escape")
  protected AcceptingServer(String name, ServerSocket unbound, InetAddress address, Script script) {
    this(name, unbound, new InetSocketAddress(address, 0), script);
  }

  /** The same, bound to {@code endpoint} (port 0: any free port). */
  @SuppressWarnings("this-escape")
  protected AcceptingServer(
      String name, ServerSocket unbound, InetSocketAddress endpoint, Script script) {
    server = unbound;
    try {
      server.setReuseAddress(true);
      server.bind(endpoint, 1024);
    } catch (IOException e) {
      AcceptLoop.closeQuietly(server);
      throw new UncheckedIOException(e);
    }
    loop = new AcceptLoop<>(name + "-acceptor-" + port(), server, server::accept, s -> {
      fresh.add(s);
      if (script != null) {
        AcceptLoop.daemon(name + "-" + s.getPort(), () -> run(script, s));
      }
    });
  }

  /** A new, unbound ServerSocket. */
  protected static ServerSocket unbound() {
    try {
      return new ServerSocket();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A server that only accepts, on {@code address}; null when it cannot be bound here. */
  public static AcceptingServer tryBind(InetAddress address) {
    try {
      return new AcceptingServer(address);
    } catch (UncheckedIOException e) {
      return null;
    }
  }

  private void run(Script script, Socket s) {
    try {
      script.run(s);
    } catch (IOException e) {
      // the client went away, or the test closed the peer
    } catch (Throwable e) {
      failures.add(e);
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Every connection accepted so far, in order (a live view). */
  public List<Socket> accepted() {
    return loop.accepted();
  }

  public int acceptedCount() {
    return loop.accepted().size();
  }

  /** The next connection accepted that this method has not returned yet (waits). */
  public Socket nextAccepted() {
    return Await.next(fresh, "connection accepted");
  }

  /**
   * The accepted socket whose remote port is {@code clientPort}: the peer of the client socket
   * with that local port (waits until it is accepted).
   */
  public Socket peerOf(int clientPort) {
    return AcceptLoop.awaitFirst(loop.accepted(), s -> s.getPort() == clientPort);
  }

  /** What scripts threw, other than IOExceptions. */
  public List<Throwable> failures() {
    return failures;
  }

  /** The accept loop, for the kit's own tests. */
  AcceptLoop<Socket> acceptLoop() {
    return loop;
  }

  /** Closes the listener and every accepted socket. */
  @Override
  public void close() {
    loop.close();
  }
}
