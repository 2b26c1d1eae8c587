package dev.keepalive.internal;

import dev.keepalive.CloseReason;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.PoolTotals;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * The pool's decisions: which request gets which socket, when to connect, evict, expire, time out
 * and answer. Confined to one thread (the event loop; asserted) and free of I/O: it knows
 * {@link Slot}s, never channels, selectors or TLS, asks every I/O of an {@link Io}, and reads time
 * from a {@link Clock}, so it is tested without sockets or real time.
 *
 * <p>State:
 * <ul>
 *   <li>{@code keys}: pool key to {@link KeyState} (active and connecting counts, idle sockets,
 *       waiting requests); a key's state is dropped when nothing refers to it.
 *   <li>{@code idle}: every idle socket, by key (newest first) and by age (oldest first).
 *   <li>{@code dueEarly}: idle sockets whose deadline comes before their keep-alive (a holder's
 *       reuse limit, or the end of their own lifetime), by that deadline.
 *   <li>{@code leased}: every leased socket, so close() can find them.
 *   <li>{@code checking}: sockets taken from the pool for a request and under their health check
 *       (only when checks are on, {@link #healthCheckAfter}); counted as leased.
 *   <li>{@code queue}: waiting requests in fair arrival order across keys.
 *   <li>{@code tracked}/{@code deadlines}: unanswered requests by id and by deadline; a request
 *       answered at once from the pool is never tracked.
 *   <li>counts: {@code connecting}, {@code resolving}; open = idle + leased + connecting.
 * </ul>
 *
 * <p>Per-socket rules ({@link Options}): a socket's lifetime (maxLifetime less a random jitter,
 * from its TCP connect; past it, it is never handed out or pooled), its most hand-outs (maxUses),
 * and the most requests that may wait (maxQueued). Warm-ups ({@link Request#isWarm()}) open
 * sockets straight into the idle pool where there is room, without queueing or evicting.
 *
 * <p>Invariants: open never exceeds maxOpen, a key's active count never exceeds maxPerHost, a
 * socket is in at most one of idle/leased/connecting, every tracked request is answered once,
 * at most maxQueued requests wait.
 */
final class Pool {
  /** The I/O the pool asks for. None of these may call back into the pool synchronously. */
  interface Io {
    /** Starts looking up r's host; the answer comes later through resolved()/resolveFailed(). */
    void resolve(Request r);

    /** Forgets r's lookup (the request timed out, was cancelled or shut down). */
    void abandonResolve(Request r);

    /**
     * Starts connecting {@code s} for {@code r}; the answer comes later through connected() or
     * connectFailed(). Returns a failure instead when it could not even start.
     */
    Failure connect(Slot s, Request r);

    /** True when {@code s}, leaving the pool, has nothing unread and no EOF. */
    boolean isClean(Slot s);

    /** {@code s} entered the pool: watch it for activity. */
    void watchIdle(Slot s);

    /** Closes {@code s} for good; {@code reset} closes abortively (RST). */
    void close(Slot s, boolean reset);

    /** {@code r} has its outcome: deliver it later, off the current stack. */
    void answer(Request r);

    /**
     * Starts the health check of idle {@code s} for {@code r}; the outcome comes later through
     * {@link Pool#checked}. Called only when checks are on ({@link Pool#healthCheckAfter}).
     */
    default void check(Slot s, Request r) {
      throw new UnsupportedOperationException("health checks are off");
    }

    // What the pool decided, for observers (listeners, JFR, logs); called on the loop, before
    // the decision's own effects (a closing socket is still open). Empty by default.

    /** {@code r} waits in its key's queue. */
    default void queued(Request r) {}

    /** {@code r} was cancelled before its answer; its slots are released. */
    default void cancelled(Request r) {}

    /** The holder gave {@code s} back; {@code pooled}: it is idle now, else it closes. */
    default void givenBack(Slot s, boolean pooled) {}

    /** {@code s} is about to be closed (io.close follows), counted under {@code why}. */
    default void closing(Slot s, CloseReason why) {}
  }

  /** What to do with a socket its holder gives back. */
  enum Disposal {
    POOL,
    CLOSE,
    RESET
  }

  /**
   * The rules for sockets and the queue beyond the limits every pool has; each is off by default
   * and costs nothing then.
   *
   * @param maxLifetimeNanos each socket's longest life from its TCP connect, before jitter; 0 for
   *     unlimited
   * @param lifetimeJitter in [0, 1): a socket's own lifetime is maxLifetime * (1 - u * jitter)
   * @param random draws u, uniform in [0, 1), once per socket (tests pass a fixed sequence)
   * @param maxUses most hand-outs per socket (>= 1)
   * @param maxQueued most requests waiting for a slot (>= 0)
   */
  record Options(
      long maxLifetimeNanos,
      double lifetimeJitter,
      DoubleSupplier random,
      int maxUses,
      int maxQueued) {
    /** Every rule off. */
    static final Options NONE =
        new Options(0, 0, Options::uniform, Integer.MAX_VALUE, Integer.MAX_VALUE);

    /** Uniform in [0, 1), from the calling thread's generator. */
    static double uniform() {
      return ThreadLocalRandom.current().nextDouble();
    }

    Options maxLifetime(long nanos, double jitter, DoubleSupplier random) {
      return new Options(nanos, jitter, random, maxUses, maxQueued);
    }

    Options maxUses(int n) {
      return new Options(maxLifetimeNanos, lifetimeJitter, random, n, maxQueued);
    }

    Options maxQueued(int n) {
      return new Options(maxLifetimeNanos, lifetimeJitter, random, maxUses, n);
    }
  }

  /** No limit, for {@link #giveBack}'s reuse limits. */
  static final long NO_LIMIT = -1;

  private static final long MAX_NANOS = Long.MAX_VALUE / 4;

  /**
   * The delay after the first failed warm-up of a key's minimum of idle sockets
   * ({@link #keepWarm}): long enough that a server refusing or dropping connections sees a
   * handful of attempts per second at most, short enough that a blip is repaired before most
   * requests notice. It doubles with each failure in a row, up to {@link #WARM_BACKOFF_MAX}.
   */
  static final long WARM_BACKOFF_BASE = 100_000_000L;
  /** The longest delay between warm-ups of a failing key: 30 s. */
  static final long WARM_BACKOFF_MAX = 30_000_000_000L;

  /**
   * Most idle sockets one {@link #expire()} closes. Closing a connected, registered socket costs
   * four system calls (the JDK's getsockopt and shutdown, which sends the FIN, then epoll_ctl and
   * close when the selector deregisters it): 14-17 us of loop CPU on a 2-core VM over loopback,
   * so 10,000 sockets expiring together stalled the loop for 180-350 ms in one turn. In batches
   * the loop turns again at once (the next deadline has passed) and serves tasks and I/O between
   * them; 32 closes are 0.5-1.5 ms there (bench/run-idle-bench.sh).
   */
  static final int DEFAULT_EXPIRE_BATCH =
      Math.max(1, Integer.getInteger("dev.keepalive.expireBatch", 32));

  private final int maxPerHost;
  private final int maxOpen;
  private final long keepAliveNanos;
  private final long defaultTimeoutNanos;
  private final int expireBatch;
  /** 0 when sockets live as long as they are reused; else the longest lifetime, before jitter. */
  private final long maxLifetimeNanos;

  private final double lifetimeJitter;
  private final DoubleSupplier random;
  private final int maxUses;
  private final int maxQueued;
  private final Clock clock;
  private final Io io;
  private final Confinement loop = new Confinement();

  private final Map<PoolKey, KeyState> keys = new HashMap<>();
  private final IdleSlots idle = new IdleSlots();
  private final LongHeap<Slot> dueEarly = new LongHeap<>();
  private final SlotList leased = new SlotList();
  /** Sockets under their health check, each held for its request (counted as leased). */
  private final SlotList checking = new SlotList();
  /** A socket idle longer than this is checked before it is handed out; -1 for never. */
  private long checkAfterNanos = -1;

  private final RequestQueue queue;
  private final Map<Long, Request> tracked = new HashMap<>();
  private final LongHeap<Request> deadlines = new LongHeap<>();
  private int connecting;
  private int resolving;
  private boolean shutdown;
  /** The last expire() left idle sockets past their keep-alive for the next turn. */
  private boolean expiryBehind;

  // Running totals (totals()): plain increments on the loop, indexed by ordinal.
  private static final CloseReason[] REASONS = CloseReason.values();
  private static final Failure.Function[] FUNCTIONS = Failure.Function.values();
  private final long[] handOutTotals = new long[FromCache.values().length];
  private final long[] closeTotals = new long[REASONS.length];
  private final long[] failureTotals = new long[FUNCTIONS.length];
  /** Keys with a minimum of idle sockets ({@link #keepWarm}); empty, and never read, without. */
  private final List<KeyState> warmKeys = new ArrayList<>();

  Pool(
      int maxPerHost,
      int maxOpen,
      long keepAliveNanos,
      long defaultTimeoutNanos,
      Clock clock,
      Io io) {
    this(maxPerHost, maxOpen, keepAliveNanos, defaultTimeoutNanos, DEFAULT_EXPIRE_BATCH, clock, io);
  }

  /** @param expireBatch most idle sockets closed per {@link #expire()} (>= 1) */
  Pool(
      int maxPerHost,
      int maxOpen,
      long keepAliveNanos,
      long defaultTimeoutNanos,
      int expireBatch,
      Clock clock,
      Io io) {
    this(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        defaultTimeoutNanos,
        expireBatch,
        Options.NONE,
        clock,
        io);
  }

  /**
   * @param expireBatch most idle sockets closed per {@link #expire()} (>= 1)
   * @param options lifetimes, hand-outs per socket, queue bound
   */
  Pool(
      int maxPerHost,
      int maxOpen,
      long keepAliveNanos,
      long defaultTimeoutNanos,
      int expireBatch,
      Options options,
      Clock clock,
      Io io) {
    if (expireBatch < 1) {
      throw new IllegalArgumentException("expireBatch must be >= 1, was " + expireBatch);
    }
    this.maxPerHost = maxPerHost;
    this.maxOpen = maxOpen;
    // far-future values are capped so deadline arithmetic cannot overflow
    this.keepAliveNanos = Math.min(keepAliveNanos, MAX_NANOS);
    this.defaultTimeoutNanos = Math.min(defaultTimeoutNanos, MAX_NANOS);
    this.expireBatch = expireBatch;
    this.maxLifetimeNanos = Math.min(Math.max(options.maxLifetimeNanos(), 0), MAX_NANOS);
    this.lifetimeJitter = options.lifetimeJitter();
    this.random = options.random();
    this.maxUses = options.maxUses();
    this.maxQueued = options.maxQueued();
    this.clock = clock;
    this.io = io;
    this.queue = new RequestQueue(maxPerHost);
  }

  // ---- requests ----

  /**
   * A new request: served at once from the pool when an idle socket of its key is there (and
   * clean) and the request is not fresh; otherwise resolved (unless its host is a literal
   * address or it goes to a Unix domain socket), queued or connected.
   */
  void allocate(Request r) {
    assert loop.held() : "pool used off its loop";
    if (shutdown) {
      answer(r, Failure.SHUTDOWN);
      return;
    }
    KeyState k = keyState(r.key);
    r.keyState = k;
    if (k.active < maxPerHost && !r.fresh) {
      Slot s = takeIdle(k);
      if (s != null) {
        handOutOrCheck(s, r, FromCache.IMMEDIATE);
        if (k.minIdle > 0) {
          replenish(k, clock.nanoTime());
        }
        return;
      }
    }
    long timeout = r.timeoutNanos > 0 ? Math.min(r.timeoutNanos, MAX_NANOS) : defaultTimeoutNanos;
    r.deadline = clock.nanoTime() + timeout;
    tracked.put(r.id, r);
    deadlines.add(r);
    if (k.addresses != null) {
      r.addresses = k.addresses;
      enqueue(r);
    } else {
      r.phase = Request.Phase.RESOLVING;
      k.resolving++;
      resolving++;
      io.resolve(r);
    }
  }

  /** The lookup for {@code r} answered. */
  void resolved(Request r, List<java.net.InetAddress> addresses) {
    assert loop.held() : "pool used off its loop";
    if (r.phase != Request.Phase.RESOLVING) {
      return;
    }
    stopResolving(r);
    r.addresses = addresses;
    enqueue(r);
  }

  /** The lookup for {@code r} failed. */
  void resolveFailed(Request r, Failure f) {
    assert loop.held() : "pool used off its loop";
    if (r.phase != Request.Phase.RESOLVING) {
      return;
    }
    stopResolving(r);
    answer(r, f);
    forgetIfUnused(r.keyState);
  }

  /**
   * Cancels an unanswered request in any phase; its slots are released and it is never answered.
   * False when the id is unknown or already answered.
   */
  boolean cancel(long id) {
    assert loop.held() : "pool used off its loop";
    Request r = tracked.get(id);
    if (r == null) {
      return false;
    }
    withdraw(r, CloseReason.CANCELLED);
    untrack(r);
    r.phase = Request.Phase.CANCELLED;
    io.cancelled(r);
    forgetIfUnused(r.keyState);
    pump();
    return true;
  }

  // ---- sockets ----

  /**
   * {@code s} finished connecting (through TLS where its scheme needs it): hand it to its request
   * (NEW), or for a warm-up put it in the idle pool.
   *
   * @param tcpConnectedAt when its TCP connect completed, in clock nanos: its lifetime counts
   *     from there (ignored when lifetimes are off)
   */
  void connected(Slot s, long tcpConnectedAt) {
    assert loop.held() : "pool used off its loop";
    if (s.state != Slot.State.CONNECTING) {
      return;
    }
    KeyState k = s.owner;
    Request r = s.request;
    s.request = null;
    connecting--;
    k.connecting--;
    s.maxHandOuts = maxUses;
    s.connectedAt = tcpConnectedAt;
    if (maxLifetimeNanos > 0) {
      s.retireAt = tcpConnectedAt + lifetime();
    }
    if (r.isWarm()) {
      k.active--;
      boolean pooled = !shutdown && !s.retired && park(s, clock.nanoTime(), NO_LIMIT);
      if (!pooled) { // shut down, retired, or its lifetime ended during the TLS handshake
        closeSocket(
            s,
            false,
            shutdown
                ? CloseReason.SHUTDOWN
                : s.retired ? CloseReason.RETIRED : CloseReason.LIFETIME);
      }
      s.warmed = pooled && r.keepWarm;
      r.slot = null; // the socket is the pool's, not the warm-up's
      r.fromCache = pooled ? FromCache.NEW : null;
      answer(r, null);
      queue.refresh(k);
      forgetIfUnused(k);
      pump(); // a request that queued behind the warm-up's connect may take it now
      return;
    }
    // Handed to the request it was opened for even if a long TLS handshake outlived its lifetime
    // (it is closed when given back): that request has nothing else to get.
    s.state = Slot.State.LEASED;
    s.handOuts = 1;
    leased.addLast(s);
    r.slot = s;
    r.fromCache = FromCache.NEW;
    handOutTotals[FromCache.NEW.ordinal()]++;
    answer(r, null);
  }

  /** {@link #connected(Slot, long)}, its TCP connect completing now. */
  void connected(Slot s) {
    connected(s, clock.nanoTime());
  }

  /** {@code s} could not connect: close it and answer its request with {@code f}. */
  void connectFailed(Slot s, Failure f) {
    assert loop.held() : "pool used off its loop";
    if (s.state != Slot.State.CONNECTING) {
      return;
    }
    Request r = s.request;
    dropConnecting(s, CloseReason.CONNECT_FAILED);
    answer(r, f);
    forgetIfUnused(s.owner);
    pump();
  }

  /**
   * A holder gave {@code s} back: pool it, or close it, then serve whoever waits.
   *
   * @param maxIdleNanos how long it may stay idle before it is no longer handed out (the
   *     server's keep-alive timeout; 0 closes it now), or {@link #NO_LIMIT}; the manager's
   *     keep-alive applies when it is shorter
   * @param moreHandOuts how many more times it may be handed out (0 closes it now), or
   *     {@link #NO_LIMIT}; a limit given once holds for the socket's life
   */
  void giveBack(Slot s, Disposal disposal, long maxIdleNanos, long moreHandOuts) {
    giveBack(
        s,
        disposal,
        disposal == Disposal.RESET ? CloseReason.UNREAD_DATA : CloseReason.DISCARDED,
        maxIdleNanos,
        moreHandOuts);
  }

  /**
   * {@link #giveBack(Slot, Disposal, long, long)}, counting a CLOSE or RESET disposal under
   * {@code why} (the holder's verdict); a socket the pool itself declines to pool is counted
   * under the pool's reason (shutdown, retired, keep-alive, uses, lifetime).
   */
  void giveBack(Slot s, Disposal disposal, CloseReason why, long maxIdleNanos, long moreHandOuts) {
    assert loop.held() : "pool used off its loop";
    if (s.state != Slot.State.LEASED) {
      return;
    }
    KeyState k = s.owner;
    leased.remove(s);
    k.active--;
    if (moreHandOuts >= 0) {
      s.maxHandOuts = (int) Math.min(s.maxHandOuts, s.handOuts + Math.min(moreHandOuts, MAX_NANOS));
    }
    CloseReason closed = disposal != Disposal.POOL
        ? why
        : shutdown
            ? CloseReason.SHUTDOWN
            : s.retired
                ? CloseReason.RETIRED
                : maxIdleNanos == 0
                    ? CloseReason.KEEP_ALIVE_EXPIRED
                    : s.handOuts >= s.maxHandOuts
                        ? CloseReason.MAX_USES
                        : park(s, clock.nanoTime(), maxIdleNanos) ? null : CloseReason.LIFETIME;
    io.givenBack(s, closed == null);
    if (closed != null) {
      closeSocket(s, disposal == Disposal.RESET, closed);
    }
    queue.refresh(k);
    forgetIfUnused(k);
    pump();
  }

  /** {@link #giveBack(Slot, Disposal, long, long)} without reuse limits. */
  void giveBack(Slot s, Disposal disposal) {
    giveBack(s, disposal, NO_LIMIT, NO_LIMIT);
  }

  /** Activity on idle {@code s} (data, EOF or a reset): it is closed at once. */
  void idleActivity(Slot s, boolean reset) {
    idleActivity(s, reset, false);
  }

  /**
   * Activity on idle {@code s}: data ({@code reset}: closed by RST), EOF or a reset by the peer,
   * or ({@code error}) another I/O error, such as TCP keepalive finding the peer gone. It is
   * closed at once.
   */
  void idleActivity(Slot s, boolean reset, boolean error) {
    assert loop.held() : "pool used off its loop";
    if (s.state != Slot.State.IDLE) {
      return;
    }
    closeIdle(
        s,
        reset,
        reset ? CloseReason.UNREAD_DATA : error ? CloseReason.ERROR : CloseReason.PEER_CLOSED);
    pump();
  }

  /**
   * Closes every idle socket now (ConnectionManager.evictIdle()); leased and connecting ones are
   * untouched.
   */
  void evictIdle() {
    assert loop.held() : "pool used off its loop";
    idle.forEach(s -> closeIdle(s, false, CloseReason.EVICTED));
    pump();
  }

  // ---- health checks ----

  /**
   * Turns idle health checks on: a pooled socket idle longer than {@code nanos} (>= 0) is checked
   * ({@link Io#check}) before a request gets it. Off by default; costs one field test per
   * hand-out from the pool while off.
   */
  void healthCheckAfter(long nanos) {
    checkAfterNanos = Math.min(Math.max(0, nanos), MAX_NANOS);
  }

  /**
   * The health check of {@code s} ended: {@code healthy} hands it to the request it was checked
   * for (DEFERRED: the request waited for the check); otherwise it is closed and the request is
   * served again (another idle socket, or a NEW connect), still within its own deadline.
   */
  void checked(Slot s, boolean healthy) {
    assert loop.held() : "pool used off its loop";
    if (s.state != Slot.State.CHECKING) {
      return; // the request left meanwhile (timeout, cancel, shutdown): the socket is closed
    }
    Request r = s.request;
    s.request = null;
    checking.remove(s);
    KeyState k = s.owner;
    if (healthy && (maxLifetimeNanos == 0 || s.retireAt - clock.nanoTime() > 0)) {
      s.state = Slot.State.LEASED;
      s.handOuts++;
      leased.addLast(s);
      r.slot = s;
      r.fromCache = FromCache.DEFERRED;
      handOutTotals[FromCache.DEFERRED.ordinal()]++;
      answer(r, null);
      return;
    }
    k.active--;
    closeSocket(s, false, healthy ? CloseReason.LIFETIME : CloseReason.HEALTH_CHECK_FAILED);
    queue.refresh(k);
    r.slot = null;
    r.phase = Request.Phase.NEW;
    serveAgain(r);
    pump();
  }

  /**
   * Hands {@code s}, just taken from the pool, to {@code r}; or when it has been idle longer than
   * the health check's threshold, holds it for {@code r} and has it checked first.
   */
  private void handOutOrCheck(Slot s, Request r, FromCache how) {
    if (checkAfterNanos < 0) {
      handOut(s, r, how);
      return;
    }
    long now = clock.nanoTime();
    if (now - s.idleSince - checkAfterNanos <= 0) {
      handOut(s, r, how);
      return;
    }
    KeyState k = s.owner;
    s.state = Slot.State.CHECKING;
    s.request = r;
    k.active++;
    checking.addLast(s);
    queue.refresh(k);
    if (r.heapIndex < 0) { // from allocate(): its deadline starts now and covers the check
      long timeout = r.timeoutNanos > 0 ? Math.min(r.timeoutNanos, MAX_NANOS) : defaultTimeoutNanos;
      r.deadline = now + timeout;
      tracked.put(r.id, r);
      deadlines.add(r);
    }
    r.phase = Request.Phase.CHECKING;
    r.slot = s;
    io.check(s, r);
  }

  /**
   * A request whose socket failed its check, just closed: it keeps its place, taking the slot that
   * socket held: another idle socket of its key (checked in turn if due), else a NEW connect. A
   * request that came straight from allocate() to a host name has no addresses yet: it resolves
   * and queues like a new arrival. All within its own deadline.
   */
  private void serveAgain(Request r) {
    KeyState k = r.keyState;
    Slot s = takeIdle(k);
    if (s != null) {
      handOutOrCheck(s, r, FromCache.DEFERRED);
      return;
    }
    if (r.addresses == null && k.addresses != null) {
      r.addresses = k.addresses;
    }
    if (r.addresses == null) {
      r.phase = Request.Phase.RESOLVING;
      k.resolving++;
      resolving++;
      io.resolve(r);
    } else if (open() < maxOpen) {
      startConnect(r);
    } else {
      enqueue(r);
    }
  }

  /** The request {@code s} was being checked for left: the socket, mid-check, is closed. */
  private void abandonCheck(Slot s, CloseReason why) {
    KeyState k = s.owner;
    checking.remove(s);
    s.request = null;
    k.active--;
    closeSocket(s, false, why);
    queue.refresh(k);
  }

  /**
   * Retires every open socket {@code which} selects (ConnectionManager.retire): idle ones are
   * closed now; leased ones are marked and closed when given back; connecting ones are marked,
   * still serve the request they were opened for (a warm-up's is closed instead of pooled) and
   * are closed when given back. Sockets already retired are not judged again. {@code which} is
   * called once per open socket, idle ones first (oldest first), then leased, then connecting;
   * if it throws, the sockets judged so far stay retired and the exception propagates.
   *
   * @return how many sockets it retired
   */
  int retire(java.util.function.Predicate<Slot> which) {
    assert loop.held() : "pool used off its loop";
    List<Slot> open = new ArrayList<>(open());
    idle.forEach(open::add);
    leased.forEach(open::add);
    checking.forEach(open::add); // under a health check: closed when given back, like leased
    for (Request r : tracked.values()) {
      if (r.phase == Request.Phase.CONNECTING && r.slot != null) {
        open.add(r.slot);
      }
    }
    int retired = 0;
    boolean closed = false;
    try {
      for (Slot s : open) {
        if (s.retired || s.state == Slot.State.CLOSED || !which.test(s)) {
          continue;
        }
        retired++;
        s.retired = true;
        if (s.state == Slot.State.IDLE) {
          closeIdle(s, false, CloseReason.RETIRED);
          closed = true;
        }
      }
    } finally {
      if (closed) {
        pump(); // room for whoever waits
      }
    }
    return retired;
  }

  /**
   * Keeps at least {@code minIdle} idle sockets open for {@code key} (0 removes the minimum):
   * whenever the key has fewer idle sockets than that, counting the warm-ups under way, warm-ups
   * made by {@code warmUps} open more, within maxPerHost and maxOpen, never evicting and never
   * while requests of the key wait. The key's idle sockets are exempt from keep-alive expiry
   * while it has no more than {@code minIdle} of them (not from their lifetime, uses, the peer
   * closing them, retirement).
   *
   * <p>Backoff: a failed warm-up (connect, TLS, lookup or timeout), or a socket it opened that
   * the peer closes before being handed out and within the keep-alive of its connect (a server
   * that accepts and closes at once), delays the next warm-up of the key by
   * {@code min(WARM_BACKOFF_MAX, d * (0.5 + u))}, d = {@code WARM_BACKOFF_BASE * 2^(failures -
   * 1)} capped at WARM_BACKOFF_MAX, u uniform in [0, 1) from the options' random source; after a
   * failure, one warm-up at a time. The count of failures starts over when a socket it opened is
   * handed out or lives to its keep-alive, lifetime or uses.
   */
  void keepWarm(PoolKey key, int minIdle, Supplier<Request> warmUps) {
    assert loop.held() : "pool used off its loop";
    if (shutdown) {
      return;
    }
    if (minIdle == 0) {
      KeyState k = keys.get(key);
      if (k != null && k.minIdle > 0) {
        warmKeys.remove(k);
        k.minIdle = 0;
        k.warmUps = null;
        k.warmFailures = 0;
        forgetIfUnused(k);
      }
      return;
    }
    KeyState k = keyState(key);
    if (k.minIdle == 0) {
      warmKeys.add(k);
    }
    k.minIdle = Math.min(minIdle, maxPerHost);
    k.warmUps = warmUps;
    replenish(k, clock.nanoTime());
  }

  // ---- time ----

  /**
   * Times out requests and closes idle sockets whose time has come: every request past its
   * deadline, and at most {@code expireBatch} idle sockets (past the keep-alive, oldest first,
   * or past an earlier deadline of their own: a holder's reuse limit, their lifetime). When more
   * idle sockets are due, {@link #nextDeadline()} is already past, so the loop calls again after
   * one turn of other work.
   */
  void expire() {
    assert loop.held() : "pool used off its loop";
    long now = clock.nanoTime();
    boolean freed = false;
    Request r;
    while ((r = deadlines.peek()) != null && r.deadline - now <= 0) {
      withdraw(r, CloseReason.TIMED_OUT);
      answer(r, Failure.TIMEOUT);
      forgetIfUnused(r.keyState);
      freed = true;
    }
    int budget = expireBatch;
    Slot s;
    while (budget > 0 && (s = dueEarly.peek()) != null && s.reusableUntil - now <= 0) {
      budget--;
      closeIdle(s, false, earlyReason(s, now));
      freed = true;
    }
    while ((s = idle.oldest()) != null && s.idleSince + keepAliveNanos - now <= 0) {
      if (budget-- <= 0) {
        break;
      }
      KeyState k = s.owner;
      if (k.minIdle > 0 && k.idleCount <= k.minIdle) {
        // kept for the key's minimum: its keep-alive starts over (it stays newest of its key)
        idle.remove(s);
        s.idleSince = now;
        idle.add(s);
        continue;
      }
      closeIdle(s, false, CloseReason.KEEP_ALIVE_EXPIRED);
      freed = true;
    }
    Slot limited = dueEarly.peek();
    expiryBehind = (s != null && s.idleSince + keepAliveNanos - now <= 0)
        || (limited != null && limited.reusableUntil - now <= 0);
    if (freed) {
      pump();
    } else if (!warmKeys.isEmpty()) {
      replenishAll(); // a backoff may have ended
    }
  }

  /** When {@link #expire()} next has work, in clock nanos; Long.MAX_VALUE for never. */
  long nextDeadline() {
    long next = Long.MAX_VALUE;
    Request r = deadlines.peek();
    if (r != null) {
      next = r.deadline;
    }
    Slot s = idle.oldest();
    if (s != null && s.idleSince + keepAliveNanos - next < 0) {
      next = s.idleSince + keepAliveNanos;
    }
    Slot limited = dueEarly.peek();
    if (limited != null && limited.reusableUntil - next < 0) {
      next = limited.reusableUntil;
    }
    if (!warmKeys.isEmpty()) {
      // a backoff still to end; one already over waits for an event (room, a request leaving),
      // else the loop would spin on a past deadline
      long now = clock.nanoTime();
      for (int i = 0; i < warmKeys.size(); i++) {
        KeyState k = warmKeys.get(i);
        if (k.warmFailures > 0
            && k.idleCount + k.warming < k.minIdle
            && k.warmRetryAt - now > 0
            && k.warmRetryAt - next < 0) {
          next = k.warmRetryAt;
        }
      }
    }
    return next;
  }

  // ---- lifecycle ----

  /**
   * Stops pooling: closes every idle socket and answers every unanswered request with
   * "shutdown". Leased sockets stay with their holders and are closed when given back.
   */
  void shutdown() {
    shutdown(Failure.SHUTDOWN);
  }

  /** {@link #shutdown()}, answering the unanswered requests with {@code why}. */
  void shutdown(Failure why) {
    assert loop.held() : "pool used off its loop";
    if (shutdown) {
      return;
    }
    shutdown = true;
    for (KeyState k : warmKeys) {
      k.minIdle = 0;
      k.warmUps = null;
    }
    warmKeys.clear();
    idle.forEach(s -> closeIdle(s, false, CloseReason.SHUTDOWN));
    List<Request> unanswered = new ArrayList<>(tracked.values());
    unanswered.sort((a, b) -> Long.compare(a.id, b.id));
    for (Request r : unanswered) {
      withdraw(r, CloseReason.SHUTDOWN);
      answer(r, why);
    }
    keys.values().removeIf(KeyState::unused);
  }

  boolean isShutdown() {
    return shutdown;
  }

  /** A consistent count of sockets and requests. */
  PoolStats stats() {
    int l = leased.size() + checking.size();
    int i = idle.size();
    return new PoolStats(i + l + connecting, i, l, connecting, resolving + queue.size());
  }

  /** The same counts for one key; all zero when the pool holds nothing for it. */
  PoolStats stats(PoolKey key) {
    KeyState k = keys.get(key);
    if (k == null) {
      return new PoolStats(0, 0, 0, 0, 0);
    }
    return new PoolStats(
        k.active + k.idleCount, k.idleCount, k.leased(), k.connecting, k.resolving + k.queued);
  }

  /**
   * The running totals: hand-outs by how, closes by reason, failures by function. A consistent
   * snapshot (call it on the loop); counting them costs one array increment per event.
   */
  PoolTotals totals() {
    EnumMap<CloseReason, Long> closes = new EnumMap<>(CloseReason.class);
    for (CloseReason why : REASONS) {
      closes.put(why, closeTotals[why.ordinal()]);
    }
    Map<String, Long> failures = new LinkedHashMap<>();
    for (Failure.Function f : FUNCTIONS) {
      failures.put(f.toString(), failureTotals[f.ordinal()]);
    }
    return new PoolTotals(
        handOutTotals[FromCache.NEW.ordinal()],
        handOutTotals[FromCache.IMMEDIATE.ordinal()],
        handOutTotals[FromCache.DEFERRED.ordinal()],
        closes,
        failures);
  }

  int idleCount() {
    return idle.size();
  }

  int leasedCount() {
    return leased.size() + checking.size();
  }

  int connectingCount() {
    return connecting;
  }

  int pendingCount() {
    return resolving + queue.size();
  }

  int open() {
    return idle.size() + leased.size() + checking.size() + connecting;
  }

  /** Number of keys the pool holds state for (for leak tests). */
  int keyCount() {
    return keys.size();
  }

  /** The keys the pool holds state for (for tests). */
  List<PoolKey> keyList() {
    return new ArrayList<>(keys.keySet());
  }

  /** Number of unanswered requests the pool tracks (for leak tests). */
  int trackedCount() {
    return tracked.size();
  }

  /** Calls {@code action} on every leased socket; it may give back the socket it is given. */
  void forEachLeased(java.util.function.Consumer<Slot> action) {
    leased.forEach(action);
  }

  // ---- internals ----

  /**
   * Serves waiting requests in arrival order for as long as they can proceed: from the key's
   * idle sockets (DEFERRED), else by connecting, evicting the least recently used idle socket of
   * another key when at maxOpen.
   */
  private void pump() {
    pumpQueue();
    if (!warmKeys.isEmpty()) {
      replenishAll();
    }
  }

  private void pumpQueue() {
    KeyState k;
    while ((k = queue.next()) != null) {
      Request r = k.waitHead;
      if (!r.fresh) {
        Slot s = takeIdle(k);
        if (s != null) {
          dequeue(r);
          handOutOrCheck(s, r, FromCache.DEFERRED);
          continue;
        }
      } else if (k.active + k.idleCount >= maxPerHost) {
        // a fresh request replaces the key's oldest idle socket
        closeIdle(k.idleTail, false, CloseReason.EVICTED_LRU);
      }
      if (open() >= maxOpen) {
        Slot victim = idle.oldest();
        if (victim == null) {
          return; // every socket is busy: wait for one to come back or close
        }
        closeIdle(victim, false, CloseReason.EVICTED_LRU);
      }
      dequeue(r);
      startConnect(r);
    }
  }

  /**
   * A resolved request goes to the queue and the pool is pumped; one that must then wait while
   * maxQueued others already wait fails at once ("queue", EAGAIN). A warm-up never queues.
   */
  private void enqueue(Request r) {
    if (r.isWarm()) {
      warm(r);
      return;
    }
    r.phase = Request.Phase.QUEUED;
    queue.add(r);
    pump();
    if (r.phase == Request.Phase.QUEUED && queue.size() > maxQueued) {
      // r is the newest waiter: taking it out changes nothing for the others
      dequeue(r);
      answer(r, Failure.QUEUE_FULL);
      forgetIfUnused(r.keyState);
    } else if (r.phase == Request.Phase.QUEUED) {
      io.queued(r); // it waits
    }
  }

  /**
   * A resolved warm-up: connects one socket for the idle pool when its key has fewer sockets
   * (idle, leased or connecting) than the warm-up's target and the limits leave room without
   * evicting anything; else it is answered at once with nothing opened.
   */
  private void warm(Request r) {
    KeyState k = r.keyState;
    int target = Math.min(r.warmTarget, maxPerHost);
    if (k.active + k.idleCount >= target || open() >= maxOpen) {
      r.fromCache = null;
      answer(r, null);
      forgetIfUnused(k);
      return;
    }
    startConnect(r);
  }

  /**
   * Puts {@code s} in the idle pool at {@code now}, with its earlier deadline (a holder's idle
   * limit, its lifetime's end) where it comes before the keep-alive; false, leaving it alone,
   * when its lifetime has ended.
   */
  private boolean park(Slot s, long now, long maxIdleNanos) {
    boolean lifetimes = maxLifetimeNanos > 0;
    if (lifetimes && s.retireAt - now <= 0) {
      return false;
    }
    s.state = Slot.State.IDLE;
    s.idleSince = now;
    idle.add(s);
    long due = now + keepAliveNanos;
    boolean early = false;
    if (maxIdleNanos > 0 && maxIdleNanos < keepAliveNanos) {
      due = now + maxIdleNanos;
      early = true;
    }
    if (lifetimes && s.retireAt - due < 0) {
      due = s.retireAt;
      early = true;
    }
    if (early) {
      s.reusableUntil = due;
      dueEarly.add(s);
    }
    io.watchIdle(s);
    return true;
  }

  /** A socket's own lifetime: maxLifetime * (1 - u * jitter), u uniform in [0, 1). */
  private long lifetime() {
    double u = random.getAsDouble();
    long life = (long) (maxLifetimeNanos * (1 - u * lifetimeJitter));
    return Math.max(1, Math.min(life, maxLifetimeNanos));
  }

  private void dequeue(Request r) {
    queue.remove(r);
    r.phase = Request.Phase.NEW;
  }

  private void startConnect(Request r) {
    KeyState k = r.keyState;
    Slot s = new Slot(k);
    s.request = r;
    k.active++;
    k.connecting++;
    connecting++;
    queue.refresh(k);
    r.phase = Request.Phase.CONNECTING;
    r.slot = s;
    Failure f = io.connect(s, r);
    if (f != null) {
      dropConnecting(s, CloseReason.CONNECT_FAILED);
      answer(r, f);
      forgetIfUnused(k);
    }
  }

  /**
   * Takes the newest clean idle socket of {@code k}, closing unusable ones on the way: dirty
   * ones, ones past a deadline of their own before the keep-alive (their holder's reuse limit,
   * their lifetime), and while expiry is behind (sockets past their keep-alive wait for a later
   * batch) ones past the keep-alive. The newest is the last of its key to expire, so this stops
   * at the first one within its keep-alive. A socket without such a deadline costs no clock read
   * here outside such a backlog: one whose lifetime ends after its keep-alive cannot outlive its
   * lifetime unexpired.
   */
  private Slot takeIdle(KeyState k) {
    Slot s;
    while ((s = k.idleHead) != null) {
      boolean limited = s.heapIndex >= 0;
      if (limited || expiryBehind) {
        long now = clock.nanoTime();
        boolean early = limited && s.reusableUntil - now <= 0;
        if (early || (expiryBehind && s.idleSince + keepAliveNanos - now <= 0)) {
          CloseReason why = early ? earlyReason(s, now) : CloseReason.KEEP_ALIVE_EXPIRED;
          takeOut(s);
          closeSocket(s, false, why); // the key's state stays: the caller is about to use it
          continue;
        }
      }
      takeOut(s);
      if (!s.retired && io.isClean(s)) {
        return s;
      }
      closeSocket(s, true, s.retired ? CloseReason.RETIRED : CloseReason.PEER_CLOSED);
    }
    return null;
  }

  /** Takes an idle socket out of the pool's idle lists. */
  private void takeOut(Slot s) {
    idle.remove(s);
    if (s.heapIndex >= 0) {
      dueEarly.remove(s);
    }
  }

  private void handOut(Slot s, Request r, FromCache how) {
    KeyState k = s.owner;
    s.state = Slot.State.LEASED;
    s.handOuts++;
    k.active++;
    leased.addLast(s);
    queue.refresh(k);
    r.slot = s;
    r.fromCache = how;
    handOutTotals[how.ordinal()]++;
    if (s.warmed) {
      s.warmed = false;
      k.warmFailures = 0; // a socket it opened proved useful
    }
    answer(r, null);
  }

  /** Starts the warm-ups every key with a minimum of idle sockets lacks. */
  private void replenishAll() {
    long now = clock.nanoTime();
    for (int i = 0; i < warmKeys.size(); i++) {
      replenish(warmKeys.get(i), now);
    }
  }

  /**
   * Starts the warm-ups {@code k} lacks for its minimum: none while its requests wait or during a
   * backoff, one after a failure, else up to minIdle less idle and warming, where the limits
   * leave room.
   */
  private void replenish(KeyState k, long now) {
    if (shutdown || k.minIdle == 0 || k.queued > 0) {
      return;
    }
    int need = k.minIdle - k.idleCount - k.warming;
    if (need <= 0) {
      return;
    }
    if (k.warmFailures > 0) {
      if (k.warmRetryAt - now > 0 || k.warming > 0) {
        return; // backing off, or the one retry is under way
      }
      need = 1;
    }
    int room = Math.min(maxPerHost - k.active - k.idleCount - k.resolving, maxOpen - open());
    int failures = k.warmFailures;
    for (int i = Math.min(need, room); i > 0 && k.warmFailures == failures; i--) {
      Request r = k.warmUps.get();
      r.keepWarm = true;
      k.warming++;
      allocate(r);
    }
  }

  /** A warm-up for a key's minimum was answered: opened, no room, or failed. */
  private void warmAnswered(Request r, Failure f) {
    KeyState k = r.keyState;
    if (k == null) {
      return; // refused before it began (shutdown)
    }
    k.warming--;
    if (f != null && f != Failure.SHUTDOWN && k.minIdle > 0) {
      warmFailed(k);
    }
  }

  private void warmFailed(KeyState k) {
    k.warmFailures++;
    k.warmRetryAt = clock.nanoTime() + warmBackoff(k.warmFailures);
  }

  /** The delay after {@code failures} failed warm-ups in a row (see {@link #keepWarm}). */
  long warmBackoff(int failures) {
    long d = WARM_BACKOFF_BASE << Math.min(failures - 1, 20);
    d = Math.min(d, WARM_BACKOFF_MAX);
    long jittered = (long) (d * (0.5 + random.getAsDouble()));
    return Math.max(1, Math.min(jittered, WARM_BACKOFF_MAX));
  }

  /** A socket opened for its key's minimum closes before it was ever handed out. */
  private void warmedClosed(Slot s, CloseReason why) {
    s.warmed = false;
    KeyState k = s.owner;
    if (k.minIdle == 0) {
      return;
    }
    boolean byPeer = why == CloseReason.PEER_CLOSED || why == CloseReason.UNREAD_DATA;
    if (byPeer && clock.nanoTime() - s.connectedAt < keepAliveNanos) {
      warmFailed(k); // accepted, then closed at once: churn, not a kept socket
    } else if (byPeer
        || why == CloseReason.KEEP_ALIVE_EXPIRED
        || why == CloseReason.LIFETIME
        || why == CloseReason.MAX_USES) {
      k.warmFailures = 0; // it lived its life
    }
  }

  private void closeIdle(Slot s, boolean reset, CloseReason why) {
    takeOut(s);
    closeSocket(s, reset, why);
    forgetIfUnused(s.owner);
  }

  /** Closes {@code s} for good, counting it under {@code why}. */
  private void closeSocket(Slot s, boolean reset, CloseReason why) {
    s.state = Slot.State.CLOSED;
    closeTotals[why.ordinal()]++;
    io.closing(s, why);
    if (s.warmed) {
      warmedClosed(s, why);
    }
    io.close(s, reset);
  }

  /** Why an idle socket past its own early deadline closes: its lifetime, or its holder's limit. */
  private CloseReason earlyReason(Slot s, long now) {
    return maxLifetimeNanos > 0 && s.retireAt - now <= 0
        ? CloseReason.LIFETIME
        : CloseReason.KEEP_ALIVE_EXPIRED;
  }

  private void dropConnecting(Slot s, CloseReason why) {
    KeyState k = s.owner;
    s.request = null;
    connecting--;
    k.connecting--;
    k.active--;
    closeSocket(s, false, why);
    queue.refresh(k);
  }

  private void stopResolving(Request r) {
    r.keyState.resolving--;
    resolving--;
    r.phase = Request.Phase.NEW;
  }

  /** Takes an unanswered request out of whatever phase it is in, releasing what it holds. */
  private void withdraw(Request r, CloseReason why) {
    switch (r.phase) {
      case RESOLVING:
        io.abandonResolve(r);
        stopResolving(r);
        break;
      case QUEUED:
        dequeue(r);
        break;
      case CONNECTING:
        dropConnecting(r.slot, why);
        r.slot = null;
        break;
      case CHECKING:
        abandonCheck(r.slot, why);
        r.slot = null;
        break;
      default:
        break;
    }
  }

  private void answer(Request r, Failure f) {
    untrack(r);
    r.failure = f;
    if (f != null) {
      r.slot = null;
      failureTotals[f.function().ordinal()]++;
    }
    if (r.keepWarm) {
      warmAnswered(r, f);
    }
    r.phase = Request.Phase.ANSWERED;
    io.answer(r);
  }

  private void untrack(Request r) {
    if (r.heapIndex >= 0) {
      deadlines.remove(r);
      tracked.remove(r.id);
    }
  }

  private void forgetIfUnused(KeyState k) {
    if (k != null && k.unused()) {
      keys.remove(k.key, k);
    }
  }

  /** The state of {@code key}, created if needed. */
  private KeyState keyState(PoolKey key) {
    KeyState k = keys.get(key);
    if (k == null) {
      k = new KeyState(key);
      keys.put(key, k);
    }
    return k;
  }
}
