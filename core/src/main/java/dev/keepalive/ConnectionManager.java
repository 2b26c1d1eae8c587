package dev.keepalive;

import dev.keepalive.internal.Failure;
import dev.keepalive.internal.ManagerCore;
import dev.keepalive.internal.Settings;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * Hands out connected sockets to scheme/address/port, reusing kept-alive ones, within a per-host
 * and a global limit.
 *
 * <p>Each manager runs one daemon event-loop thread that owns its sockets, its pool and its
 * timers. Every public method is thread-safe. Results, futures' completions and connection
 * handlers run on that thread: keep them short and never block in them.
 *
 * <pre>{@code
 * try (ConnectionManager manager = ConnectionManager.create()) {
 *   Connection c = manager.allocate(Allocation.to("http", "127.0.0.1", 8080)).get();
 *   ... use c ...
 *   c.close(); // back to the pool
 * }
 * }</pre>
 */
public final class ConnectionManager implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.keepalive");

  private final ManagerCore core;
  private final AtomicLong ids = new AtomicLong();
  /** Capture the stack of each allocate() call (leak detection is on). */
  private final boolean leakDetection;

  private volatile boolean shutdown;
  /** Unregisters the MXBean ({@link Builder#jmx}), or null. */
  private volatile Runnable jmxUnregister;

  private ConnectionManager(Builder b) {
    this.leakDetection = b.leakDetection != null;
    this.core = new ManagerCore(
        new Settings(
                b.maxPerHost,
                b.maxOpen,
                nanos(b.keepAlive),
                nanos(b.timeout),
                b.resolver,
                b.bindAddress,
                b.sslContext,
                b.sslParameters,
                Set.copyOf(b.tlsSchemes),
                b.maxPendingWriteBytes)
            .withProductionRules(
                b.maxLifetime == null ? 0 : nanos(b.maxLifetime),
                b.lifetimeJitter,
                b.maxUses,
                b.maxQueued,
                nanos(b.connectAttemptDelay),
                b.leakDetection == null ? 0 : nanos(b.leakDetection))
            .withSocketHealth(
                b.tcpKeepAlive,
                b.keepIdleSeconds,
                b.keepIntervalSeconds,
                b.keepProbes,
                b.healthCheckAfter == null ? -1 : nanos(b.healthCheckAfter),
                b.healthCheck)
            .withTlsTaskExecutor(b.tlsTaskExecutor),
        List.copyOf(b.listeners));
    if (b.jmxName != null) {
      try {
        this.jmxUnregister = ManagementBean.register(this, b.jmxName);
      } catch (RuntimeException e) {
        core.close();
        throw e;
      }
    }
  }

  /** A manager with every default: 4 per host, 128 open, 15 s keep-alive, 120 s timeout. */
  public static ConnectionManager create() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings of a new manager; every setting is checked when it is made. */
  public static final class Builder {
    private int maxPerHost = 4;
    private int maxOpen = 128;
    private Duration keepAlive = Duration.ofSeconds(15);
    private Duration timeout = Duration.ofSeconds(120);
    private Resolver resolver = Resolver.system();
    private InetAddress bindAddress;
    private SSLContext sslContext;
    private SSLParameters sslParameters;
    private Executor tlsTaskExecutor;
    private final Set<String> tlsSchemes = new HashSet<>(Set.of("https"));
    private long maxPendingWriteBytes = 16L << 20;
    private Duration maxLifetime;
    private double lifetimeJitter = 0.1;
    private int maxUses = Integer.MAX_VALUE;
    private int maxQueued = Integer.MAX_VALUE;
    private Duration connectAttemptDelay = Duration.ofMillis(250);
    private Duration leakDetection;
    private boolean tcpKeepAlive;
    private int keepIdleSeconds;
    private int keepIntervalSeconds;
    private int keepProbes;
    private Duration healthCheckAfter;
    private HealthCheck healthCheck;
    private final List<ConnectionListener> listeners = new ArrayList<>();
    private String jmxName;

    private Builder() {}

    /**
     * Registers the manager in the platform MBean server as {@code
     * dev.keepalive:type=ConnectionManager,name=NAME} ({@link ConnectionManagerMXBean}: counts,
     * totals, evictIdle, retireAll) while it runs: from build() to shutdown() or close(). Off by
     * default. build() fails with IllegalStateException when the name is taken.
     *
     * @throws IllegalArgumentException if {@code name} is null or blank
     */
    public Builder jmx(String name) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("jmx name must not be null or blank");
      }
      this.jmxName = name;
      return this;
    }

    /**
     * Adds a listener that hears every step of the manager's requests and sockets (queued,
     * lookups, connect attempts, tunnels, TLS handshakes, hand-outs, give-backs, closes with their
     * {@link CloseReason}, failures, timeouts, cancellations, leaks); see {@link
     * ConnectionListener} for when and on which thread. Call again to add more: they hear each
     * event in the order added. None by default; a manager without listeners builds no event.
     *
     * @throws IllegalArgumentException if {@code listener} is null
     */
    public Builder listener(ConnectionListener listener) {
      if (listener == null) {
        throw new IllegalArgumentException("listener must not be null");
      }
      listeners.add(listener);
      return this;
    }

    /** Most sockets connecting or leased to one key at once; default 4. */
    public Builder maxPerHost(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxPerHost must be >= 1, was " + n);
      }
      this.maxPerHost = n;
      return this;
    }

    /** Most sockets the manager holds at once (connecting, leased and idle); default 128. */
    public Builder maxOpen(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxOpen must be >= 1, was " + n);
      }
      this.maxOpen = n;
      return this;
    }

    /** How long a pooled socket may stay idle before it is closed; default 15 s. */
    public Builder keepAlive(Duration d) {
      this.keepAlive = positive(d, "keepAlive");
      return this;
    }

    /** The default time a request may take in all; default 120 s. */
    public Builder timeout(Duration d) {
      this.timeout = positive(d, "timeout");
      return this;
    }

    /** Where host names are looked up; default {@link Resolver#system()}. */
    public Builder resolver(Resolver r) {
      if (r == null) {
        throw new IllegalArgumentException("resolver must not be null");
      }
      this.resolver = r;
      return this;
    }

    /** The local address of every client socket; default: chosen by the system. */
    public Builder bindAddress(InetAddress a) {
      if (a == null) {
        throw new IllegalArgumentException("bindAddress must not be null");
      }
      this.bindAddress = a;
      return this;
    }

    /** The TLS context (trust and keys) for TLS schemes; default {@link SSLContext#getDefault()}. */
    public Builder sslContext(SSLContext c) {
      if (c == null) {
        throw new IllegalArgumentException("sslContext must not be null");
      }
      this.sslContext = c;
      return this;
    }

    /**
     * The TLS parameters for every TLS connection, used as given (copied) except that SNI is set
     * to the host name when they name no server. Default: TLS 1.3 and 1.2 only, host name
     * verification ("HTTPS" endpoint identification) on, SNI on.
     */
    public Builder sslParameters(SSLParameters p) {
      if (p == null) {
        throw new IllegalArgumentException("sslParameters must not be null");
      }
      this.sslParameters = p;
      return this;
    }

    /**
     * Runs the CPU work of TLS handshakes (the engine's delegated tasks: key agreement, the trust
     * manager's certificate checks) on {@code executor} instead of the event loop, which serves
     * other connections meanwhile; the handshake's next step comes back to the loop. For trust
     * managers that block (revocation checks over the network), or many handshakes at once with
     * cores to spare. Default: on the event loop, which is cheaper when there are few cores (a
     * cold 5 s https benchmark on 2 cores ran 30-40% slower with the tasks on one or two other
     * threads). The executor stays the caller's: closing the manager does not shut it down. A
     * task it rejects runs on the loop.
     */
    public Builder tlsTaskExecutor(Executor executor) {
      if (executor == null) {
        throw new IllegalArgumentException("tlsTaskExecutor must not be null");
      }
      this.tlsTaskExecutor = executor;
      return this;
    }

    /** Wraps sockets of {@code scheme} in TLS too (e.g. "wss"); "https" always is. */
    public Builder tlsScheme(String scheme) {
      if (scheme == null || scheme.isBlank()) {
        throw new IllegalArgumentException("scheme must not be null or blank");
      }
      tlsSchemes.add(scheme.toLowerCase(Locale.ROOT));
      return this;
    }

    /**
     * Most bytes a connection's write queue may hold before write() refuses more (a single write
     * into an empty queue is always taken); default 16 MiB.
     */
    public Builder maxPendingWriteBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxPendingWriteBytes must be >= 1, was " + bytes);
      }
      this.maxPendingWriteBytes = bytes;
      return this;
    }

    /**
     * The longest a socket lives, counted from its TCP connect (before any TLS handshake); by
     * default unlimited. Each socket's own lifetime is this less a random share (see
     * {@link #lifetimeJitter}). A socket past its lifetime is never handed out and never pooled:
     * an idle one is closed when its lifetime ends (even while its keep-alive would keep it), a
     * leased one is closed when given back, and a request that would have taken it gets another
     * socket, or a NEW one. (A NEW socket is still handed to the request it was opened for if a
     * TLS handshake outlasted its lifetime; it is closed when given back.) Set it below the idle
     * timeout of whatever sits in between (load balancer, NAT, firewall), so the pool retires a
     * socket before the middlebox drops it silently, and so that sockets follow DNS changes and
     * spread over new servers.
     *
     * @param d positive
     * @throws IllegalArgumentException if {@code d} is null, zero or negative
     */
    public Builder maxLifetime(Duration d) {
      this.maxLifetime = positive(d, "maxLifetime");
      return this;
    }

    /**
     * How far below {@link #maxLifetime} a socket's own lifetime may fall, as a share of it;
     * default 0.1. Each socket draws u uniform in [0, 1) when it connects and lives
     * {@code maxLifetime * (1 - u * fraction)}, so sockets opened together (a burst, a prewarm)
     * retire apart instead of all at once. 0 gives every socket exactly maxLifetime. Has no
     * effect without a maxLifetime.
     *
     * @param fraction in [0, 1)
     * @throws IllegalArgumentException if {@code fraction} is NaN, negative, or 1 or more
     */
    public Builder lifetimeJitter(double fraction) {
      if (!(fraction >= 0 && fraction < 1)) { // also rejects NaN
        throw new IllegalArgumentException("lifetimeJitter must be in [0, 1), was " + fraction);
      }
      this.lifetimeJitter = fraction;
      return this;
    }

    /**
     * The most times one socket is handed out (its first, NEW hand-out included); default
     * unlimited. Given back after its n-th hand-out, a socket is closed instead of pooled. A
     * holder's {@link Connection#keepAliveMax} can only lower this for its socket.
     *
     * @param n at least 1
     * @throws IllegalArgumentException if {@code n} is less than 1
     */
    public Builder maxUses(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxUses must be >= 1, was " + n);
      }
      this.maxUses = n;
      return this;
    }

    /**
     * The most requests that may wait for a slot at once (resolved and queued behind maxPerHost
     * or maxOpen; requests still resolving their host name do not count); default unlimited. A
     * request that would have to wait while n already wait fails at once with function "queue",
     * errorNum 11 (EAGAIN), errorStr "Resource temporarily unavailable", delivered like any
     * failure (to the event, or the future completes exceptionally with an
     * {@link AllocationException}); allocate() never throws for it. With 0, a request fails
     * whenever it cannot get a socket or start a connect right away. A request that leaves the
     * queue (answered, timed out, deallocated) frees its place.
     *
     * @param n at least 0
     * @throws IllegalArgumentException if {@code n} is negative
     */
    public Builder maxQueued(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("maxQueued must be >= 0, was " + n);
      }
      this.maxQueued = n;
      return this;
    }

    /**
     * Happy Eyeballs (RFC 8305): how long a connect attempt to one address may go unanswered
     * before the next address of the host is tried alongside it; default 250 ms. A host's
     * addresses are tried in RFC 8305 order (families interleaved, starting with the resolver's
     * first); a failed attempt starts the next at once; the first to connect wins and the others
     * are closed; the request's timeout covers them all. A host with one address arms no timer.
     *
     * @param d positive
     * @throws IllegalArgumentException if {@code d} is null, zero or negative
     */
    public Builder connectAttemptDelay(Duration d) {
      this.connectAttemptDelay = positive(d, "connectAttemptDelay");
      return this;
    }

    /**
     * Reports connections held too long; default off. A connection held longer than {@code d}
     * without close() or discard() is reported once, as a WARNING on the System.Logger
     * "dev.keepalive" whose Throwable carries the stack trace of the allocate() call that
     * obtained it; the connection keeps working. A connection that becomes unreachable without
     * close() (always reported) then also names that allocate() call. The cost, only while on:
     * each allocate() records its stack, each hand-out reads the clock and joins a timer heap.
     * Meant for development and staging.
     *
     * @param d positive
     * @throws IllegalArgumentException if {@code d} is null, zero or negative
     */
    public Builder leakDetection(Duration d) {
      this.leakDetection = positive(d, "leakDetection");
      return this;
    }

    /**
     * Turns TCP keepalive (SO_KEEPALIVE) on or off for every socket the manager opens, with the
     * system's timing (Linux: first probe after 2 hours idle); default off. The kernel then
     * probes a silent connection and closes it when the peer is gone, and the probes keep
     * middleboxes (NAT, firewalls) from forgetting an idle pooled connection. Set at connect;
     * sockets already open keep what they had.
     */
    public Builder tcpKeepAlive(boolean on) {
      this.tcpKeepAlive = on;
      this.keepIdleSeconds = 0;
      this.keepIntervalSeconds = 0;
      this.keepProbes = 0;
      return this;
    }

    /**
     * Turns TCP keepalive on for every socket the manager opens, with its timing: the first probe
     * after {@code idle} without traffic, then one every {@code interval}, and the connection is
     * dropped after {@code probes} unanswered ones (TCP_KEEPIDLE, TCP_KEEPINTERVAL,
     * TCP_KEEPCOUNT, set where the platform supports them; elsewhere the system's timing
     * applies). Default off. Pick {@code idle} below the idle timeout of the NAT or firewall in
     * between. The limits are Linux's.
     *
     * @param idle whole seconds, 1 s to 32767 s
     * @param interval whole seconds, 1 s to 32767 s
     * @param probes 1 to 127
     * @throws IllegalArgumentException naming the argument that is null, not whole seconds, or
     *     out of range
     */
    public Builder tcpKeepAlive(Duration idle, Duration interval, int probes) {
      int idleSeconds = keepAliveSeconds(idle, "idle");
      int intervalSeconds = keepAliveSeconds(interval, "interval");
      if (probes < 1 || probes > 127) {
        throw new IllegalArgumentException("probes must be in 1..127, was " + probes);
      }
      this.tcpKeepAlive = true;
      this.keepIdleSeconds = idleSeconds;
      this.keepIntervalSeconds = intervalSeconds;
      this.keepProbes = probes;
      return this;
    }

    /**
     * Checks an idle socket before handing it out: a pooled socket that has been idle longer
     * than {@code idleLongerThan} is given to {@code check} first, asynchronously on the event
     * loop, and the request gets it only when the check succeeds (then
     * {@link FromCache#DEFERRED}); otherwise the socket is closed and the request is served
     * again: another idle socket, or a NEW connection. The request's timeout covers the check.
     * Sockets idle for less are handed out unchecked, and a NEW socket is never checked. While
     * its check runs, a socket counts as leased in {@link ConnectionManager#stats()} and against
     * {@code maxPerHost} and {@code maxOpen}; {@code deallocate}, the request's timeout and
     * {@code shutdown} close it. Default: no check. See {@link HealthCheck} for what a check may
     * do with the connection it is lent.
     *
     * @param idleLongerThan zero (check every socket taken from the pool) or positive
     * @param check the check, for example a ping of the protocol
     * @throws IllegalArgumentException if {@code idleLongerThan} is null or negative, or
     *     {@code check} is null
     */
    public Builder healthCheck(Duration idleLongerThan, HealthCheck check) {
      if (idleLongerThan == null || idleLongerThan.isNegative()) {
        throw new IllegalArgumentException(
            "idleLongerThan must not be null or negative, was " + idleLongerThan);
      }
      if (check == null) {
        throw new IllegalArgumentException("check must not be null");
      }
      this.healthCheckAfter = idleLongerThan;
      this.healthCheck = check;
      return this;
    }

    private static int keepAliveSeconds(Duration d, String name) {
      if (d == null
          || d.getNano() != 0
          || d.compareTo(Duration.ofSeconds(1)) < 0
          || d.compareTo(Duration.ofSeconds(32767)) > 0) {
        throw new IllegalArgumentException(
            name + " must be whole seconds from 1 s to 32767 s, was " + d);
      }
      return (int) d.getSeconds();
    }

    /** Starts the manager's event loop. */
    public ConnectionManager build() {
      return new ConnectionManager(this);
    }
  }

  /**
   * Asks for a connection (callback style, as in Perl's POE::Component::Client::Keepalive). Returns the request id (> 0, unique in this manager) at
   * once; {@code event} gets the result later, exactly once, on the event loop thread, never
   * inside this call, unless the request is cancelled by {@link #deallocate}. A request refused
   * because the queue is full ({@link Builder#maxQueued}) is such a result too: function
   * "queue", never an exception from this call.
   *
   * @throws IllegalArgumentException if an argument is null
   * @throws IllegalStateException after {@link #shutdown()} or {@link #close()}
   */
  public long allocate(Allocation request, Consumer<AllocationResult> event) {
    if (request == null) {
      throw new IllegalArgumentException("request must not be null");
    }
    if (event == null) {
      throw new IllegalArgumentException("event must not be null");
    }
    long id = nextId();
    CallbackRequest r = new CallbackRequest(id, request, event);
    submit(id, request, r, r, leakDetection ? new Throwable("allocate() called here") : null);
    return id;
  }

  /**
   * Asks for a connection (future style). The future completes on the event loop thread with the
   * connection, or exceptionally with an {@link AllocationException}. Cancelling the future
   * deallocates the request; a connection that arrives for a cancelled future is given back.
   *
   * @throws IllegalArgumentException if request is null
   * @throws IllegalStateException after {@link #shutdown()} or {@link #close()}
   */
  public CompletableFuture<Connection> allocate(Allocation request) {
    if (request == null) {
      throw new IllegalArgumentException("request must not be null");
    }
    long id = nextId();
    FutureRequest r = new FutureRequest(id, request, this);
    submit(id, request, r, r, leakDetection ? new Throwable("allocate() called here") : null);
    return r.future;
  }

  /**
   * Cancels a request not yet answered, in whatever phase it is (resolving, queued, connecting).
   * Its event is then never called and every slot it held is released.
   *
   * @return true if it was cancelled; false if the id is unknown or already answered
   */
  public boolean deallocate(long requestId) {
    return requestId > 0 && core.cancel(requestId); // ids <= 0 are the manager's own
  }

  /**
   * Same as {@code connection.close()}: gives the connection back to the pool.
   *
   * @throws IllegalArgumentException if the connection is null or not from this manager
   */
  public void free(Connection connection) {
    if (connection == null) {
      throw new IllegalArgumentException("connection must not be null");
    }
    if (!core.owns(connection)) {
      throw new IllegalArgumentException("connection was not allocated by this manager");
    }
    connection.close();
  }

  /**
   * A snapshot of the counts. From the event loop thread it is exact; from other threads it is
   * the last snapshot the loop published (before every delivery and every loop turn).
   */
  public PoolStats stats() {
    return core.stats();
  }

  /**
   * The same five counts as {@link #stats()}, for the pool key of {@code key} alone: its scheme,
   * address, port and target ({@link Allocation#forTarget}); its context, timeout and freshness do
   * not matter. All zero when the manager holds nothing for that key. Exact: it asks the event
   * loop and waits for the answer (on the loop thread itself it is immediate).
   *
   * @throws IllegalArgumentException if {@code key} is null
   */
  public PoolStats stats(Allocation key) {
    if (key == null) {
      throw new IllegalArgumentException("key must not be null");
    }
    return core.stats(key);
  }

  /**
   * Running totals over the manager's life: requests answered by how ({@link FromCache}),
   * sockets closed by {@link CloseReason}, and failures by function. Consistent and exact: it asks
   * the event loop for a snapshot and waits for it (on the loop thread itself it is immediate),
   * so every count is from the same moment. Counting costs the loop a plain increment per event
   * and nothing else. After {@link #close()}, the final totals.
   */
  public PoolTotals totals() {
    return core.totals();
  }

  /**
   * Closes every idle socket now, of every key, and returns once they are closed (on the event
   * loop thread, inline). Leased connections are untouched and pooled again when given back;
   * requests being resolved, queued or connected go on. For example after a failover, so that no
   * request meets a socket to the old servers. Does nothing after {@link #close()}.
   */
  public void evictIdle() {
    core.evictIdle();
  }

  /**
   * Retires every socket open at the call, of every key: idle ones are closed now; leased ones
   * keep working and are closed when their holders give them back, instead of being pooled;
   * connecting ones still serve the request they were opened for (a {@link #prewarm} socket is
   * closed instead of pooled) and are then closed when given back. Sockets opened after the call
   * are not affected, so requests waiting or arriving get new sockets. For example after a
   * failover or a certificate rotation, so that no request is served again on a socket to the
   * old servers; {@link #evictIdle()} closes only the idle ones. Runs on the event loop and
   * returns once the idle ones are closed (on the loop thread, inline). Does nothing after
   * {@link #close()}.
   *
   * @return how many sockets it retired (sockets already retired are not counted again)
   */
  public int retireAll() {
    return core.retire(info -> true);
  }

  /**
   * {@link #retireAll()} for the sockets {@code which} selects, for example by key
   * ({@code info -> info.addr().equals("db1.example.org")}), remote address, age or uses.
   * {@code which} runs on the event loop thread, once per open socket (idle ones first, oldest
   * first, then leased, then connecting; sockets already retired are skipped), so it must be
   * quick and must not block. If it throws, the exception propagates to the caller of this
   * method as thrown (not wrapped), the sockets it already selected stay retired, the others are
   * untouched and the manager carries on.
   *
   * @param which selects the sockets to retire
   * @return how many sockets it retired; 0 after {@link #close()}
   * @throws IllegalArgumentException if {@code which} is null
   */
  public int retire(Predicate<? super ConnectionInfo> which) {
    if (which == null) {
      throw new IllegalArgumentException("which must not be null");
    }
    return core.retire(which);
  }

  /**
   * Opens connections for {@code key}'s pool key until it has {@code n} sockets (idle, leased or
   * connecting), and pools them idle, so that the first requests find them ready (IMMEDIATE).
   * Within the limits as for requests ({@code maxPerHost}, {@code maxOpen}), but it never closes
   * another key's idle socket to make room and never waits for room: where the limits leave
   * none, it opens fewer. Its host name is resolved like a request's, and the timeout of
   * {@code key} (or the manager's) covers each connect. The sockets are then pooled like any
   * other (keep-alive, lifetime). While its host name is being resolved, the lookups count as
   * pending in {@link #stats()}; it never counts against {@code maxQueued}.
   *
   * @param key the pool key to warm (its context and freshness do not matter)
   * @param n how many sockets the key should have, at least 1
   * @return completes on the event loop with the number of connections it opened (0 when the
   *     key already had {@code n} or there was no room), or exceptionally with the
   *     {@link AllocationException} of the first failure (connect, resolve, sslify, timeout,
   *     shutdown; its {@code requestId()} is 0)
   * @throws IllegalArgumentException if {@code key} is null or {@code n} is less than 1
   * @throws IllegalStateException after {@link #shutdown()} or {@link #close()}
   */
  public CompletableFuture<Integer> prewarm(Allocation key, int n) {
    if (key == null) {
      throw new IllegalArgumentException("key must not be null");
    }
    if (n < 1) {
      throw new IllegalArgumentException("n must be >= 1, was " + n);
    }
    if (shutdown) {
      throw new IllegalStateException("connection manager is shut down");
    }
    CompletableFuture<Integer> opened = new CompletableFuture<>();
    boolean started = core.prewarm(
        key,
        n,
        opened::complete,
        f -> opened.completeExceptionally(new AllocationException(new AllocationResult(
            0, key, null, null, f.functionName(), f.errorNum(), f.errorStr()))));
    if (!started) {
      throw closed();
    }
    return opened;
  }

  /**
   * Keeps at least {@code minIdle} idle sockets open for {@code key}'s pool key, from now until
   * it is called again with another minimum (0 removes it) or the manager shuts down. Like
   * {@link #prewarm}, but lasting: whenever the key has fewer idle sockets than that (they were
   * handed out, or closed for their lifetime, uses, the peer closing them or retirement), the
   * manager opens more, counting the ones under way, so at most {@code minIdle - idle} connects
   * are in flight. Within {@code maxPerHost} (the minimum is capped there) and {@code maxOpen},
   * never closing another key's idle socket to make room, and never while requests of the key
   * wait (they come first). The key's idle sockets are exempt from keep-alive expiry while it has
   * no more than {@code minIdle} of them (HikariCP's minimumIdle rule); not from their lifetime,
   * their uses, the peer closing them or retirement, so set {@code maxLifetime} below the idle
   * timeout of whatever sits in between.
   *
   * <p>Failures back off: after a failed warm-up (connect, TLS, lookup, timeout), or a socket it
   * opened that the peer closes before it is handed out and within {@code keepAlive} of its
   * connect (a server that accepts and closes at once), the next warm-up of the key waits
   * {@code min(30 s, d * (0.5 + u))}, where d is 100 ms doubled per failure in a row (at most
   * 30 s) and u is uniform in [0, 1) (jitter of +-50%, so that many clients do not retry in
   * step), and then one warm-up at a time is tried until one succeeds. The count of failures
   * starts over when a socket it opened is handed out or lives to its keep-alive, lifetime or
   * uses. Failures are counted in {@link #totals()} and reported nowhere else.
   *
   * <p>OkHttp 5 shipped a similar per-address policy ({@code AddressPolicy}'s
   * {@code minimumConcurrentCalls}), took it out of the public API before 5.0 to rework it, and
   * then removed it (it opened connections without a call, which needed special cases). Here a
   * warm-up is an ordinary request of the pool, without a holder: the same lookup, limits,
   * timeout, queue order (after waiting requests) and counting as any request; the minimum counts
   * idle sockets, not concurrent calls; failures back off with jitter, churn included; and it is
   * per key and off unless asked for. On a device that must not use the network in the
   * background, do not use it.
   *
   * @param key the pool key to keep warm (its context and freshness do not matter; its timeout,
   *     or the manager's, covers each warm-up)
   * @param minIdle how many idle sockets to keep, at least 0 (0 removes the minimum)
   * @throws IllegalArgumentException if {@code key} is null or {@code minIdle} is negative
   * @throws IllegalStateException after {@link #shutdown()} or {@link #close()}
   */
  public void keepWarm(Allocation key, int minIdle) {
    if (key == null) {
      throw new IllegalArgumentException("key must not be null");
    }
    if (minIdle < 0) {
      throw new IllegalArgumentException("minIdle must be >= 0, was " + minIdle);
    }
    if (shutdown) {
      throw new IllegalStateException("connection manager is shut down");
    }
    if (!core.keepWarm(key, minIdle)) {
      throw closed();
    }
  }

  /**
   * Stops taking requests: allocate() then throws IllegalStateException. Closes the idle pool
   * and answers every pending request once with function "shutdown". Leased connections keep
   * working until their holders close them; then they are closed, not pooled. Idempotent.
   */
  public void shutdown() {
    shutdown = true;
    unregister();
    core.shutdown();
  }

  /**
   * {@link #shutdown()}, then closes leased connections too, stops the event loop thread and
   * waits for it (unless called on it). Afterwards the manager holds no socket. Idempotent.
   */
  @Override
  public void close() {
    shutdown = true;
    unregister();
    core.close();
  }

  /** Takes the manager's MXBean out of the platform MBean server, once (when it was in). */
  private void unregister() {
    Runnable u = jmxUnregister;
    if (u != null) {
      jmxUnregister = null;
      u.run();
    }
  }

  @Override
  public String toString() {
    return "ConnectionManager" + stats();
  }

  private long nextId() {
    if (shutdown) {
      throw new IllegalStateException("connection manager is shut down");
    }
    return ids.incrementAndGet();
  }

  private void submit(
      long id,
      Allocation a,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure,
      Throwable site) {
    if (!core.submit(id, a, a.isFresh(), onConnection, onFailure, site)) {
      throw closed();
    }
  }

  private static Duration positive(Duration d, String name) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(name + " must be positive, was " + d);
    }
    return d;
  }

  static long nanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** A request answered through a callback. */
  private static final class CallbackRequest
      implements BiConsumer<Connection, FromCache>, Consumer<Failure> {
    private final long id;
    private final Allocation allocation;
    private final Consumer<AllocationResult> event;

    CallbackRequest(long id, Allocation a, Consumer<AllocationResult> event) {
      this.id = id;
      this.allocation = a;
      this.event = event;
    }

    @Override
    public void accept(Connection connection, FromCache how) {
      deliver(new AllocationResult(id, allocation, connection, how, null, null, null));
    }

    @Override
    public void accept(Failure f) {
      deliver(new AllocationResult(
          id, allocation, null, null, f.functionName(), f.errorNum(), f.errorStr()));
    }

    private void deliver(AllocationResult result) {
      try {
        event.accept(result);
      } catch (VirtualMachineError e) {
        throw e; // out of memory or stack: the event loop cannot go on (see EventLoop.failure)
      } catch (RuntimeException | Error e) {
        LOG.log(Level.ERROR, "an allocation callback threw", e);
      }
    }
  }

  /** A request answered through a future; cancelling the future deallocates it. */
  private static final class FutureRequest
      implements BiConsumer<Connection, FromCache>, Consumer<Failure> {
    private final long id;
    private final Allocation allocation;
    final AllocationFuture future;

    FutureRequest(long id, Allocation a, ConnectionManager manager) {
      this.id = id;
      this.allocation = a;
      this.future = new AllocationFuture(manager, id);
    }

    @Override
    public void accept(Connection connection, FromCache how) {
      if (!future.complete(connection)) {
        connection.close(); // cancelled meanwhile: nobody will use it
      }
    }

    @Override
    public void accept(Failure f) {
      future.completeExceptionally(new AllocationException(new AllocationResult(
          id, allocation, null, null, f.functionName(), f.errorNum(), f.errorStr())));
    }
  }

  /** Cancelling it deallocates the request. */
  private static final class AllocationFuture extends CompletableFuture<Connection> {
    private static final long SPIN_NANOS = Long.getLong("dev.keepalive.spinMicros", 20) * 1000;

    private final ConnectionManager manager;
    private final long id;

    AllocationFuture(ConnectionManager manager, long id) {
      this.manager = manager;
      this.id = id;
    }

    /**
     * Polls briefly before parking: a pooled connection usually arrives within microseconds, and
     * a parked thread costs a wake-up on both sides.
     */
    private void spinUntilDone() {
      long end = System.nanoTime() + SPIN_NANOS;
      while (!isDone() && System.nanoTime() - end < 0) {
        Thread.onSpinWait();
      }
    }

    @Override
    public Connection get() throws InterruptedException, ExecutionException {
      spinUntilDone();
      return super.get();
    }

    @Override
    public Connection get(long timeout, TimeUnit unit)
        throws InterruptedException, ExecutionException, TimeoutException {
      spinUntilDone();
      return super.get(timeout, unit);
    }

    @Override
    public Connection join() {
      spinUntilDone();
      return super.join();
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      // Only the caller whose deallocate removed the request may cancel: two racing cancels must
      // not both return true (CompletableFuture.cancel says true again once it is cancelled),
      // and a request already answered completes with its answer instead.
      if (isDone() || !manager.deallocate(id)) {
        return false;
      }
      return super.cancel(mayInterruptIfRunning);
    }
  }

  /** The exception of a call after the manager closed, naming what ended its loop if anything. */
  private IllegalStateException closed() {
    Throwable died = core.failure();
    return died == null
        ? new IllegalStateException("connection manager is closed")
        : new IllegalStateException("connection manager's event loop failed: " + died, died);
  }
}
