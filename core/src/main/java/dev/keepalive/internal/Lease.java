package dev.keepalive.internal;

import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.FromCache;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.PhantomReference;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritePendingException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * The state of one hand-out of a socket: its holder's handler, queued writes, blocked reader and
 * reuse limits. The socket's {@link SocketIo#listener} is its current lease; a new hand-out gets a
 * new lease, so nothing of an old holder reaches a new one. The public face is
 * {@link LeasedConnection}; the lease is a phantom reference to it and holds no strong one (except
 * while a handler is started), so a forgotten connection becomes unreachable and the
 * {@link Reaper} hands this lease back to the loop. It reaches the loop only through its
 * {@link Owner}.
 *
 * <p>Fields are confined to the event loop (asserted at the entry points) except the volatile
 * ones: {@code holderDone} (written once by the holder or the reaper), {@code ended} (written by
 * the loop, read by holders), {@code outputShutdown}, {@code readTimeoutNanos} and the reuse
 * limits (written by the holder, read by the loop), {@code pendingBytes} (written by the loop,
 * read by holders).
 */
final class Lease extends PhantomReference<LeasedConnection>
    implements SocketIo.Listener, LongHeap.Entry {
  private static final System.Logger LOG = System.getLogger("dev.keepalive");
  private static final VarHandle HOLDER_DONE;

  static {
    try {
      HOLDER_DONE = MethodHandles.lookup().findVarHandle(Lease.class, "holderDone", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** One queued write and its future. */
  private static final class PendingWrite {
    final ByteBuffer src;
    final CompletableFuture<Void> done;

    PendingWrite(ByteBuffer src, CompletableFuture<Void> done) {
      this.src = src;
      this.done = done;
    }
  }

  /** The loop as a hand-out sees it: the manager implements it. */
  interface Owner {
    /** True on the event loop thread. */
    boolean inLoop();

    /** Runs {@code task} on the loop later (never inline); false when the loop has ended. */
    boolean execute(Runnable task);

    /** Runs {@code task} inline on the loop thread, else hands it to the loop. */
    boolean onLoop(Runnable task);

    /** Where the loop reads input for handlers; valid only during a handler call. */
    ByteBuffer readBuffer();

    /** Most bytes a write queue may hold before write() refuses more. */
    long maxPendingWriteBytes();

    /** The holder closed ({@code discard} false) or discarded its connection (any thread). */
    void giveBack(Lease lease, boolean discard);

    /** The connection became unreachable without close() or discard() (reaper thread). */
    void reclaim(Lease lease);
  }

  /** No reuse limit. */
  static final long NO_LIMIT = -1;

  final Owner owner;
  final SocketIo socket;
  final SocketChannel channel;
  final Transport io;
  // The request's echo, copied: a lease must not reach the request, whose future holds the
  // connection, or the connection could never become unreachable.
  final String scheme;
  final String addr;
  final int port;
  final FromCache fromCache;
  /**
   * Leak detection only (else null and unused): where allocate() was called, and when the holder
   * will have held it too long (clock nanos). The manager's leak watch keeps the lease in a heap
   * by that deadline until it is given back ({@link #leakIndex}, written by that heap).
   */
  final Throwable allocationSite;

  final long leakDeadline;
  private int leakIndex = -1;

  /** 1 once the holder closed or discarded it, or it was reclaimed. */
  @SuppressWarnings("unused")
  private volatile int holderDone;
  /** True once the loop ended it: given back, discarded, or closed with the manager. */
  volatile boolean ended;

  volatile boolean outputShutdown;
  /** Bytes queued by write() and not yet taken by the socket. */
  volatile long pendingBytes;
  /** Blocking reads' limit in nanos; 0 for none. */
  volatile long readTimeoutNanos;
  /** Once given back, how long the socket may stay idle and still be reused; or NO_LIMIT. */
  volatile long keepAliveTimeoutNanos = NO_LIMIT;
  /** How many more hand-outs the socket may have after this one; or NO_LIMIT. */
  volatile long keepAliveMax = NO_LIMIT;

  private ConnectionHandler handler;
  private Connection handlerOwner;
  private boolean inputEnded;
  private boolean broken;
  private ArrayDeque<PendingWrite> writes;
  private CompletableFuture<Void> readWaiter;
  private int readWaiterOps;

  Lease(
      LeasedConnection connection,
      Owner owner,
      SocketIo socket,
      String scheme,
      String addr,
      int port,
      FromCache fromCache,
      boolean ended,
      Throwable allocationSite,
      long leakDeadline) {
    super(connection, Reaper.queue());
    this.owner = owner;
    this.socket = socket;
    this.channel = socket.channel;
    this.io = socket.transport;
    this.scheme = scheme;
    this.addr = addr;
    this.port = port;
    this.fromCache = fromCache;
    this.ended = ended;
    this.allocationSite = allocationSite;
    this.leakDeadline = leakDeadline;
  }

  @Override
  public long heapKey() {
    return leakDeadline;
  }

  @Override
  public int heapIndex() {
    return leakIndex;
  }

  @Override
  public void heapIndex(int index) {
    leakIndex = index;
  }

  /** Marks the holder done; true for the first caller only. */
  boolean markHolderDone() {
    return HOLDER_DONE.compareAndSet(this, 0, 1);
  }

  boolean holderDone() {
    return holderDone != 0;
  }

  boolean isOpen() {
    return holderDone == 0 && !ended && channel != null && channel.isOpen();
  }

  /** The connection became unreachable without close() or discard() (reaper thread). */
  void forgotten() {
    if (markHolderDone()) {
      owner.reclaim(this);
    }
  }

  // ---- on the loop ----

  void start(ConnectionHandler h, Connection connection) {
    assert owner.inLoop() : "lease used off its loop";
    if (ended) {
      return;
    }
    handler = h;
    handlerOwner = connection;
    updateInterest();
    if (socket.tls != null) {
      owner.execute(this::resumeReading); // input TLS already decrypted raises no event
    }
  }

  void write(ByteBuffer src, CompletableFuture<Void> done) {
    assert owner.inLoop() : "lease used off its loop";
    if (ended || broken) {
      done.completeExceptionally(new ClosedChannelException());
      return;
    }
    boolean queued = writes != null && !writes.isEmpty();
    if (queued && pendingBytes + src.remaining() > owner.maxPendingWriteBytes()) {
      done.completeExceptionally(
          new WritePendingException()); // backpressure: wait for earlier writes
      return;
    }
    if (!queued) {
      boolean sent;
      try {
        while (src.hasRemaining() && io.write(src) > 0) {
          // keep writing while the socket takes it
        }
        sent = !src.hasRemaining() && io.flush(); // TLS may hold the end of the last record
      } catch (IOException e) {
        fail(e);
        done.completeExceptionally(e);
        return;
      }
      if (sent) {
        done.complete(null);
        return;
      }
    }
    if (writes == null) {
      writes = new ArrayDeque<>();
    }
    writes.add(new PendingWrite(src, done));
    pendingBytes += src.remaining();
    updateInterest();
  }

  /** A blocked reader wants to know when the socket is ready for {@code ops} (the transport's
   *  need: TLS may have to write before it can read). */
  void awaitIo(int ops, CompletableFuture<Void> waiter) {
    assert owner.inLoop() : "lease used off its loop";
    if (ended) {
      waiter.complete(null);
      return;
    }
    if (readWaiter != null) {
      readWaiter.complete(null);
    }
    readWaiter = waiter;
    readWaiterOps = ops;
    updateInterest();
  }

  @Override
  public void onReady(int readyOps) {
    assert owner.inLoop() : "lease used off its loop";
    CompletableFuture<Void> w = readWaiter;
    if (w != null && (readyOps & readWaiterOps) != 0) {
      readWaiter = null;
      w.complete(null);
    }
    if ((readyOps & SelectionKey.OP_WRITE) != 0) {
      flushWrites();
    }
    if (!ended && (readyOps & SelectionKey.OP_READ) != 0) {
      if (handler != null && !inputEnded) {
        readIntoHandler();
      } else if (readWaiter == null) {
        disarmRead();
      }
    }
    if (!ended) {
      updateInterest();
    }
  }

  /**
   * Ends this lease on the loop: pending writes fail, a blocked reader is released, the handler
   * is dropped. True when writes were still pending (the stream is then half-written).
   */
  boolean end() {
    assert owner.inLoop() : "lease used off its loop";
    if (ended) {
      return false;
    }
    ended = true;
    handler = null;
    handlerOwner = null;
    CompletableFuture<Void> w = readWaiter;
    readWaiter = null;
    if (w != null) {
      w.complete(null);
    }
    boolean pending = writes != null && !writes.isEmpty();
    if (pending) {
      ClosedChannelException closed = new ClosedChannelException();
      PendingWrite p;
      while ((p = writes.poll()) != null) {
        p.done.completeExceptionally(closed);
      }
    }
    pendingBytes = 0;
    return pending;
  }

  /**
   * The manager closes the socket under its holder (ConnectionManager.close()): ends the lease,
   * and a started handler hears of it once, through onError.
   */
  void abort() {
    ConnectionHandler h = inputEnded ? null : handler;
    Connection c = handlerOwner;
    end();
    if (h != null) {
      try {
        h.onError(c, new AsynchronousCloseException());
      } catch (RuntimeException | Error t) {
        LOG.log(Level.ERROR, "a connection handler's onError threw", t);
      }
    }
  }

  /** True when the stream is not fit for another holder whatever the socket says. */
  boolean unreusable() {
    return outputShutdown || broken || inputEnded;
  }

  private void flushWrites() {
    PendingWrite p;
    while (writes != null && (p = writes.peek()) != null) {
      try {
        int before = p.src.remaining();
        while (p.src.hasRemaining() && io.write(p.src) > 0) {
          // keep writing while the socket takes it
        }
        pendingBytes -= before - p.src.remaining();
        if (p.src.hasRemaining() || !io.flush()) { // TLS may hold the end of the last record
          return;
        }
      } catch (IOException e) {
        fail(e);
        return;
      }
      writes.poll();
      p.done.complete(null);
      if (ended) {
        return;
      }
    }
  }

  private void readIntoHandler() {
    ByteBuffer buf = owner.readBuffer();
    for (int i = 0; handler != null && !ended; i++) {
      if (i == 16) {
        // let other sockets have a turn; TLS may hold decrypted input the selector cannot see
        owner.execute(this::resumeReading);
        return;
      }
      buf.clear();
      int n;
      try {
        n = io.read(buf);
      } catch (IOException e) {
        inputEnded = true;
        broken = true;
        ConnectionHandler h = handler;
        Connection c = handlerOwner;
        handler = null;
        handlerOwner = null;
        try {
          h.onError(c, e);
        } catch (RuntimeException | Error t) {
          LOG.log(Level.ERROR, "a connection handler's onError threw", t);
        }
        return;
      }
      if (n == 0) {
        return;
      }
      if (n < 0) {
        inputEnded = true;
        ConnectionHandler h = handler;
        Connection c = handlerOwner;
        handler = null;
        handlerOwner = null;
        try {
          h.onEof(c);
        } catch (RuntimeException | Error t) {
          LOG.log(Level.ERROR, "a connection handler's onEof threw", t);
        }
        return;
      }
      buf.flip();
      try {
        handler.onInput(handlerOwner, buf);
      } catch (RuntimeException | Error t) {
        LOG.log(Level.ERROR, "a connection handler's onInput threw", t);
      }
    }
  }

  private void resumeReading() {
    if (!ended && handler != null && !inputEnded) {
      readIntoHandler();
      updateInterest();
    }
  }

  /** A write failed: the stream is broken; every queued write fails with the same error. */
  private void fail(IOException e) {
    broken = true;
    if (writes != null) {
      PendingWrite p;
      while ((p = writes.poll()) != null) {
        p.done.completeExceptionally(e);
      }
    }
    pendingBytes = 0;
  }

  /**
   * Sets the socket's interest from what this holder waits for. Read interest is lazy: a socket
   * comes out of the pool still armed for reads and stays so until a read event finds nobody
   * reading ({@link #onReady} then disarms it), which saves two selector updates per hand-out.
   */
  private void updateInterest() {
    if (ended) {
      return;
    }
    int ops = socket.interest & SelectionKey.OP_READ;
    if (handler != null && !inputEnded) {
      ops = SelectionKey.OP_READ;
    }
    if (readWaiter != null) {
      ops |= readWaiterOps;
    }
    if (writes != null && !writes.isEmpty()) {
      ops |= SelectionKey.OP_WRITE;
    }
    socket.interest(ops);
  }

  /** Input arrived for nobody: stop watching until someone reads (level-triggered, or it spins). */
  private void disarmRead() {
    socket.interest(socket.interest & ~SelectionKey.OP_READ);
  }
}
