package dev.keepalive.testing;

import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * What the manager's tests share (the kit knows nothing of the manager's types): its counts,
 * its answers and their failures, the peer of a connection, a round trip through one, and a way
 * to hold the event loop still.
 */
public final class Managers {
  /** The counts of a manager that holds nothing and waits for nothing. */
  public static final PoolStats EMPTY = new PoolStats(0, 0, 0, 0, 0);

  private Managers() {}

  public static PoolStats stats(int open, int idle, int leased, int connecting, int pending) {
    return new PoolStats(open, idle, leased, connecting, pending);
  }

  /** Waits until {@code m}'s counts are {@code expected}. */
  public static void awaitStats(ConnectionManager m, PoolStats expected) {
    await().untilAsserted(() -> assertThat(m.stats()).isEqualTo(expected));
  }

  /** Waits until {@code m}'s counts are these. */
  public static void awaitStats(
      ConnectionManager m, int open, int idle, int leased, int connecting, int pending) {
    awaitStats(m, stats(open, idle, leased, connecting, pending));
  }

  /** http to 127.0.0.1:{@code port}. */
  public static Allocation plain(int port) {
    return Allocation.to("http", "127.0.0.1", port);
  }

  /** The connection {@code f} completes with (waits). */
  public static Connection get(CompletableFuture<Connection> f) throws Exception {
    return within(f);
  }

  /** A connection for {@code a} from {@code m}, waited for. */
  public static Connection get(ConnectionManager m, Allocation a) throws Exception {
    return within(m.allocate(a));
  }

  /** True once the peer sees the client close its end (EOF), waiting up to 10 s. */
  public static boolean peerSawClose(Socket peer) throws Exception {
    peer.setSoTimeout(10_000);
    return peer.getInputStream().read() == -1;
  }

  /**
   * Allocates for {@code a}, asserts how the connection was served, and gives it back (a new
   * connection, an idle one reused, ...: the common check that a socket was or was not pooled).
   */
  public static void assertNextServed(ConnectionManager m, Allocation a, FromCache expected)
      throws Exception {
    assertNextServed(m, a, expected, null);
  }

  /**
   * The same; a new connection is first accepted by {@code server} (when not null), so that it
   * is not refused by a server about to close.
   */
  public static void assertNextServed(
      ConnectionManager m, Allocation a, FromCache expected, AcceptingServer server)
      throws Exception {
    Connection next = get(m.allocate(a));
    if (server != null) {
      peerOf(server, next);
    }
    assertThat(next.fromCache()).isEqualTo(expected);
    next.close();
  }

  /** Asserts {@code c} is the idle socket of local port {@code port}, handed out again. */
  public static void assertReused(Connection c, int port) {
    assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(c.localAddress().getPort()).isEqualTo(port);
  }

  /** The AllocationException {@code f} fails with (waits; asserts it fails). */
  public static AllocationException failureOf(CompletableFuture<Connection> f) {
    return Await.failureOf(f, AllocationException.class);
  }

  /** Asserts a failed result, field by field. */
  public static void assertFailure(
      AllocationResult r, String function, Integer errorNum, String errorStr) {
    assertThat(r.isSuccess()).as("%s", r).isFalse();
    assertThat(r.connection()).isNull();
    assertThat(r.fromCache()).isNull();
    assertThat(r.function()).as("function of %s", r).isEqualTo(function);
    assertThat(r.errorNum()).as("errorNum of %s", r).isEqualTo(errorNum);
    assertThat(r.errorStr()).as("errorStr of %s", r).isEqualTo(errorStr);
  }

  public static void assertFailure(
      AllocationException e, String function, Integer errorNum, String errorStr) {
    assertFailure(e.result(), function, errorNum, errorStr);
  }

  /** Asserts "connect", 110, "Connection timed out". */
  public static void assertTimedOut(AllocationResult r) {
    assertFailure(r, "connect", 110, "Connection timed out");
  }

  /** Asserts "connect", 111, "Connection refused". */
  public static void assertRefused(AllocationResult r) {
    assertFailure(r, "connect", 111, "Connection refused");
  }

  public static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  public static ByteBuffer buf(String s) {
    return ByteBuffer.wrap(ascii(s));
  }

  /** The server's side of {@code c} (waits until it is accepted). */
  public static Socket peerOf(AcceptingServer server, Connection c) {
    return peerOf(server, c.localAddress().getPort());
  }

  /** The server's side of the client socket on local port {@code port} (waits). */
  public static Socket peerOf(AcceptingServer server, int port) {
    return server.peerOf(port);
  }

  /** Proves {@code c} is a working connection to {@code peer}: a round trip both ways. */
  public static void assertRoundTrip(Connection c, Socket peer, String text) throws Exception {
    within(c.write(buf(text)));
    assertThat(PeerIo.read(peer, text.length())).isEqualTo(text);
    PeerIo.write(peer, text);
    c.readTimeout(Await.LONG);
    assertThat(new String(c.inputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
        .isEqualTo(text);
  }

  /**
   * Runs {@code task} on the manager's event loop thread and returns its result; the loop does
   * nothing else meanwhile, so the pool is frozen in whatever state the task sets up (what it
   * asks of the manager inline runs at once; deliveries wait until it returns). It rides on the
   * callback of a refused connect, so it needs one free global slot and leaves nothing behind.
   */
  public static <T> T onLoop(ConnectionManager m, Callable<T> task) throws Exception {
    CompletableFuture<T> out = new CompletableFuture<>();
    m.allocate(Allocation.to("hold-the-loop", "127.0.0.1", Loopback.closedPort()), r -> {
      try {
        out.complete(task.call());
      } catch (Throwable t) {
        out.completeExceptionally(t);
      }
    });
    try {
      return within(out);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) {
        throw x;
      }
      throw e;
    }
  }

  /** A task that returns nothing, for {@link #onLoop}. */
  @FunctionalInterface
  public interface ThrowingRunnable {
    void run() throws Exception;
  }

  public static Callable<Void> callable(ThrowingRunnable r) {
    return () -> {
      r.run();
      return null;
    };
  }
}
