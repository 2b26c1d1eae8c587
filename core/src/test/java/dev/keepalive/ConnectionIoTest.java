package dev.keepalive;

import static dev.keepalive.testing.Managers.ascii;
import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.assertReused;
import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.EchoServer;
import dev.keepalive.testkit.PeerIo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Connection I/O over plain TCP on loopback: handlers, ordered writes, blocking streams, the
 * non-blocking channel, what a stale Connection object can (not) do, and reclaiming forgotten
 * connections.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConnectionIoTest {
  /** A server every test may connect to, unless it needs an echo. */
  private AcceptingServer server;

  private ConnectionManager m;
  /** To {@link #server}. */
  private Allocation a;

  @BeforeEach
  void open() throws IOException {
    server = new AcceptingServer();
    m = ConnectionManager.create();
    a = Allocation.to("http", "127.0.0.1", server.port());
  }

  @AfterEach
  void closeAll() {
    m.close();
    server.close();
  }

  // ---------------------------------------------------------------- start(handler)

  @Test
  void startDeliversInputOnTheLoopAndEofExactlyOnce() throws Exception {
    Connection c = get(m.allocate(a));
    Socket peer = peerOf(server, c.localAddress().getPort());
    HandlerRecorder h = startedAndHeard(c, peer, "hello");
    peer.getOutputStream().write(ascii(" world"));
    peer.shutdownOutput();
    await().until(() -> h.eofs.get() == 1);
    assertThat(h.text()).isEqualTo("hello world");
    assertThat(h.owners()).containsExactly(c);

    c.close(); // at EOF: not pooled (the next request is handled after the give-back)
    assertNextServed(m, a, FromCache.NEW);

    m.close(); // no event can follow
    assertHeardInTheEnd(h, 1, 0);
  }

  @Test
  void closingTheManagerTellsAStartedHandlerOnceThroughOnError() throws Exception {
    Connection c = get(m.allocate(a));
    HandlerRecorder h = HandlerRecorder.startedOn(c);
    Connection quiet = get(m.allocate(a)); // leased, no handler: nothing to tell
    m.close();
    assertThat(c.isOpen()).isFalse();
    assertThat(quiet.isOpen()).isFalse();
    await().until(() -> h.errors.get() == 1);
    assertThat(h.error.get()).isInstanceOf(java.nio.channels.AsynchronousCloseException.class);
    c.close(); // the holder's own close afterwards: no further event
    assertHeardInTheEnd(h, 0, 1);
  }

  @Test
  void aResetGivesOnErrorAtMostOnce() throws Exception {
    Connection c = get(m.allocate(a));
    Socket peer = peerOf(server, c.localAddress().getPort());
    HandlerRecorder h = startedAndHeard(c, peer, "x");
    peer.setSoLinger(true, 0);
    peer.close(); // RST
    await().until(() -> h.errors.get() + h.eofs.get() > 0);
    c.close(); // broken: not pooled
    assertNextServed(m, a, FromCache.NEW);
    m.close();
    assertHeardInTheEnd(h, 0, 1);
    assertThat(h.error.get()).isNotNull();
  }

  @Test
  void aSecondStartReplacesTheHandler() throws Exception {
    Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
    Socket peer = peerOf(server, c.localAddress().getPort());
    HandlerRecorder first = new HandlerRecorder();
    HandlerRecorder second = new HandlerRecorder();
    c.start(first);
    peer.getOutputStream().write(ascii("one"));
    await().until(() -> first.text().equals("one"));
    c.start(second);
    // a write is queued behind start() on the loop: once it completed, start() has run
    c.write(ByteBuffer.allocate(0)).get(LONG.toSeconds(), TimeUnit.SECONDS);
    peer.getOutputStream().write(ascii("two"));
    await().until(() -> second.text().equals("two"));
    peer.shutdownOutput();
    await().until(() -> second.eofs.get() == 1);

    // replaced from inside the handler, on the loop
    Connection d = get(m.allocate(Allocation.to("other", "127.0.0.1", server.port())));
    Socket peerD = peerOf(server, d.localAddress().getPort());
    HandlerRecorder third = new HandlerRecorder();
    HandlerRecorder fourth = new HandlerRecorder();
    d.start(new ConnectionHandler() {
      @Override
      public void onInput(Connection connection, ByteBuffer data) {
        third.onInput(connection, data);
        connection.start(fourth);
      }
    });
    peerD.getOutputStream().write(ascii("three"));
    await().until(() -> third.text().equals("three"));
    peerD.getOutputStream().write(ascii("four"));
    await().until(() -> fourth.text().equals("four"));

    c.close();
    d.close();
    m.close();
    assertThat(first.text()).isEqualTo("one");
    assertThat(first.eofs.get()).isZero();
    assertThat(second.text()).isEqualTo("two");
    assertThat(third.text()).isEqualTo("three");
    assertThat(second.eofs.get()).isEqualTo(1);
  }

  // ---------------------------------------------------------------- write()

  /**
   * Starts a recording handler on {@code c}, has the server's side {@code peer} send {@code text}
   * and waits until the handler has all of it.
   */
  private static HandlerRecorder startedAndHeard(Connection c, Socket peer, String text)
      throws IOException {
    HandlerRecorder h = HandlerRecorder.startedOn(c);
    peer.getOutputStream().write(ascii(text));
    await().until(() -> h.text().equals(text));
    return h;
  }

  /**
   * Once the connection is over: {@code h} heard {@code eofs} EOFs and {@code errors} errors,
   * nothing after its end, and all of it on the manager's daemon loop thread.
   */
  private static void assertHeardInTheEnd(HandlerRecorder h, int eofs, int errors) {
    assertThat(h.eofs.get()).isEqualTo(eofs);
    assertThat(h.errors.get()).isEqualTo(errors);
    assertThat(h.afterEnd.get()).isZero();
    h.assertOnDaemonLoop();
  }

  private static byte pattern(long position) {
    return (byte) (position * 7 + (position >>> 9));
  }

  @Test
  void writesKeepOrderAndCompleteInOrderEvenWhenLarge() throws Exception {
    try (EchoServer echo = new EchoServer()) {
      Allocation toEcho = Allocation.to("http", "127.0.0.1", echo.port());
      Connection c = get(m.allocate(toEcho));
      HandlerRecorder h = HandlerRecorder.startedOn(c);

      Random rnd = new Random(7);
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        sizes.add(1 + rnd.nextInt(5_000));
      }
      sizes.set(10, 3 << 20);
      sizes.set(100, 2 << 20);
      sizes.set(101, 1);
      sizes.set(150, (1 << 20) + 17);
      long total = 0;
      List<CompletableFuture<Void>> futures = new ArrayList<>();
      Queue<Integer> completionOrder = new ConcurrentLinkedQueue<>();
      Queue<String> problems = new ConcurrentLinkedQueue<>();
      for (int i = 0; i < sizes.size(); i++) {
        byte[] b = new byte[sizes.get(i)];
        for (int j = 0; j < b.length; j++) {
          b[j] = pattern(total + j);
        }
        total += b.length;
        ByteBuffer src = i % 2 == 0
            ? ByteBuffer.wrap(b)
            : ByteBuffer.allocateDirect(b.length).put(b).flip();
        CompletableFuture<Void> f = c.write(src);
        final int index = i;
        final CompletableFuture<Void> previous = i == 0 ? null : futures.get(i - 1);
        f.whenComplete((v, e) -> {
          if (e != null) {
            problems.add("write " + index + " failed: " + e);
          }
          if (previous != null && !previous.isDone()) {
            problems.add("write " + index + " completed before write " + (index - 1));
          }
          if (src.hasRemaining()) {
            problems.add("write " + index + " completed with bytes left");
          }
          completionOrder.add(index);
        });
        futures.add(f);
      }
      CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]))
          .get(LONG.toSeconds(), TimeUnit.SECONDS);
      final long expected = total;
      await().until(() -> h.size() == expected);
      assertThat(problems).isEmpty();
      List<Integer> inOrder = new ArrayList<>();
      for (int i = 0; i < sizes.size(); i++) {
        inOrder.add(i);
      }
      assertThat(new ArrayList<>(completionOrder)).isEqualTo(inOrder);
      byte[] got = h.bytes();
      for (int p = 0; p < got.length; p++) {
        if (got[p] != pattern(p)) {
          throw new AssertionError("echo differs at byte " + p + " of " + got.length);
        }
      }
      assertThat(h.errors.get() + h.eofs.get()).isZero();

      c.close(); // everything written and read: reusable
      assertNextServed(m, toEcho, FromCache.IMMEDIATE);
    }
  }

  // ---------------------------------------------------------------- streams

  /** Echo round trip through the blocking streams, with the reader blocked before data comes. */
  private static void streamRoundTrip(Connection c, ThreadStarter starter) throws Exception {
    byte[] payload = new byte[300_000];
    new Random(3).nextBytes(payload);
    CompletableFuture<byte[]> read = new CompletableFuture<>();
    AtomicReference<Thread> reader = new AtomicReference<>();
    Runnable readTask = () -> {
      reader.set(Thread.currentThread());
      try {
        InputStream in = c.inputStream();
        byte[] got = new byte[payload.length];
        int have = 0;
        while (have < got.length) {
          int n = in.read(got, have, got.length - have);
          if (n < 0) {
            throw new IOException("EOF after " + have + " bytes");
          }
          have += n;
        }
        read.complete(got);
      } catch (Throwable e) {
        read.completeExceptionally(e);
      }
    };
    starter.start(readTask);
    // the reader is waiting for input before anything was sent
    await()
        .until(() -> reader.get() != null
            && (reader.get().getState() == Thread.State.WAITING || read.isDone()));
    assertThat(read).isNotDone();
    OutputStream out = c.outputStream();
    out.write(payload, 0, 1);
    out.write(payload, 1, 99_999);
    out.write(payload, 100_000, payload.length - 100_000);
    out.flush();
    assertThat(read.get(LONG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(payload);
  }

  interface ThreadStarter {
    void start(Runnable task) throws Exception;
  }

  @Test
  void streamsRoundTripOnAPlainThread() throws Exception {
    try (EchoServer echo = new EchoServer()) {
      Allocation toEcho = Allocation.to("http", "127.0.0.1", echo.port());
      Connection c = get(m.allocate(toEcho));
      streamRoundTrip(c, task -> {
        Thread t = new Thread(task, "plain-reader");
        t.setDaemon(true);
        t.start();
      });
      c.close();
      assertNextServed(m, toEcho, FromCache.IMMEDIATE);
    }
  }

  @Test
  void streamsRoundTripOnAVirtualThread() throws Exception {
    Method ofVirtual;
    try {
      ofVirtual = Thread.class.getMethod("ofVirtual");
    } catch (NoSuchMethodException e) {
      ofVirtual = null;
    }
    Assumptions.assumeTrue(
        ofVirtual != null, "no virtual threads on Java " + Runtime.version().feature());
    Object builder = ofVirtual.invoke(null);
    Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
    try (EchoServer echo = new EchoServer()) {
      Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", echo.port())));
      streamRoundTrip(c, task -> start.invoke(builder, task));
      c.close();
    }
  }

  @Test
  void blockingStreamsRefuseTheEventLoopThread() throws Exception {
    try (EchoServer echo = new EchoServer()) {
      CompletableFuture<List<Throwable>> outcome = new CompletableFuture<>();
      m.allocate(Allocation.to("http", "127.0.0.1", echo.port()), r -> {
        List<Throwable> thrown = new ArrayList<>();
        Connection c = r.connection();
        thrown.add(catchThrowable(() -> c.inputStream().read(new byte[10])));
        thrown.add(catchThrowable(() -> c.inputStream().read()));
        thrown.add(catchThrowable(() -> c.outputStream().write(ascii("x"))));
        thrown.add(catchThrowable(() -> c.outputStream().write('y')));
        c.close();
        outcome.complete(thrown);
      });
      List<Throwable> thrown = outcome.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(thrown)
          .hasSize(4)
          .allSatisfy(t -> assertThat(t).isInstanceOf(IllegalStateException.class));
      // nothing was written by the refused calls: the socket was clean and went back
      assertNextServed(m, Allocation.to("http", "127.0.0.1", echo.port()), FromCache.IMMEDIATE);
    }
  }

  // ---------------------------------------------------------------- channel() and staleness

  @Test
  void channelIsNonBlockingAndAStaleConnectionNeverTouchesTheNextHolder() throws Exception {
    Connection c = get(m.allocate(a));
    int localPort = c.localAddress().getPort();
    Socket peer = peerOf(server, localPort);
    ByteChannel ch = c.channel();
    assertThat(ch.isOpen()).isTrue();
    ByteBuffer in = ByteBuffer.allocate(64);
    assertThat(ch.read(in)).as("nothing there: a non-blocking read returns 0").isZero();

    ByteBuffer ping = buf("ping");
    while (ping.hasRemaining()) {
      ch.write(ping);
    }
    assertThat(PeerIo.read(peer, 4)).isEqualTo("ping");
    peer.getOutputStream().write(ascii("pong"));
    await().until(() -> {
      ch.read(in);
      return in.position() == 4;
    });
    assertThat(new String(in.array(), 0, 4, StandardCharsets.US_ASCII)).isEqualTo("pong");

    c.close(); // nothing unread, nothing pending: pooled
    assertThat(c.isOpen()).isFalse();
    assertThat(ch.isOpen()).isFalse();
    Connection next = get(m.allocate(a));
    assertReused(next, localPort);

    // the stale object fails everywhere...
    assertThatThrownBy(() -> ch.write(buf("stale-1"))).isInstanceOf(ClosedChannelException.class);
    assertThatThrownBy(() -> c.channel().write(buf("stale-2")))
        .isInstanceOf(ClosedChannelException.class);
    assertThatThrownBy(() -> c.channel().read(ByteBuffer.allocate(8)))
        .isInstanceOf(ClosedChannelException.class);
    CompletableFuture<Void> staleWrite = c.write(buf("stale-3"));
    Throwable w = catchThrowable(() -> staleWrite.get(LONG.toSeconds(), TimeUnit.SECONDS));
    assertThat(w).isInstanceOf(ExecutionException.class);
    assertThat(w.getCause()).isInstanceOf(ClosedChannelException.class);
    assertThatThrownBy(() -> c.outputStream().write(ascii("stale-4")))
        .isInstanceOf(IOException.class);
    assertThatThrownBy(() -> c.inputStream().read()).isInstanceOf(IOException.class);
    HandlerRecorder staleHandler = new HandlerRecorder();
    catchThrowable(() -> c.start(staleHandler)); // may throw; must not steal input

    // ... and the peer receives only what the new holder writes
    ByteBuffer fresh = buf("fresh");
    while (fresh.hasRemaining()) {
      next.channel().write(fresh);
    }
    assertThat(PeerIo.read(peer, 5)).isEqualTo("fresh");

    // input goes to the new holder only
    peer.getOutputStream().write(ascii("X"));
    ByteBuffer got = ByteBuffer.allocate(8);
    await().until(() -> {
      assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(8)))
          .isInstanceOf(ClosedChannelException.class);
      next.channel().read(got);
      return got.position() == 1;
    });
    assertThat(got.get(0)).isEqualTo((byte) 'X');
    next.close();
    m.close();
    assertThat(staleHandler.size()).isZero();
    assertThat(staleHandler.eofs.get() + staleHandler.errors.get()).isZero();
  }

  @Test
  void closingTheChannelDiscardsTheConnection() throws Exception {
    Connection c = get(m.allocate(a));
    c.channel().close();
    assertThat(c.isOpen()).isFalse();
    assertNextServed(m, a, FromCache.NEW);
  }

  @Test
  void closeWithWritesPendingDiscardsTheSocket() throws Exception {
    Connection c = get(m.allocate(a));
    // the peer never reads: 64 MB cannot fit in the loopback socket buffers
    ByteBuffer big = ByteBuffer.allocateDirect(64 << 20);
    CompletableFuture<Void> pending = c.write(big);
    c.close();
    // handled after the give-back: the half-written socket must not be offered again
    Connection next = get(m.allocate(a));
    assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
    Throwable t = catchThrowable(() -> pending.get(LONG.toSeconds(), TimeUnit.SECONDS));
    assertThat(t).isInstanceOf(ExecutionException.class);
    assertThat(t.getCause()).isInstanceOf(IOException.class);
    assertThat(c.isOpen()).isFalse();
    await().until(() -> m.stats().equals(new PoolStats(1, 0, 1, 0, 0)));
    next.close();
  }

  @Test
  void isOpenIsFalseAfterCloseAndAfterDiscard() throws Exception {
    Connection closed = get(m.allocate(a));
    Connection discarded = get(m.allocate(a));
    int discardedPort = discarded.localAddress().getPort();
    assertThat(closed.isOpen()).isTrue();
    assertThat(discarded.isOpen()).isTrue();
    closed.close();
    discarded.discard();
    assertThat(closed.isOpen()).isFalse();
    assertThat(discarded.isOpen()).isFalse();
    closed.close(); // idempotent
    discarded.discard();
    discarded.close();
    await().until(() -> m.stats().equals(new PoolStats(1, 1, 0, 0, 0)));
    Socket discardedPeer = peerOf(server, discardedPort);
    discardedPeer.setSoTimeout((int) LONG.toMillis());
    assertThat(discardedPeer.getInputStream().read()).isEqualTo(-1);
  }

  @Test
  void localAndRemoteAddresses() throws Exception {
    Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    assertThat(c.remoteAddress()).isEqualTo(new InetSocketAddress(loopback, server.port()));
    InetSocketAddress local = c.localAddress();
    assertThat(local.getAddress()).isEqualTo(loopback);
    Socket peer = peerOf(server, local.getPort());
    assertThat(peer.getRemoteSocketAddress()).isEqualTo(local);
    assertThat(c.scheme()).isEqualTo("http");
    assertThat(c.addr()).isEqualTo("127.0.0.1");
    assertThat(c.port()).isEqualTo(server.port());
    c.close();
  }

  // ---------------------------------------------------------------- reclaiming

  /** Leases a connection through a callback and keeps no reference to it; its local port. */
  private int leaseAndForgetViaCallback() throws Exception {
    CompletableFuture<Integer> port = new CompletableFuture<>();
    m.allocate(a, r -> port.complete(r.connection().localAddress().getPort()));
    return port.get(LONG.toSeconds(), TimeUnit.SECONDS);
  }

  /** Leases a connection through a future and keeps no reference to either; its local port. */
  private int leaseAndForgetViaFuture() throws Exception {
    return get(m.allocate(a)).localAddress().getPort();
  }

  private void awaitReclaimed(int port) throws Exception {
    Awaitility.await().atMost(LONG).pollInterval(Duration.ofMillis(50)).until(() -> {
      System.gc();
      return m.stats().leased() == 0;
    });
    // the socket was discarded, not pooled
    assertNextServed(m, a, FromCache.NEW);
    Socket peer = peerOf(server, port);
    peer.setSoTimeout((int) LONG.toMillis());
    assertThat(peer.getInputStream().read()).isEqualTo(-1);
  }

  @Test
  void aForgottenConnectionFromACallbackIsReclaimed() throws Exception {
    int port = leaseAndForgetViaCallback();
    awaitReclaimed(port);
  }

  @Test
  void aForgottenConnectionFromAFutureIsReclaimed() throws Exception {
    int port = leaseAndForgetViaFuture();
    awaitReclaimed(port);
  }
}
