package dev.keepalive;

import dev.keepalive.internal.Failure;
import dev.keepalive.internal.ManagerCore;
import dev.keepalive.internal.Settings;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
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
  private volatile boolean shutdown;

  private ConnectionManager(Builder b) {
    this.core = new ManagerCore(new Settings(b.maxPerHost, b.maxOpen, nanos(b.keepAlive),
        nanos(b.timeout), b.resolver, b.bindAddress, b.sslContext, b.sslParameters,
        Set.copyOf(b.tlsSchemes), b.maxPendingWriteBytes));
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
    private final Set<String> tlsSchemes = new HashSet<>(Set.of("https"));
    private long maxPendingWriteBytes = 16L << 20;

    private Builder() {}

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

    /** Starts the manager's event loop. */
    public ConnectionManager build() {
      return new ConnectionManager(this);
    }
  }

  /**
   * Asks for a connection (callback style, as in Perl's POE::Component::Client::Keepalive). Returns the request id (> 0, unique in this manager) at
   * once; {@code event} gets the result later, exactly once, on the event loop thread, never
   * inside this call, unless the request is cancelled by {@link #deallocate}.
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
    submit(id, request, r, r);
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
    submit(id, request, r, r);
    return r.future;
  }

  /**
   * Cancels a request not yet answered, in whatever phase it is (resolving, queued, connecting).
   * Its event is then never called and every slot it held is released.
   *
   * @return true if it was cancelled; false if the id is unknown or already answered
   */
  public boolean deallocate(long requestId) {
    return core.cancel(requestId);
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
   * Stops taking requests: allocate() then throws IllegalStateException. Closes the idle pool
   * and answers every pending request once with function "shutdown". Leased connections keep
   * working until their holders close them; then they are closed, not pooled. Idempotent.
   */
  public void shutdown() {
    shutdown = true;
    core.shutdown();
  }

  /**
   * {@link #shutdown()}, then closes leased connections too, stops the event loop thread and
   * waits for it (unless called on it). Afterwards the manager holds no socket. Idempotent.
   */
  @Override
  public void close() {
    shutdown = true;
    core.close();
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

  private void submit(long id, Allocation a, BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure) {
    if (!core.submit(id, a, a.isFresh(), onConnection, onFailure)) {
      throw new IllegalStateException("connection manager is closed");
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
      deliver(new AllocationResult(id, allocation, null, null, f.functionName(), f.errorNum(),
          f.errorStr()));
    }

    private void deliver(AllocationResult result) {
      try {
        event.accept(result);
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
      future.completeExceptionally(new AllocationException(new AllocationResult(id, allocation,
          null, null, f.functionName(), f.errorNum(), f.errorStr())));
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
}
