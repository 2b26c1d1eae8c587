package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.ConnectionManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import javax.net.ssl.SSLSession;

/**
 * A chain of request/response cycles against an echo server ({@link TlsSink}), driven from the
 * manager's event loop like {@link Chain}: the allocation callback starts reading
 * ({@link Connection#start}) and writes the request ({@link Connection#write}); the handler
 * collects the echo, checks it byte for byte, gives the connection back ({@code close()}, or
 * {@code discard()}) and issues the next allocate, all on the loop. The caller's thread only
 * starts the chain and waits for its end.
 *
 * <p>Counters are touched only by the loop thread; they are read by the caller after the latch,
 * which orders them.
 */
final class EchoChain extends LoopChain implements ConnectionHandler {
  private static final long MAX_WAIT_SECONDS = 60;

  private final Allocation allocation;
  /** Runs on each connection once its echo is complete, before it is given back; may be null. */
  private final Consumer<Connection> afterResponse;

  private final byte[] expected;
  private final ByteBuffer request;
  private final BiConsumer<Void, Throwable> writeCheck = (v, e) -> {
    if (e != null) {
      fail("write failed: " + e);
    }
  };

  // loop-confined while a chain runs
  private Connection current;
  private int received;
  private boolean sample;
  /** Complete, verified echoes. */
  long responses;
  /** The TLS protocol and cipher suite seen on a connection of the last chain ("-" for none). */
  String tls = "?";
  /** The manager's event-loop thread, as seen by the first callback. */
  volatile Thread loopThread;

  EchoChain(
      ConnectionManager manager,
      Allocation allocation,
      int size,
      boolean discard,
      Consumer<Connection> afterResponse) {
    super(manager, discard, MAX_WAIT_SECONDS);
    this.allocation = allocation;
    this.afterResponse = afterResponse;
    this.expected = new byte[size];
    for (int i = 0; i < size; i++) {
      expected[i] = (byte) ('a' + i % 26);
    }
    this.request = ByteBuffer.allocateDirect(size);
    request.put(expected).flip();
  }

  /** Runs {@code cycles} request/response cycles and waits for the last one. */
  @Override
  void run(int cycles) throws InterruptedException {
    sample = true;
    super.run(cycles);
  }

  @Override
  Allocation nextAllocation() {
    return allocation;
  }

  /** The allocation's answer: send the request on the new hand-out. */
  @Override
  public void accept(AllocationResult r) {
    try {
      if (!r.isSuccess()) {
        fail("allocation failed: " + r.function() + " " + r.errorNum() + " " + r.errorStr());
        return;
      }
      served(r.fromCache());
      Connection c = r.connection();
      current = c;
      received = 0;
      if (sample) { // once per chain: what the connection speaks
        sample = false;
        if (loopThread == null) {
          loopThread = Thread.currentThread();
        }
        SSLSession s = c.sslSession();
        tls = s == null ? "-" : s.getProtocol() + " " + s.getCipherSuite();
      }
      c.start(this);
      request.clear();
      CompletableFuture<Void> w = c.write(request);
      if (!w.isDone()) {
        w.whenComplete(writeCheck);
      } else if (w.isCompletedExceptionally()) {
        w.whenComplete(writeCheck);
      }
    } catch (Throwable t) {
      error = t;
      done.countDown();
    }
  }

  @Override
  public void onInput(Connection c, ByteBuffer data) {
    try {
      if (c != current) {
        fail("input for a connection given back");
        return;
      }
      int n = data.remaining();
      if (received + n > expected.length) {
        fail("echo longer than the request: " + (received + n) + " bytes");
        return;
      }
      int p = data.position();
      for (int i = 0; i < n; i++) {
        if (data.get(p + i) != expected[received + i]) {
          fail("echo differs at byte " + (received + i));
          return;
        }
      }
      received += n;
      if (received < expected.length) {
        return;
      }
      responses++;
      current = null;
      if (afterResponse != null) {
        afterResponse.accept(c);
      }
      giveBackAndGoOn(c);
    } catch (Throwable t) {
      error = t;
      done.countDown();
    }
  }

  @Override
  public void onEof(Connection c) {
    fail("EOF after " + received + " bytes of the echo");
  }

  @Override
  public void onError(Connection c, IOException e) {
    fail("read failed after " + received + " bytes of the echo: " + e);
  }

  private void fail(String why) {
    failed++;
    lastFailure = why;
    Connection c = current;
    current = null;
    if (c != null) {
      c.discard();
    }
    done.countDown();
  }

  @Override
  public String toString() {
    return super.toString() + ", responses " + responses + ", tls " + tls;
  }
}
