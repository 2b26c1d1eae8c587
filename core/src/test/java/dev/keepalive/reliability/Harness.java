package dev.keepalive.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.ConnectionManager;
import dev.keepalive.PoolStats;
import dev.keepalive.testing.LoopbackServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/** What every reliability test uses: waiting, asserting results and counts, holding the loop. */
final class Harness {
  static final Duration LONG = Duration.ofSeconds(20);
  static final PoolStats EMPTY = new PoolStats(0, 0, 0, 0, 0);

  private Harness() {}

  /**
   * A keep-alive no test outlasts: with it, a pooled socket that goes away was closed by the
   * idle watch (or a check), never by expiry.
   */
  static final Duration NO_EXPIRY = Duration.ofMinutes(10);

  static ConditionFactory await() {
    return Awaitility.await().atMost(LONG).pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5));
  }

  static PoolStats stats(int open, int idle, int leased, int connecting, int pending) {
    return new PoolStats(open, idle, leased, connecting, pending);
  }

  static void awaitStats(ConnectionManager m, PoolStats expected) {
    await().untilAsserted(() -> assertThat(m.stats()).isEqualTo(expected));
  }

  static Allocation plain(int port) {
    return Allocation.to("http", "127.0.0.1", port);
  }

  static <T> T within(CompletableFuture<T> f) throws Exception {
    return f.get(LONG.toSeconds(), TimeUnit.SECONDS);
  }

  static Connection get(CompletableFuture<Connection> f) throws Exception {
    return within(f);
  }

  static AllocationException failureOf(CompletableFuture<Connection> f) {
    Throwable t = catchThrowable(() -> f.get(LONG.toSeconds(), TimeUnit.SECONDS));
    assertThat(t).isInstanceOf(ExecutionException.class);
    assertThat(t.getCause()).isInstanceOf(AllocationException.class);
    return (AllocationException) t.getCause();
  }

  /** Asserts a failed result, field by field. */
  static void assertFailure(AllocationResult r, String function, Integer errorNum,
      String errorStr) {
    assertThat(r.isSuccess()).as("%s", r).isFalse();
    assertThat(r.connection()).isNull();
    assertThat(r.fromCache()).isNull();
    assertThat(r.function()).as("function of %s", r).isEqualTo(function);
    assertThat(r.errorNum()).as("errorNum of %s", r).isEqualTo(errorNum);
    assertThat(r.errorStr()).as("errorStr of %s", r).isEqualTo(errorStr);
  }

  static void assertFailure(AllocationException e, String function, Integer errorNum,
      String errorStr) {
    assertFailure(e.result(), function, errorNum, errorStr);
  }

  static void assertTimedOut(AllocationResult r) {
    assertFailure(r, "connect", 110, "Connection timed out");
  }

  static void assertRefused(AllocationResult r) {
    assertFailure(r, "connect", 111, "Connection refused");
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static ByteBuffer buf(String s) {
    return ByteBuffer.wrap(ascii(s));
  }

  /** The server's side of the client socket on local port {@code port}, once accepted. */
  static Socket peerOf(LoopbackServer server, int port) {
    AtomicReference<Socket> peer = new AtomicReference<>();
    await().untilAsserted(() -> peer.set(server.peerOf(port)));
    return peer.get();
  }

  static Socket peerOf(LoopbackServer server, Connection c) {
    return peerOf(server, c.localAddress().getPort());
  }

  /** Proves {@code c} is a working connection to {@code peer}: a round trip both ways. */
  static void assertRoundTrip(Connection c, Socket peer, String text) throws Exception {
    within(c.write(buf(text)));
    peer.setSoTimeout((int) LONG.toMillis());
    assertThat(new String(peer.getInputStream().readNBytes(text.length()),
        StandardCharsets.US_ASCII)).isEqualTo(text);
    peer.getOutputStream().write(ascii(text));
    peer.getOutputStream().flush();
    c.readTimeout(LONG);
    assertThat(new String(c.inputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
        .isEqualTo(text);
  }

  /**
   * Runs {@code task} on the manager's event loop thread and returns its result; the loop does
   * nothing else meanwhile, so the pool is frozen in whatever state the task sets up (what it
   * asks of the manager inline runs at once; deliveries wait until it returns). It rides on the
   * callback of a refused connect, so it needs one free global slot and leaves nothing behind.
   */
  static <T> T onLoop(ConnectionManager m, Callable<T> task) throws Exception {
    CompletableFuture<T> out = new CompletableFuture<>();
    m.allocate(Allocation.to("hold-the-loop", "127.0.0.1", LoopbackServer.closedPort()), r -> {
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

  /**
   * Waits until the socket of {@code c} has something to read (bytes, EOF or a reset) without
   * reading it: the peer's doing has reached the client's kernel, so what the manager does next
   * no longer depends on timing. The socket is asked through a selector of the test's own, the
   * readiness the manager's idle watch uses (cheap, unlike /proc/net/tcp when it lists
   * thousands of TIME_WAIT sockets).
   */
  static void awaitReadable(Connection c) {
    java.nio.channels.SocketChannel ch = Internals.channel(c);
    await().until(() -> {
      try (java.nio.channels.Selector sel = java.nio.channels.Selector.open()) {
        ch.register(sel, java.nio.channels.SelectionKey.OP_READ);
        return sel.selectNow() > 0;
      }
    });
  }

  /** Records what a started handler gets, copying the loop's reused buffer. */
  static class Events implements ConnectionHandler {
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    final AtomicInteger inputs = new AtomicInteger();
    final AtomicInteger eofs = new AtomicInteger();
    final AtomicInteger errors = new AtomicInteger();
    final List<IOException> errorList = new CopyOnWriteArrayList<>();
    final List<Thread> threads = new CopyOnWriteArrayList<>();

    @Override
    public void onInput(Connection connection, ByteBuffer in) {
      threads.add(Thread.currentThread());
      inputs.incrementAndGet();
      byte[] b = new byte[in.remaining()];
      in.get(b);
      synchronized (data) {
        data.write(b, 0, b.length);
      }
    }

    @Override
    public void onEof(Connection connection) {
      threads.add(Thread.currentThread());
      eofs.incrementAndGet();
    }

    @Override
    public void onError(Connection connection, IOException e) {
      threads.add(Thread.currentThread());
      errorList.add(e);
      errors.incrementAndGet();
    }

    String text() {
      synchronized (data) {
        return data.toString(StandardCharsets.US_ASCII);
      }
    }

    int size() {
      synchronized (data) {
        return data.size();
      }
    }
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  static Callable<Void> callable(ThrowingRunnable r) {
    return () -> {
      r.run();
      return null;
    };
  }
}
