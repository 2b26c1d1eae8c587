package dev.keepalive.bench.peers;

import dev.keepalive.bench.SinkProcess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.pool.ManagedConnPool;
import org.apache.hc.core5.pool.PoolEntry;
import org.apache.hc.core5.pool.PoolStats;
import org.apache.hc.core5.util.Timeout;

/**
 * An httpcore5 pool ({@code StrictConnPool} or {@code LaxConnPool}) of {@link SocketConnection}s
 * to the sink, set up for the cached-cycle benchmarks, and the cycle itself. Shared by
 * {@link StrictConnPoolBenchmark} and {@link LaxConnPoolBenchmark}, which differ only in the
 * pool they build.
 */
final class HcPool implements PeerState.Checked {
  final SinkProcess sink;
  final InetSocketAddress address;
  final ManagedConnPool<String, SocketConnection> pool;
  final String[] keys;
  /** What the pool must show after every iteration. */
  final int available;

  final int leased;
  final int pending;
  /** The with-queue benchmark's: the blocked key's leased entries and its queued requests. */
  final List<PoolEntry<String, SocketConnection>> blockers = new ArrayList<>();

  final List<Future<PoolEntry<String, SocketConnection>>> queued = new ArrayList<>();
  final AtomicLong queuedAnswered = new AtomicLong();

  /**
   * The equal-safety variant: every lease checks the entry's socket before handing it out (see
   * {@link #stale}), as httpclient5's classic connection manager does with {@code isStale()} when
   * {@code validateAfterInactivity} is 0, but without blocking.
   */
  final boolean validate;

  private HcPool(
      SinkProcess sink,
      ManagedConnPool<String, SocketConnection> pool,
      String[] keys,
      int available,
      int leased,
      int pending,
      boolean validate) {
    this.sink = sink;
    this.validate = validate;
    this.address = sink.address();
    this.pool = pool;
    this.keys = keys;
    this.available = available;
    this.leased = leased;
    this.pending = pending;
  }

  /**
   * {@code keys} keys with {@link Keys#perKey} idle sockets each, in a pool from
   * {@code newPool} (given its total limit: the idle sockets + 16, as keepalive's maxOpen).
   */
  static HcPool cached(
      IntFunction<ManagedConnPool<String, SocketConnection>> newPool, int keys, boolean validate)
      throws Exception {
    int idle = keys * Keys.perKey(keys);
    HcPool p = new HcPool(
        SinkProcess.start(), newPool.apply(idle + 16), Keys.names(keys), idle, 0, 0, validate);
    p.prewarm(Keys.perKey(keys));
    p.verify();
    return p;
  }

  /**
   * One key with one idle socket, and the {@link Keys#BLOCKED} key with its
   * {@link Keys#MAX_PER_KEY} sockets leased and {@link Keys#QUEUED} lease requests waiting
   * (no timeout) behind them; a total limit of 128 (keepalive's default maxOpen).
   */
  static HcPool withQueue(
      IntFunction<ManagedConnPool<String, SocketConnection>> newPool, boolean validate)
      throws Exception {
    HcPool p = new HcPool(
        SinkProcess.start(),
        newPool.apply(128),
        Keys.names(1),
        1,
        Keys.MAX_PER_KEY,
        Keys.QUEUED,
        validate);
    p.prewarm(1);
    for (int i = 0; i < Keys.MAX_PER_KEY; i++) {
      PoolEntry<String, SocketConnection> e = p.lease(Keys.BLOCKED);
      p.connectIfNew(e);
      p.blockers.add(e);
    }
    FutureCallback<PoolEntry<String, SocketConnection>> waiter = new FutureCallback<>() {
      @Override
      public void completed(PoolEntry<String, SocketConnection> result) {
        p.queuedAnswered.incrementAndGet();
      }

      @Override
      public void failed(Exception ex) {
        p.queuedAnswered.incrementAndGet();
      }

      @Override
      public void cancelled() {
        p.queuedAnswered.incrementAndGet();
      }
    };
    for (int i = 0; i < Keys.QUEUED; i++) {
      p.queued.add(p.pool.lease(Keys.BLOCKED, null, Timeout.DISABLED, waiter));
    }
    p.verify();
    return p;
  }

  /**
   * What {@code StrictConnPool.lease(route, null)} and {@code LaxConnPool.lease(route, null)}
   * do (they are not on the interface), then {@code get()}.
   */
  PoolEntry<String, SocketConnection> lease(String key)
      throws InterruptedException, ExecutionException {
    return pool.lease(key, null, Timeout.DISABLED, null).get();
  }

  /** Connects a socket for an entry the pool created empty; true if it had to. */
  boolean connectIfNew(PoolEntry<String, SocketConnection> e) throws IOException {
    if (e.hasConnection()) {
      return false;
    }
    e.assignConnection(SocketConnection.connect(address));
    return true;
  }

  private void prewarm(int perKey) throws Exception {
    List<PoolEntry<String, SocketConnection>> held = new ArrayList<>();
    for (int round = 0; round < perKey; round++) {
      for (String key : keys) {
        PoolEntry<String, SocketConnection> e = lease(key);
        if (!connectIfNew(e)) {
          throw new IllegalStateException("pre-warming: the pool handed out a connected entry");
        }
        held.add(e);
      }
    }
    for (PoolEntry<String, SocketConnection> e : held) {
      pool.release(e, true);
    }
  }

  /** Throws unless the pool shows what it showed after set-up and no queued request moved. */
  public void verify() {
    PoolStats s = pool.getTotalStats();
    if (s.getAvailable() != available || s.getLeased() != leased || s.getPending() != pending) {
      throw new IllegalStateException("expected " + available + " available, " + leased
          + " leased, " + pending + " pending; pool is " + s);
    }
    if (queuedAnswered.get() != 0) {
      throw new IllegalStateException(
          queuedAnswered.get() + " queued requests were answered while measuring");
    }
  }

  /**
   * One cached cycle: lease (connect if the pool had nothing idle; in the equal-safety variant
   * also when the leased socket was stale, its connection discarded first), release as reusable.
   */
  SocketConnection cycle(Worker w) throws InterruptedException, ExecutionException, IOException {
    PoolEntry<String, SocketConnection> e = lease(w.next());
    if (validate && e.hasConnection() && stale(e.getConnection(), w.one)) {
      e.discardConnection(CloseMode.IMMEDIATE);
    }
    if (connectIfNew(e)) {
      w.fresh++;
    } else {
      w.cached++;
    }
    SocketConnection c = e.getConnection();
    pool.release(e, true);
    return c;
  }

  /**
   * The stale check of the equal-safety variants, what keepalive does when a socket leaves its
   * pool: a 1-byte non-blocking read. Nothing to read (0) is a reusable socket; end of stream, a
   * byte the server sent unasked (a late or unsolicited answer) or an error make it stale. The
   * non-blocking form of httpclient5's {@code BHttpConnectionBase.isStale()}, which reads with a
   * 1 ms socket timeout instead (and so waits 1 ms on every healthy socket).
   */
  static boolean stale(SocketConnection c, ByteBuffer one) {
    one.clear();
    try {
      return c.channel.read(one) != 0;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() {
    for (Future<PoolEntry<String, SocketConnection>> f : queued) {
      f.cancel(false);
    }
    for (PoolEntry<String, SocketConnection> e : blockers) {
      e.discardConnection(CloseMode.IMMEDIATE);
    }
    pool.close(CloseMode.IMMEDIATE); // closes every pooled socket
    sink.close();
  }

  /** A benchmark thread's keys and what it was handed. */
  static final class Worker {
    private final String[] mine;
    private int next;
    /** The stale check's buffer. */
    final ByteBuffer one = ByteBuffer.allocateDirect(1);

    long cached;
    long fresh;

    Worker(String[] mine) {
      this.mine = mine;
    }

    String next() {
      String key = mine[next];
      next = next + 1 == mine.length ? 0 : next + 1;
      return key;
    }

    /** Throws unless every lease this iteration found an idle, connected entry. */
    void verify() {
      if (fresh != 0 || cached == 0) {
        throw new IllegalStateException(
            "not a cached benchmark: cached " + cached + ", new connections " + fresh);
      }
    }

    @Override
    public String toString() {
      return "cached " + cached + ", new " + fresh;
    }
  }
}
