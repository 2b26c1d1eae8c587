package dev.keepalive.internal;

import dev.keepalive.Connection;
import dev.keepalive.PoolStats;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One manager's machinery: wires the {@link Pool}'s decisions to the {@link EventLoop}, {@link Dns}
 * and {@link Connector}, checks sockets as they move in and out of the pool, and hands requests,
 * give-backs and lifecycle calls from any thread to the loop.
 */
public final class ManagerCore implements Pool.Io, EventLoop.Driver {
  private static final System.Logger LOG = System.getLogger("dev.keepalive");
  private static final AtomicInteger LOOPS = new AtomicInteger();

  final Settings settings;
  final EventLoop loop;
  private final Pool pool;
  private final Dns dns;
  private final Connector connector;
  private final Tls tls;
  /** Where the loop reads input for handlers; valid only during a handler call. */
  final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
  /** One byte to probe a socket for unread data or EOF. */
  private final ByteBuffer probe = ByteBuffer.allocateDirect(1);
  private volatile PoolStats published = new PoolStats(0, 0, 0, 0, 0);
  private boolean closing;

  public ManagerCore(Settings settings) {
    this.settings = settings;
    this.loop = new EventLoop("keepalive-loop-" + LOOPS.incrementAndGet(), settings.clock());
    this.dns = new Dns(settings.resolver(), loop);
    this.connector = new Connector(loop, settings.bindAddress());
    this.pool = new Pool(settings.maxPerHost(), settings.maxOpen(), settings.keepAliveNanos(),
        settings.timeoutNanos(), settings.expireBatch(), settings.clock(), this);
    this.tls = new Tls(settings);
    dns.attach(pool);
    connector.attach(pool, this::tcpConnected);
    tls.attach(pool);
    loop.start(this);
  }

  // ---- entry points, any thread ----

  /** Submits a new request. False when the loop has ended (the manager is closed). */
  public boolean submit(Request r) {
    r.core = this;
    return onLoop(() -> admit(r));
  }

  /** Cancels an unanswered request; see ConnectionManager.deallocate. */
  public boolean cancel(long id) {
    if (loop.inLoop()) {
      return pool.cancel(id);
    }
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    if (!loop.execute(() -> result.complete(pool.cancel(id)))) {
      return false;
    }
    return result.join();
  }

  public PoolStats stats() {
    return loop.inLoop() ? pool.stats() : published;
  }

  public void shutdown() {
    onLoop(() -> {
      pool.shutdown();
      stopIfDrained();
    });
  }

  /** Shuts down, closes leased sockets after pending deliveries, stops the loop and waits. */
  public void close() {
    onLoop(() -> {
      closing = true;
      pool.shutdown();
      // queued behind the deliveries the shutdown just made
      loop.execute(() -> {
        pool.forEachLeased(s -> {
          Lease l = s.lease;
          s.lease = null;
          if (l != null) {
            l.abort(); // a started handler hears onError once
          }
          pool.release(s, Pool.Disposal.CLOSE);
        });
        loop.stop();
      });
    });
    loop.awaitTermination();
  }

  /** True when {@code c} was handed out by this manager. */
  public boolean owns(Connection c) {
    return c instanceof LeasedConnection && ((LeasedConnection) c).lease.core == this;
  }

  /** Runs {@code task} inline on the loop thread, else hands it to the loop. */
  boolean onLoop(Runnable task) {
    if (loop.inLoop()) {
      task.run();
      return true;
    }
    return loop.execute(task);
  }

  // ---- connections ----

  /** The connection to deliver for an answered request (at delivery time, on the loop). */
  Connection connectionFor(Request r) {
    PooledSocket s = r.socket;
    LeasedConnection c = new LeasedConnection(this, s, r);
    if (!c.lease.ended) {
      s.lease = c.lease; // also keeps the lease (a phantom reference) reachable while leased
    }
    return c;
  }

  /** A holder closed or discarded its connection (any thread). */
  void giveBack(Lease lease, boolean discard) {
    onLoop(() -> takeBack(lease, discard));
  }

  /** A connection became unreachable without close() or discard() (reaper thread). */
  void reclaim(Lease lease) {
    loop.execute(() -> {
      if (!lease.ended) {
        LOG.log(Level.WARNING, "a connection to {0}://{1}:{2} was never closed; its socket was "
            + "discarded (call close() or discard() on every Connection)",
            lease.scheme, lease.addr, String.valueOf(lease.port));
        takeBack(lease, true);
      }
    });
  }

  private void takeBack(Lease lease, boolean discard) {
    PooledSocket s = lease.socket;
    if (lease.ended || s.lease != lease) {
      return;
    }
    boolean halfWritten = lease.end();
    s.lease = null;
    Pool.Disposal disposal;
    if (discard || halfWritten || lease.unreusable() || !flushed(s)) {
      disposal = Pool.Disposal.CLOSE;
    } else {
      int n = probe(s);
      disposal = n == 0 ? Pool.Disposal.POOL : n > 0 ? Pool.Disposal.RESET : Pool.Disposal.CLOSE;
      s.cleanTurn = n == 0 ? loop.turn() : -1;
    }
    pool.release(s, disposal);
    stopIfDrained();
  }

  // ---- Pool.Io ----

  @Override
  public void resolve(Request r) {
    dns.resolve(r);
  }

  @Override
  public void abandonResolve(Request r) {
    dns.abandon(r);
  }

  @Override
  public Failure connect(PooledSocket s, Request r) {
    return connector.connect(s, r);
  }

  @Override
  public boolean isClean(PooledSocket s) {
    // Given back clean in this very turn (a response's completion starting the next request on
    // the loop): no selector poll since that probe, so a second read now would only look at
    // the few microseconds in between, no more than the moment after handing it out. One
    // system call less per request; a socket idle since an earlier turn is probed again.
    if (s.cleanTurn == loop.turn()) {
      return true;
    }
    return probe(s) == 0;
  }

  @Override
  public void watchIdle(PooledSocket s) {
    s.interest(SelectionKey.OP_READ);
  }

  @Override
  public void close(PooledSocket s, boolean reset) {
    Lease l = s.lease;
    if (l != null) {
      l.end();
      s.lease = null;
    }
    SocketChannel ch = s.channel;
    if (!reset && s.tls != null && s.transport != null && ch != null && ch.isOpen()) {
      TlsTransport.closeNotify(s.tls); // handshake done: say goodbye if it can go out now
    }
    if (reset && ch != null && ch.isOpen()) {
      try {
        ch.setOption(StandardSocketOptions.SO_LINGER, 0);
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    Connector.closeChannel(s);
  }

  @Override
  public void answer(Request r) {
    // A socket leaving the pool keeps its read interest (see Lease.updateInterest).
    loop.execute(r);
  }

  // ---- EventLoop.Driver ----

  @Override
  public void onReady(SelectionKey key) {
    if (!key.isValid()) {
      return;
    }
    PooledSocket s = (PooledSocket) key.attachment();
    switch (s.state) {
      case PooledSocket.CONNECTING:
        if (s.tls != null) {
          tls.step(s);
        } else {
          connector.finish(s);
        }
        break;
      case PooledSocket.IDLE: {
        int n = probe(s);
        if (n != 0) {
          pool.idleActivity(s, n > 0);
        }
        break;
      }
      case PooledSocket.LEASED:
        if (s.lease != null) {
          s.lease.onReady(key.readyOps());
        } else {
          s.interest(0); // handed out, not yet delivered: its holder will choose
        }
        break;
      default:
        key.cancel();
    }
  }

  @Override
  public long onTurn() {
    pool.expire();
    publishStats();
    return pool.nextDeadline();
  }

  @Override
  public void onStop() {
    for (SelectionKey key : loop.selector().keys()) {
      try {
        key.channel().close();
      } catch (IOException ignored) {
        // closing everything
      }
    }
    publishStats();
  }

  /** Publishes the pool's counts for readers on other threads, when they changed. */
  void publishStats() {
    PoolStats p = published;
    int idle = pool.idleCount();
    int leased = pool.leasedCount();
    int connecting = pool.connectingCount();
    int pending = pool.pendingCount();
    if (p.idle() != idle || p.leased() != leased || p.connecting() != connecting
        || p.pending() != pending) {
      published = new PoolStats(idle + leased + connecting, idle, leased, connecting, pending);
    }
  }

  // ---- internals ----

  private void admit(Request r) {
    pool.allocate(r);
  }

  /** TCP is up: TLS schemes go on to the handshake, plain ones are ready. */
  private void tcpConnected(PooledSocket s) {
    if (tls.appliesTo(s.host.key)) {
      tls.start(s);
    } else {
      s.transport = new PlainTransport(s.channel);
      pool.connected(s);
    }
  }

  /**
   * Reads at most one byte: 0 when the socket has nothing to say (fit for reuse), 1 when it had
   * unread data, -1 at EOF (TLS: close_notify), error or closed.
   */
  private int probe(PooledSocket s) {
    SocketChannel ch = s.channel;
    if (ch == null || !ch.isOpen()) {
      return -1;
    }
    probe.clear();
    try {
      // TLS: read through the TLS layer, which also sees plaintext it already decrypted and
      // consumes handshake records (session tickets) that are no data for a holder
      if (s.tls == null) {
        return ch.read(probe);
      }
      int n = s.transport.read(probe);
      // nothing to decrypt yet, but part of a record is buffered: unread data all the same
      return n == 0 && s.records.midRecord() ? 1 : n;
    } catch (IOException e) {
      return -1;
    }
  }

  /** True when the transport holds nothing unsent (TLS: no part of a record; channel() writes). */
  private static boolean flushed(PooledSocket s) {
    try {
      return s.transport == null || s.transport.flush();
    } catch (IOException e) {
      return false;
    }
  }

  /** After shutdown, stop the loop once no socket is left (close() stops it itself). */
  private void stopIfDrained() {
    if (pool.isShutdown() && !closing && pool.open() == 0) {
      loop.stop();
    }
  }
}
