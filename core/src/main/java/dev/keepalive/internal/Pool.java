package dev.keepalive.internal;

import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pool's decisions: which request gets which socket, when to connect, evict, expire, time out
 * and answer. Confined to one thread (the event loop) and free of socket I/O, which it asks of an
 * {@link Io}; driven by a {@link Clock}, so it can be tested without sockets or real time.
 *
 * <p>State:
 * <ul>
 *   <li>{@code hosts}: key to {@link Host} (active count, idle sockets, waiting requests); a host
 *       is dropped when nothing refers to it.
 *   <li>{@code idle}: every idle socket, by host (newest first) and by age (oldest first).
 *   <li>{@code leased}: every leased socket, so close() can find them.
 *   <li>{@code queue}: waiting requests in fair arrival order across keys.
 *   <li>{@code tracked}/{@code deadlines}: unanswered requests by id and by deadline; a request
 *       answered at once from the pool is never tracked.
 *   <li>counts: {@code connecting}, {@code resolving}; open = idle + leased + connecting.
 * </ul>
 *
 * <p>Invariants: open never exceeds maxOpen, a host's active count never exceeds maxPerHost, a
 * socket is in at most one of idle/leased/connecting, every tracked request is answered once.
 */
public final class Pool {
  /** The I/O the pool asks for. None of these may call back into the pool synchronously. */
  public interface Io {
    /** Starts looking up r's host; the answer comes later through resolved()/resolveFailed(). */
    void resolve(Request r);

    /** Forgets r's lookup (the request timed out, was cancelled or shut down). */
    void abandonResolve(Request r);

    /**
     * Starts connecting {@code s} for {@code r}; the answer comes later through connected() or
     * connectFailed(). Returns a failure instead when it could not even start.
     */
    Failure connect(PooledSocket s, Request r);

    /** True when {@code s}, leaving the pool, has nothing unread and no EOF. */
    boolean isClean(PooledSocket s);

    /** {@code s} entered the pool: watch it for activity. */
    void watchIdle(PooledSocket s);

    /** Closes {@code s} for good; {@code reset} closes abortively (RST). */
    void close(PooledSocket s, boolean reset);

    /** {@code r} has its outcome: deliver it later, off the current stack. */
    void answer(Request r);
  }

  /** What to do with a socket its holder gives back. */
  public enum Disposal {
    POOL, CLOSE, RESET
  }

  private static final long MAX_NANOS = Long.MAX_VALUE / 4;

  /**
   * Most idle sockets one {@link #expire()} closes for keep-alive. Closing a connected, registered
   * socket costs four system calls (the JDK's getsockopt and shutdown, which sends the FIN, then
   * epoll_ctl and close when the selector deregisters it): 14-17 us of loop CPU on a 2-core VM
   * over loopback, so 10,000 sockets expiring together stalled the loop for 180-350 ms in one
   * turn. In batches the loop turns again at once (the next deadline has passed) and serves tasks
   * and I/O between them; 32 closes are 0.5-1.5 ms there (bench/run-idle-bench.sh).
   */
  public static final int DEFAULT_EXPIRE_BATCH =
      Math.max(1, Integer.getInteger("dev.keepalive.expireBatch", 32));

  private final int maxPerHost;
  private final int maxOpen;
  private final long keepAliveNanos;
  private final long defaultTimeoutNanos;
  private final int expireBatch;
  private final Clock clock;
  private final Io io;

  private final Map<PoolKey, Host> hosts = new HashMap<>();
  private final IdleSockets idle = new IdleSockets();
  private final SocketList leased = new SocketList();
  private final RequestQueue queue;
  private final Map<Long, Request> tracked = new HashMap<>();
  private final LongHeap<Request> deadlines = new LongHeap<>();
  private int connecting;
  private int resolving;
  private boolean shutdown;
  /** The last expire() left idle sockets past their keep-alive for the next turn. */
  private boolean expiryBehind;

  public Pool(int maxPerHost, int maxOpen, long keepAliveNanos, long defaultTimeoutNanos,
      Clock clock, Io io) {
    this(maxPerHost, maxOpen, keepAliveNanos, defaultTimeoutNanos, DEFAULT_EXPIRE_BATCH, clock, io);
  }

  /** @param expireBatch most idle sockets closed for keep-alive per {@link #expire()} (>= 1) */
  public Pool(int maxPerHost, int maxOpen, long keepAliveNanos, long defaultTimeoutNanos,
      int expireBatch, Clock clock, Io io) {
    if (expireBatch < 1) {
      throw new IllegalArgumentException("expireBatch must be >= 1, was " + expireBatch);
    }
    this.maxPerHost = maxPerHost;
    this.maxOpen = maxOpen;
    // far-future values are capped so deadline arithmetic cannot overflow
    this.keepAliveNanos = Math.min(keepAliveNanos, MAX_NANOS);
    this.defaultTimeoutNanos = Math.min(defaultTimeoutNanos, MAX_NANOS);
    this.expireBatch = expireBatch;
    this.clock = clock;
    this.io = io;
    this.queue = new RequestQueue(maxPerHost);
  }

  // ---- requests ----

  /**
   * A new request: served at once from the pool when an idle socket of its key is there (and
   * clean); otherwise resolved (unless its host is a literal address), queued or connected.
   */
  public void allocate(Request r) {
    if (shutdown) {
      answer(r, Failure.SHUTDOWN);
      return;
    }
    Host h = host(r.key);
    r.host = h;
    if (h.active < maxPerHost) {
      PooledSocket s = takeIdle(h);
      if (s != null) {
        lease(s, r, FromCache.IMMEDIATE);
        return;
      }
    }
    long timeout = r.timeoutNanos > 0 ? Math.min(r.timeoutNanos, MAX_NANOS) : defaultTimeoutNanos;
    r.deadline = clock.nanoTime() + timeout;
    tracked.put(r.id, r);
    deadlines.add(r);
    if (r.key.literal != null) {
      r.addresses = List.of(r.key.literal);
      enqueue(r);
    } else {
      r.state = Request.RESOLVING;
      h.resolving++;
      resolving++;
      io.resolve(r);
    }
  }

  /** The lookup for {@code r} answered. */
  public void resolved(Request r, List<InetAddress> addresses) {
    if (r.state != Request.RESOLVING) {
      return;
    }
    stopResolving(r);
    r.addresses = addresses;
    enqueue(r);
  }

  /** The lookup for {@code r} failed. */
  public void resolveFailed(Request r, Failure f) {
    if (r.state != Request.RESOLVING) {
      return;
    }
    stopResolving(r);
    answer(r, f);
    forgetIfUnused(r.host);
  }

  /**
   * Cancels an unanswered request in any phase; its slots are released and it is never answered.
   * False when the id is unknown or already answered.
   */
  public boolean cancel(long id) {
    Request r = tracked.get(id);
    if (r == null) {
      return false;
    }
    withdraw(r);
    untrack(r);
    r.state = Request.CANCELLED;
    forgetIfUnused(r.host);
    pump();
    return true;
  }

  // ---- sockets ----

  /** {@code s} finished connecting: hand it to its request. */
  public void connected(PooledSocket s) {
    if (s.state != PooledSocket.CONNECTING) {
      return;
    }
    Request r = s.request;
    s.request = null;
    connecting--;
    s.state = PooledSocket.LEASED;
    leased.addLast(s);
    r.socket = s;
    r.fromCache = FromCache.NEW;
    answer(r, null);
  }

  /** {@code s} could not connect: close it and answer its request with {@code f}. */
  public void connectFailed(PooledSocket s, Failure f) {
    if (s.state != PooledSocket.CONNECTING) {
      return;
    }
    Request r = s.request;
    dropConnecting(s);
    answer(r, f);
    forgetIfUnused(s.host);
    pump();
  }

  /** A holder gave {@code s} back: pool it, or close it, then serve whoever waits. */
  public void release(PooledSocket s, Disposal disposal) {
    if (s.state != PooledSocket.LEASED) {
      return;
    }
    Host h = s.host;
    leased.remove(s);
    h.active--;
    if (disposal == Disposal.POOL && !shutdown) {
      s.state = PooledSocket.IDLE;
      s.idleSince = clock.nanoTime();
      idle.add(s);
      io.watchIdle(s);
    } else {
      s.state = PooledSocket.CLOSED;
      io.close(s, disposal == Disposal.RESET);
    }
    queue.refresh(h);
    forgetIfUnused(h);
    pump();
  }

  /** Activity on idle {@code s} (data, EOF or error): it is closed at once. */
  public void idleActivity(PooledSocket s, boolean reset) {
    if (s.state != PooledSocket.IDLE) {
      return;
    }
    closeIdle(s, reset);
    pump();
  }

  // ---- time ----

  /**
   * Times out requests and closes idle sockets whose time has come: every request past its
   * deadline, and at most {@code expireBatch} idle sockets, oldest first. When more idle sockets
   * are due, {@link #nextDeadline()} is already past, so the loop calls again after one turn of
   * other work.
   */
  public void expire() {
    long now = clock.nanoTime();
    boolean freed = false;
    Request r;
    while ((r = deadlines.peek()) != null && r.deadline - now <= 0) {
      withdraw(r);
      answer(r, Failure.TIMEOUT);
      forgetIfUnused(r.host);
      freed = true;
    }
    PooledSocket s;
    int budget = expireBatch;
    while ((s = idle.oldest()) != null && s.idleSince + keepAliveNanos - now <= 0) {
      if (budget-- == 0) {
        break;
      }
      closeIdle(s, false);
      freed = true;
    }
    expiryBehind = s != null && s.idleSince + keepAliveNanos - now <= 0;
    if (freed) {
      pump();
    }
  }

  /** When {@link #expire()} next has work, in clock nanos; Long.MAX_VALUE for never. */
  public long nextDeadline() {
    long next = Long.MAX_VALUE;
    Request r = deadlines.peek();
    if (r != null) {
      next = r.deadline;
    }
    PooledSocket s = idle.oldest();
    if (s != null && s.idleSince + keepAliveNanos < next) {
      next = s.idleSince + keepAliveNanos;
    }
    return next;
  }

  // ---- lifecycle ----

  /**
   * Stops pooling: closes every idle socket and answers every unanswered request with
   * "shutdown". Leased sockets stay with their holders and are closed when given back.
   */
  public void shutdown() {
    if (shutdown) {
      return;
    }
    shutdown = true;
    idle.forEach(s -> closeIdle(s, false));
    List<Request> unanswered = new ArrayList<>(tracked.values());
    unanswered.sort((a, b) -> Long.compare(a.id, b.id));
    for (Request r : unanswered) {
      withdraw(r);
      answer(r, Failure.SHUTDOWN);
    }
    hosts.values().removeIf(h -> h.unused() && drop(h));
  }

  public boolean isShutdown() {
    return shutdown;
  }

  /** A consistent count of sockets and requests. */
  public PoolStats stats() {
    int l = leased.size();
    int i = idle.size();
    return new PoolStats(i + l + connecting, i, l, connecting, resolving + queue.size());
  }

  int idleCount() {
    return idle.size();
  }

  int leasedCount() {
    return leased.size();
  }

  int connectingCount() {
    return connecting;
  }

  int pendingCount() {
    return resolving + queue.size();
  }

  public int open() {
    return idle.size() + leased.size() + connecting;
  }

  /** Number of keys the pool holds state for (for leak tests). */
  public int hostCount() {
    return hosts.size();
  }

  /** Number of unanswered requests the pool tracks (for leak tests). */
  public int trackedCount() {
    return tracked.size();
  }

  /** Calls {@code action} on every leased socket; it may release the socket it is given. */
  void forEachLeased(java.util.function.Consumer<PooledSocket> action) {
    leased.forEach(action);
  }

  // ---- internals ----

  /**
   * Serves waiting requests in arrival order for as long as they can proceed: from the host's
   * idle sockets (DEFERRED), else by connecting, evicting the least recently used idle socket of
   * another key when at maxOpen.
   */
  private void pump() {
    Host h;
    while ((h = queue.next()) != null) {
      Request r = h.waitHead;
      PooledSocket s = takeIdle(h);
      if (s != null) {
        dequeue(r);
        lease(s, r, FromCache.DEFERRED);
        continue;
      }
      if (open() >= maxOpen) {
        PooledSocket victim = idle.oldest();
        if (victim == null) {
          return; // every socket is busy: wait for one to come back or close
        }
        closeIdle(victim, false);
      }
      dequeue(r);
      startConnect(r);
    }
  }

  private void enqueue(Request r) {
    r.state = Request.QUEUED;
    queue.add(r);
    pump();
  }

  private void dequeue(Request r) {
    queue.remove(r);
    r.state = Request.NEW;
  }

  private void startConnect(Request r) {
    Host h = r.host;
    PooledSocket s = new PooledSocket(h);
    s.request = r;
    h.active++;
    connecting++;
    queue.refresh(h);
    r.state = Request.CONNECTING;
    r.socket = s;
    Failure f = io.connect(s, r);
    if (f != null) {
      dropConnecting(s);
      answer(r, f);
      forgetIfUnused(h);
    }
  }

  /**
   * Takes the newest clean idle socket of {@code h}, closing dirty ones on the way. While expiry
   * is behind (sockets past their keep-alive wait for a later batch), such a socket is closed
   * here instead of handed out; the newest is the last of its host to expire, so this stops at
   * the first one still within its keep-alive.
   */
  private PooledSocket takeIdle(Host h) {
    PooledSocket s;
    while ((s = idle.takeNewest(h)) != null) {
      if (expiryBehind && s.idleSince + keepAliveNanos - clock.nanoTime() <= 0) {
        s.state = PooledSocket.CLOSED;
        io.close(s, false);
        continue;
      }
      if (io.isClean(s)) {
        return s;
      }
      s.state = PooledSocket.CLOSED;
      io.close(s, true);
    }
    return null;
  }

  private void lease(PooledSocket s, Request r, FromCache how) {
    Host h = s.host;
    s.state = PooledSocket.LEASED;
    h.active++;
    leased.addLast(s);
    queue.refresh(h);
    r.socket = s;
    r.fromCache = how;
    answer(r, null);
  }

  private void closeIdle(PooledSocket s, boolean reset) {
    idle.remove(s);
    s.state = PooledSocket.CLOSED;
    io.close(s, reset);
    forgetIfUnused(s.host);
  }

  private void dropConnecting(PooledSocket s) {
    Host h = s.host;
    s.request = null;
    s.state = PooledSocket.CLOSED;
    connecting--;
    h.active--;
    io.close(s, false);
    queue.refresh(h);
  }

  private void stopResolving(Request r) {
    r.host.resolving--;
    resolving--;
    r.state = Request.NEW;
  }

  /** Takes an unanswered request out of whatever phase it is in, releasing what it holds. */
  private void withdraw(Request r) {
    switch (r.state) {
      case Request.RESOLVING:
        io.abandonResolve(r);
        stopResolving(r);
        break;
      case Request.QUEUED:
        dequeue(r);
        break;
      case Request.CONNECTING:
        dropConnecting(r.socket);
        r.socket = null;
        break;
      default:
        break;
    }
  }

  private void answer(Request r, Failure f) {
    untrack(r);
    r.failure = f;
    if (f != null) {
      r.socket = null;
    }
    r.state = Request.ANSWERED;
    io.answer(r);
  }

  private void untrack(Request r) {
    if (r.heapIndex >= 0) {
      deadlines.remove(r);
      tracked.remove(r.id);
    }
  }

  private void forgetIfUnused(Host h) {
    if (h != null && h.unused() && hosts.remove(h.key, h)) {
      drop(h);
    }
  }

  /**
   * Marks {@code h} stale and takes it out of its key's cache: an {@link dev.keepalive.Allocation}
   * the user keeps must not keep this pool (and a closed manager) reachable.
   */
  private static boolean drop(Host h) {
    h.dropped = true;
    if (h.key.cachedHost == h) {
      h.key.cachedHost = null; // (another pool's host written meanwhile would just be looked up)
    }
    return true;
  }

  /** The state of {@code key}, created if needed; the key caches it for the next lookup. */
  private Host host(PoolKey key) {
    Host h = key.cachedHost;
    if (h != null && h.pool == this && !h.dropped) {
      return h;
    }
    h = hosts.get(key);
    if (h == null) {
      h = new Host(key, this);
      hosts.put(key, h);
    }
    key.cachedHost = h;
    return h;
  }
}
