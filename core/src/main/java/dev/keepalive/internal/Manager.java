package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.CloseReason;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import dev.keepalive.HealthCheck;
import dev.keepalive.PoolStats;
import dev.keepalive.PoolTotals;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * One manager's machinery, behind the public entry point {@link ManagerCore}. It wires the three
 * layers:
 * the pool's decisions ({@link Pool}, through {@link Pool.Io}), the sockets ({@link Dialer},
 * {@link Dns}, {@link SocketIo}, through {@link Dialer.Events} and {@link Dns.Answers}) and the
 * hand-outs ({@link Lease}, through {@link Lease.Owner}), runs them on one {@link EventLoop},
 * checks sockets as they move in and out of the pool, and delivers each request's answer. It also
 * counts the warm-ups of a prewarm ({@link Warmup}) and, when leak detection is on, watches how
 * long each hand-out is held ({@link #leaks}).
 */
final class Manager
    implements Pool.Io, EventLoop.Driver, Dialer.Events, Dns.Answers<Request>, Lease.Owner {
  private static final System.Logger LOG = System.getLogger("dev.keepalive");

  /** Answers made once the loop took no more tasks (it is stopping): onStop delivers them. */
  private final java.util.ArrayDeque<Request> unsent = new java.util.ArrayDeque<>();

  private static final AtomicInteger LOOPS = new AtomicInteger();
  private static final PoolStats NONE = new PoolStats(0, 0, 0, 0, 0);
  /** Far-future values are capped so deadline arithmetic cannot overflow. */
  private static final long MAX_NANOS = Long.MAX_VALUE / 4;

  private final Settings settings;
  private final EventLoop loop;
  private final Pool pool;
  private final Dns<Request> dns;
  private final Dialer dialer;
  /** Where the loop reads input for handlers; valid only during a handler call. */
  private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
  /** One byte to probe a socket for unread data or EOF. */
  private final ByteBuffer probe = ByteBuffer.allocateDirect(1);
  /** The pool's counts for other threads; written by the loop only. */
  private volatile PoolStats published = new PoolStats(0, 0, 0, 0, 0);
  /** The totals when the loop ended (written by the loop as it stops), else null. */
  private volatile PoolTotals finalTotals;
  /** close() began; loop only. */
  private boolean closing;
  /**
   * Leak detection (loop only): hand-outs not yet given back, by when holding them becomes a
   * leak; each is reported once, then dropped. Empty, and never touched, when the option is off.
   */
  private final LongHeap<Lease> leaks = new LongHeap<>();
  /** How long a hand-out may be held before it is reported; 0 for off. */
  private final long leakNanos;
  /** The ids of warm-ups, below 0 so they never meet a request id (loop only). */
  private long warmIds;
  /** Listeners, JFR and the DEBUG log of closes. */
  private final Observers obs;
  /** The pool keys of recent allocations (any thread). */
  private final KeyCache keys = new KeyCache();

  Manager(Settings settings) {
    this(settings, List.of());
  }

  Manager(Settings settings, List<ConnectionListener> listeners) {
    this.settings = settings;
    this.obs = new Observers(listeners, settings.clock());
    this.loop = new EventLoop("keepalive-loop-" + LOOPS.incrementAndGet(), settings.clock());
    this.dns = new Dns<>(settings.resolver(), loop, this);
    this.dialer = new Dialer(loop, settings, this);
    this.pool = new Pool(
        settings.maxPerHost(),
        settings.maxOpen(),
        settings.keepAliveNanos(),
        settings.timeoutNanos(),
        settings.expireBatch(),
        settings.poolOptions(),
        settings.clock(),
        this);
    this.leakNanos = Math.min(settings.leakDetectionNanos(), MAX_NANOS);
    if (settings.healthCheck() != null) {
      pool.healthCheckAfter(settings.healthCheckAfterNanos());
    }
    loop.start(this);
  }

  // ---- entry points, any thread ----

  /**
   * Submits a request. Its answer goes later, on the loop, to {@code onConnection} or
   * {@code onFailure}, exactly once, unless it is cancelled. False when the loop has ended (the
   * manager is closed).
   *
   * @param fresh never served from the pool: always a NEW connection
   */
  boolean submit(
      long id,
      Allocation a,
      boolean fresh,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure) {
    return submit(id, a, fresh, onConnection, onFailure, null);
  }

  /**
   * {@link #submit(long, Allocation, boolean, BiConsumer, Consumer)} with the stack of the
   * allocate() call, for leak reports (null when leak detection is off).
   */
  boolean submit(
      long id,
      Allocation a,
      boolean fresh,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure,
      Throwable site) {
    Request r =
        new Request(id, keys.of(a), a, timeoutOf(a), fresh, onConnection, onFailure, site, 0);
    obs.submitted(r);
    if (loop.inLoop()) { // a callback asking again: no task, and no lambda to allocate
      pool.allocate(r);
      return true;
    }
    return loop.execute(() -> pool.allocate(r));
  }

  /**
   * Opens connections for {@code a}'s key until it has {@code n} sockets, where the limits leave
   * room without evicting, into the idle pool; see ConnectionManager.prewarm. Exactly one of
   * {@code onOpened} (how many it opened) and {@code onFailure} (the first failure) is called,
   * once, on the loop. False when the loop has ended.
   */
  boolean prewarm(Allocation a, int n, IntConsumer onOpened, Consumer<Failure> onFailure) {
    PoolKey key = keys.of(a);
    long timeout = timeoutOf(a);
    // one warm-up per socket it may open: a key never has more than maxPerHost
    int count = Math.min(n, settings.maxPerHost());
    Warmup w = new Warmup(count, onOpened, onFailure);
    return onLoop(() -> {
      for (int i = 0; i < count; i++) {
        pool.allocate(new Request(--warmIds, key, a, timeout, true, w, w, null, n));
      }
    });
  }

  /**
   * Keeps at least {@code minIdle} idle sockets open for {@code a}'s key (0 removes the minimum);
   * see ConnectionManager.keepWarm. False when the loop has ended.
   */
  boolean keepWarm(Allocation a, int minIdle) {
    PoolKey key = keys.of(a);
    long timeout = timeoutOf(a);
    int target = settings.maxPerHost();
    return onLoop(() -> pool.keepWarm(
        key,
        minIdle,
        () -> new Request(--warmIds, key, a, timeout, true, IGNORED, IGNORED, null, target)));
  }

  /** The recipient of a minimum's warm-ups: the pool counts their outcome itself. */
  private static final Ignored IGNORED = new Ignored();

  private static final class Ignored
      implements BiConsumer<Connection, FromCache>, Consumer<Failure> {
    @Override
    public void accept(Connection none, FromCache how) {
      // opened a socket for the pool, or found no need or room
    }

    @Override
    public void accept(Failure f) {
      // counted in the totals; the pool backs off
    }
  }

  /** Cancels an unanswered request; see ConnectionManager.deallocate. */
  boolean cancel(long id) {
    if (loop.inLoop()) {
      return pool.cancel(id);
    }
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    if (!loop.execute(() -> result.complete(pool.cancel(id)))) {
      return false;
    }
    return result.join();
  }

  PoolStats stats() {
    return loop.inLoop() ? pool.stats() : published;
  }

  /** The counts of one key, exact (asked of the loop); all zero once the loop has ended. */
  PoolStats stats(Allocation a) {
    PoolKey key = keys.of(a);
    return call(() -> pool.stats(key), NONE);
  }

  /**
   * The running totals, exact: asked of the loop (inline on it); once the loop has ended, the
   * final totals it left.
   */
  PoolTotals totals() {
    PoolTotals t = call(pool::totals, null);
    if (t == null) {
      loop.awaitTermination(); // it may be draining its last tasks: its final totals come after
      t = finalTotals;
    }
    return t;
  }

  /** Closes every idle socket now, and returns once they are closed. */
  void evictIdle() {
    call(
        () -> {
          pool.evictIdle();
          publishStats();
          return null;
        },
        null);
  }

  /**
   * Retires every open socket {@code which} selects (see ConnectionManager.retire) and returns
   * how many; 0 once the loop has ended. An exception of {@code which} propagates as thrown.
   */
  int retire(Predicate<? super ConnectionInfo> which) {
    Integer n = call(
        () -> {
          long now = settings.clock().nanoTime();
          try {
            return pool.retire(slot -> which.test(Observers.info(slot, now, null)));
          } finally {
            publishStats();
          }
        },
        0);
    return n;
  }

  void shutdown() {
    onLoop(() -> {
      pool.shutdown();
      stopIfDrained();
    });
  }

  /** Shuts down, closes leased sockets after pending deliveries, stops the loop and waits. */
  void close() {
    onLoop(() -> {
      closing = true;
      pool.shutdown();
      // queued behind the deliveries the shutdown just made
      loop.execute(() -> {
        closeLeased();
        loop.stop();
      });
    });
    loop.awaitTermination();
  }

  /** Closes every leased socket; a started handler hears onError once, a blocked reader wakes. */
  private void closeLeased() {
    pool.forEachLeased(slot -> {
      SocketIo s = (SocketIo) slot.io;
      Lease l = (Lease) s.listener;
      s.listener = null;
      if (l != null) {
        unwatchLeak(l);
        l.abort();
      }
      pool.giveBack(slot, Pool.Disposal.CLOSE, CloseReason.SHUTDOWN, Pool.NO_LIMIT, Pool.NO_LIMIT);
    });
  }

  /** What ended the event loop other than close() (an Error on the loop), or null. */
  Throwable failure() {
    return loop.failure();
  }

  /** True when {@code c} was handed out by this manager. */
  boolean owns(Connection c) {
    return c instanceof LeasedConnection && ((LeasedConnection) c).lease.owner == this;
  }

  // ---- Lease.Owner (the hand-out layer's view of the loop) ----

  @Override
  public boolean inLoop() {
    return loop.inLoop();
  }

  @Override
  public boolean execute(Runnable task) {
    return loop.execute(task);
  }

  @Override
  public boolean onLoop(Runnable task) {
    if (loop.inLoop()) {
      task.run();
      return true;
    }
    return loop.execute(task);
  }

  @Override
  public ByteBuffer readBuffer() {
    return readBuffer;
  }

  @Override
  public long maxPendingWriteBytes() {
    return settings.maxPendingWriteBytes();
  }

  @Override
  public void giveBack(Lease lease, boolean discard) {
    if (loop.inLoop()) { // the common case: given back in its callback; no lambda to allocate
      takeBack(lease, discard, CloseReason.DISCARDED);
    } else {
      loop.execute(() -> takeBack(lease, discard, CloseReason.DISCARDED));
    }
  }

  @Override
  public void reclaim(Lease lease) {
    loop.execute(() -> {
      if (!lease.ended) {
        Slot slot = (Slot) lease.socket.owner;
        if (slot != null && slot.state == Slot.State.CHECKING && lease.socket.listener == lease) {
          // a health check's connection, not a hand-out: its verdict can never come now
          LOG.log(
              Level.WARNING,
              "a health check of a connection to {0}://{1}:{2} became unreachable before its "
                  + "verdict (nothing held the future it returned); it counts as failed and the "
                  + "socket was closed",
              lease.scheme,
              lease.addr,
              String.valueOf(lease.port));
          checkDone(lease, false);
          return;
        }
        if (lease.allocationSite == null) {
          obs.leaked((Slot) lease.socket.owner, lease.scheme, lease.addr, lease.port, true, null);
          LOG.log(
              Level.WARNING,
              "a connection to {0}://{1}:{2} was never closed; its socket was "
                  + "discarded (call close() or discard() on every Connection)",
              lease.scheme,
              lease.addr,
              String.valueOf(lease.port));
        } else {
          obs.leaked(
              (Slot) lease.socket.owner,
              lease.scheme,
              lease.addr,
              lease.port,
              true,
              lease.allocationSite);
          LOG.log(
              Level.WARNING,
              "a connection to " + lease.scheme + "://" + lease.addr + ":"
                  + lease.port + " was never closed; its socket was discarded (call close() or "
                  + "discard() on every Connection); the stack trace shows the allocate() call that "
                  + "obtained it",
              lease.allocationSite);
        }
        takeBack(lease, true, CloseReason.LEAK_RECLAIMED);
      }
    });
  }

  // ---- Pool.Io ----

  @Override
  public void resolve(Request r) {
    obs.resolveStarted(r, r.key.connectHost());
    dns.resolve(r.key.connectHost(), r);
  }

  @Override
  public void abandonResolve(Request r) {
    dns.abandon(r);
  }

  @Override
  public Failure connect(Slot slot, Request r) {
    KeyState k = slot.owner;
    SocketIo s =
        new SocketIo(slot, k.key.scheme, k.key.host, k.literalHost, k.key.port, r.addresses);
    if (k.key.proxy != null) {
      s.tunnelThrough(k.key);
    }
    s.unixSocket = k.key.unixSocket;
    slot.io = s;
    return dialer.dial(s);
  }

  @Override
  public boolean isClean(Slot slot) {
    SocketIo s = (SocketIo) slot.io;
    // Given back clean in this very turn (a response's completion starting the next request on
    // the loop): no selector poll since that probe, so a second read now would only look at
    // the few microseconds in between, no more than the moment after handing it out. One
    // system call less per request; a socket idle since an earlier turn is probed again.
    if (s.cleanTurn == loop.turn()) {
      return true;
    }
    return s.probe(probe) == 0;
  }

  @Override
  public void watchIdle(Slot slot) {
    ((SocketIo) slot.io).interest(SelectionKey.OP_READ);
  }

  @Override
  public void close(Slot slot, boolean reset) {
    SocketIo s = (SocketIo) slot.io;
    if (s == null) {
      return; // never got as far as a socket
    }
    Lease l = (Lease) s.listener;
    if (l != null) {
      unwatchLeak(l);
      l.end();
      s.listener = null;
    }
    s.close(reset);
  }

  @Override
  public void queued(Request r) {
    obs.queued(r);
  }

  @Override
  public void cancelled(Request r) {
    obs.cancelled(r);
  }

  @Override
  public void givenBack(Slot s, boolean pooled) {
    obs.givenBack(s, pooled);
  }

  @Override
  public void closing(Slot s, CloseReason why) {
    obs.closing(s, why);
  }

  @Override
  public void answer(Request r) {
    obs.answered(r);
    // A socket leaving the pool keeps its read interest (see Lease.updateInterest).
    if (!loop.execute(() -> deliver(r))) {
      unsent.add(r); // the loop is stopping: onStop delivers it, off the pool's stack
    }
  }

  /**
   * Lends the socket to the health check in a lease of its own, and runs the check in a later
   * task (off the pool's stack: the check may complete at once).
   */
  @Override
  public void check(Slot slot, Request r) {
    SocketIo s = (SocketIo) slot.io;
    Allocation a = r.allocation;
    LeasedConnection c = new LeasedConnection(
        this, s, a.scheme(), a.addr(), a.port(), FromCache.DEFERRED, false, null, 0);
    s.listener = c.lease;
    loop.execute(() -> runCheck(c));
  }

  // ---- Dns.Answers ----

  @Override
  public void resolved(Request r, List<InetAddress> addresses) {
    obs.resolveEnded(r, r.key.connectHost(), addresses, null);
    pool.resolved(r, addresses);
  }

  @Override
  public void failed(Request r, Failure f) {
    obs.resolveEnded(r, r.key.connectHost(), null, f);
    pool.resolveFailed(r, f);
  }

  // ---- Dialer.Events ----

  @Override
  public void connected(SocketIo s) {
    s.trace = null;
    pool.connected((Slot) s.owner, s.tcpConnectedAt);
  }

  @Override
  public void failed(SocketIo s, Failure f) {
    s.trace = null;
    pool.connectFailed((Slot) s.owner, f);
  }

  @Override
  public boolean observing() {
    return obs.observesConnects();
  }

  @Override
  public void attemptStarted(SocketIo s, InetSocketAddress to) {
    obs.attemptStarted(s, to);
  }

  @Override
  public void attemptEnded(SocketIo s, InetSocketAddress to, long nanos, Failure f) {
    obs.attemptEnded(s, to, nanos, f);
  }

  @Override
  public void stageStarted(SocketIo s, boolean tls) {
    obs.stageStarted(s, tls);
  }

  @Override
  public void stageEnded(SocketIo s, boolean tls, long nanos, Failure f) {
    obs.stageEnded(s, tls, nanos, f);
  }

  // ---- EventLoop.Driver ----

  @Override
  public void onReady(SelectionKey key) {
    if (!key.isValid()) {
      return;
    }
    SocketIo s = (SocketIo) key.attachment();
    Slot slot = (Slot) s.owner;
    switch (slot.state) {
      case CONNECTING:
        dialer.onReady(s);
        break;
      case IDLE: {
        int n = s.probe(probe);
        if (n != 0 && n != SocketIo.PART_RECORD) { // a part record: its rest raises another event
          pool.idleActivity(slot, n > 0, n == SocketIo.PROBE_ERROR);
        }
        break;
      }
      case LEASED:
      case CHECKING: // the check's lease listens
        if (s.listener != null) {
          s.listener.onReady(key.readyOps());
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
    boolean dialsWait = dialer.newTurn();
    pool.expire();
    long next = dialsWait ? settings.clock().nanoTime() : pool.nextDeadline(); // no sleep then
    if (!leaks.isEmpty()) {
      next = reportLeaks(next);
    }
    publishStats();
    return next;
  }

  @Override
  public void onStop() {
    Throwable died = loop.failure();
    if (died != null) {
      // The loop ended on an Error: answer every pending request once (inline: the loop takes no
      // more tasks), and close what holders have, so that nobody waits for it.
      closing = true;
      try {
        pool.shutdown(new Failure(
            Failure.Function.SHUTDOWN, null, "Connection manager's event loop failed: " + died));
        closeLeased();
      } catch (Throwable e) {
        LOG.log(Level.ERROR, "answering the requests of a failed event loop failed", e);
      }
    }
    for (Request r; (r = unsent.poll()) != null; ) {
      try {
        deliver(r);
      } catch (Throwable e) { // a recipient's own failure must not keep the others unanswered
        LOG.log(Level.ERROR, "delivering an answer while the event loop stops failed", e);
      }
    }
    for (SelectionKey key : loop.selector().keys()) {
      try {
        key.channel().close();
      } catch (java.io.IOException ignored) {
        // closing everything
      }
    }
    publishStats();
    finalTotals = pool.totals();
  }

  // ---- internals ----

  /** Delivers an answered request to its recipient, on the loop, off the stack that decided. */
  private void deliver(Request r) {
    publishStats();
    Failure f = r.failure;
    if (f != null) {
      r.onFailure.accept(f);
      return;
    }
    if (r.isWarm()) {
      r.onConnection.accept(null, r.fromCache); // NEW: it opened a socket (now idle); null: none
      return;
    }
    Slot slot = r.slot;
    SocketIo s = (SocketIo) slot.io;
    Allocation a = r.allocation;
    Throwable site = r.site; // null unless leak detection is on
    long leakDeadline = site == null ? 0 : settings.clock().nanoTime() + leakNanos;
    LeasedConnection c = new LeasedConnection(
        this,
        s,
        a.scheme(),
        a.addr(),
        a.port(),
        r.fromCache,
        slot.state != Slot.State.LEASED,
        site,
        leakDeadline);
    if (!c.lease.ended) {
      s.listener = c.lease; // also keeps the lease (a phantom reference) reachable while leased
      if (site != null) {
        leaks.add(c.lease);
      }
    }
    r.onConnection.accept(c, r.fromCache);
  }

  /**
   * Reports each hand-out held past the leak threshold, once, with the stack of the allocate()
   * call that obtained it; the connection keeps working. Returns the earlier of {@code next} and
   * the next hand-out's threshold.
   */
  private long reportLeaks(long next) {
    long now = settings.clock().nanoTime();
    Lease l;
    while ((l = leaks.peek()) != null && l.leakDeadline - now <= 0) {
      leaks.remove(l);
      obs.leaked((Slot) l.socket.owner, l.scheme, l.addr, l.port, false, l.allocationSite);
      LOG.log(
          Level.WARNING,
          "a connection to " + l.scheme + "://" + l.addr + ":" + l.port
              + " has been held for more than " + Duration.ofNanos(leakNanos)
              + " without close() or "
              + "discard() (leak detection); it keeps working. The stack trace shows the allocate() "
              + "call that obtained it",
          l.allocationSite);
    }
    if (l != null && l.leakDeadline - next < 0) {
      next = l.leakDeadline;
    }
    return next;
  }

  /** The hand-out is over: no leak report for it. */
  private void unwatchLeak(Lease l) {
    if (l.heapIndex() >= 0) {
      leaks.remove(l);
    }
  }

  /** @param ifDiscarded why it is closed when {@code discard} */
  private void takeBack(Lease lease, boolean discard, CloseReason ifDiscarded) {
    SocketIo s = lease.socket;
    if (lease.ended || s.listener != lease) {
      return;
    }
    if (((Slot) s.owner).state == Slot.State.CHECKING) {
      checkDone(lease, false); // the check gave its connection up: it failed
      return;
    }
    unwatchLeak(lease);
    boolean halfWritten = lease.end();
    s.listener = null;
    Pool.Disposal disposal;
    CloseReason why;
    if (discard) {
      disposal = Pool.Disposal.CLOSE;
      why = ifDiscarded;
    } else if (lease.unreusable()) {
      disposal = Pool.Disposal.CLOSE;
      why = CloseReason.ERROR;
    } else if (halfWritten || !s.flushed()) {
      disposal = Pool.Disposal.CLOSE;
      why = CloseReason.DISCARDED;
    } else {
      int n = s.probe(probe);
      // part of a TLS record: pooled, but not handed out until the record is whole (isClean)
      disposal = n == 0 || n == SocketIo.PART_RECORD
          ? Pool.Disposal.POOL
          : n > 0 ? Pool.Disposal.RESET : Pool.Disposal.CLOSE;
      why = n > 0 ? CloseReason.UNREAD_DATA : CloseReason.PEER_CLOSED;
      s.cleanTurn = n == 0 ? loop.turn() : -1;
    }
    pool.giveBack((Slot) s.owner, disposal, why, lease.keepAliveTimeoutNanos, lease.keepAliveMax);
    stopIfDrained();
  }

  /**
   * Runs the health check on {@code c}, unless its lease ended meanwhile (the request left). Its
   * outcome comes back in a later task, whatever thread completes it; the callback keeps the
   * connection reachable until then (a check that drops its stage, so that it can never complete,
   * lets the reaper fail it).
   */
  private void runCheck(LeasedConnection c) {
    Lease lease = c.lease;
    if (lease.ended || lease.socket.listener != lease) {
      return;
    }
    HealthCheck check = settings.healthCheck();
    CompletionStage<Boolean> stage;
    try {
      stage = check.check(c);
    } catch (RuntimeException | Error e) {
      LOG.log(Level.WARNING, "a health check threw; its socket was closed", e);
      checkDone(lease, false);
      return;
    }
    if (stage == null) {
      checkDone(lease, false);
      return;
    }
    stage.whenComplete((healthy, error) ->
        loop.execute(() -> checkDone(c.lease, error == null && Boolean.TRUE.equals(healthy))));
  }

  /**
   * The check on {@code lease} ended: the lease ends (handler dropped, writes still pending fail)
   * and the socket is probed as at a give-back; the pool hears whether it is fit to hand out.
   */
  private void checkDone(Lease lease, boolean healthy) {
    SocketIo s = lease.socket;
    if (lease.ended || s.listener != lease) {
      return; // already decided, or the request left and the socket was closed
    }
    if (lease.markHolderDone()) {
      lease.clear(); // ended here: never reaped
    }
    boolean halfWritten = lease.end();
    s.listener = null;
    boolean fit =
        healthy && !halfWritten && !lease.unreusable() && s.flushed() && s.probe(probe) == 0;
    pool.checked((Slot) s.owner, fit);
  }

  /** Publishes the pool's counts for readers on other threads, when they changed. */
  private void publishStats() {
    PoolStats p = published;
    int idle = pool.idleCount();
    int leased = pool.leasedCount();
    int connecting = pool.connectingCount();
    int pending = pool.pendingCount();
    if (p.idle() != idle
        || p.leased() != leased
        || p.connecting() != connecting
        || p.pending() != pending) {
      published = new PoolStats(idle + leased + connecting, idle, leased, connecting, pending);
    }
  }

  /** After shutdown, stop the loop once no socket is left (close() stops it itself). */
  private void stopIfDrained() {
    if (pool.isShutdown() && !closing && pool.open() == 0) {
      loop.stop();
    }
  }

  /**
   * Runs {@code task} on the loop and returns its result: inline on the loop thread, else waiting
   * for it; {@code ifEnded} when the loop has ended.
   */
  private <T> T call(Supplier<T> task, T ifEnded) {
    if (loop.inLoop()) {
      return task.get();
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    boolean queued = loop.execute(() -> {
      try {
        result.complete(task.get());
      } catch (RuntimeException | Error e) {
        result.completeExceptionally(e);
      }
    });
    if (!queued) {
      return ifEnded;
    }
    try {
      return result.join();
    } catch (CompletionException e) {
      // the task's own exception, as the caller would have met it on the loop thread
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw e;
    }
  }

  /** A request's own timeout in nanos, or -1 for the manager's. */
  private static long timeoutOf(Allocation a) {
    Duration t = a.timeout();
    return t == null ? -1 : nanos(t);
  }

  private static long nanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * One prewarm(): counts the answers of its warm-ups (one per socket it may open) and reports
   * once, on the loop: how many opened a socket, or the first failure.
   */
  private static final class Warmup
      implements BiConsumer<Connection, FromCache>, Consumer<Failure> {
    private final IntConsumer onOpened;
    private final Consumer<Failure> onFailure;
    private int unanswered;
    private int opened;
    private boolean reported;

    Warmup(int warmUps, IntConsumer onOpened, Consumer<Failure> onFailure) {
      this.unanswered = warmUps;
      this.onOpened = onOpened;
      this.onFailure = onFailure;
    }

    /** A warm-up's answer: NEW when it opened a socket, null when it found no need or room. */
    @Override
    public void accept(Connection none, FromCache how) {
      if (how == FromCache.NEW) {
        opened++;
      }
      if (--unanswered == 0 && !reported) {
        reported = true;
        onOpened.accept(opened);
      }
    }

    @Override
    public void accept(Failure f) {
      unanswered--;
      if (!reported) {
        reported = true;
        onFailure.accept(f);
      }
    }
  }
}
