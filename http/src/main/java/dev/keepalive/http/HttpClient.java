package dev.keepalive.http;

import dev.keepalive.ConnectionManager;
import dev.keepalive.ProxyServer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP/1.1 client over a {@link ConnectionManager}: each request gets a connection from the
 * manager (a kept-alive one when it can), and gives it back when the response was read to its
 * end and both sides allow reuse; otherwise the connection is discarded.
 *
 * <pre>{@code
 * try (ConnectionManager manager = ConnectionManager.create();
 *      HttpClient client = HttpClient.create(manager)) {
 *   HttpResponse r = client.sendBlocking(HttpRequest.get("http://127.0.0.1:8080/"));
 *   System.out.println(r.status() + " " + r.body().length + " bytes via " + r.servedBy());
 * }
 * }</pre>
 *
 * <p>{@link #send} never blocks: the response is read by a handler on the manager's event loop,
 * where the future completes (keep dependent stages short; never block in them).
 * {@link #sendStreaming} never blocks either: the response head is read on one of this client's
 * pool threads, which completes the future; the body is then read on the thread that reads
 * {@link HttpResponse#bodyStream()}, so a slow reader slows the server down instead of filling
 * memory. {@link #sendBlocking} waits for {@link #send}.
 *
 * <p>A request that fails on a reused connection (IMMEDIATE or DEFERRED) before any response
 * byte arrives is sent once more on a new connection when its method is idempotent (GET, HEAD,
 * PUT, DELETE, OPTIONS, TRACE), never for POST or PATCH; see {@link HttpResponse#retried()}.
 * A connection goes back to the pool only after a complete, well-framed response that neither
 * side marked "Connection: close", and is not reused past the server's "Keep-Alive: timeout".
 * Failures are {@link HttpException}s. Thread-safe.
 *
 * <p>By default: a {@link #DEFAULT_CONNECT_TIMEOUT connect timeout} and a
 * {@link #DEFAULT_RESPONSE_TIMEOUT response timeout}, redirects followed
 * ({@link Redirect#NORMAL}), and {@code Accept-Encoding: gzip, deflate} sent with the response
 * decoded transparently ({@link Builder#decompress}); each can be changed on the
 * {@link Builder}, the timeouts also per request.
 */
public final class HttpClient implements AutoCloseable {
  /** The User-Agent sent unless the request sets one. */
  public static final String DEFAULT_USER_AGENT = "keepalive/0.1";
  /** Default limit of a response head (status line and fields) and of a trailer block. */
  public static final int DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
  /** Largest body {@link #send} can collect (the largest Java array). */
  public static final int MAX_COLLECTED_BODY = Integer.MAX_VALUE - 8;
  /**
   * Default connect timeout: how long a request may wait for a connection from the manager
   * (resolving, connecting, TLS, or waiting for a free slot), 10 seconds.
   */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /**
   * Default response timeout: how long the client waits for response bytes once the request is
   * sent, and between two reads of the response, 30 seconds.
   */
  public static final Duration DEFAULT_RESPONSE_TIMEOUT = Duration.ofSeconds(30);
  /**
   * Default wait for a 100 (Continue) before a request that asked for it sends its body anyway,
   * 1 second.
   */
  public static final Duration DEFAULT_EXPECT_CONTINUE_TIMEOUT = Duration.ofSeconds(1);

  /** Most redirects followed for one request; the next one fails it. */
  public static final int MAX_REDIRECTS = 10;

  /**
   * Whether the client follows redirects (301, 302, 303, 307 and 308 with a Location), as the
   * JDK's {@code java.net.http.HttpClient.Redirect}.
   */
  public enum Redirect {
    /** Never: the 3xx response is the answer. */
    NEVER,
    /** Always, except from https to http (the 3xx response is then the answer). The default. */
    NORMAL,
    /** Always, even from https to http. */
    ALWAYS
  }

  private static final AtomicInteger THREADS = new AtomicInteger();

  final ConnectionManager manager;
  final int maxHeaderBytes;
  final int maxBodyBytes;
  final String userAgent;
  final Duration defaultTimeout;
  final Duration connectTimeout;
  final Duration responseTimeout;
  final Duration expectContinueTimeout;
  final Redirect redirect;
  final boolean decompress;
  final ProxyConfig proxies;
  final Path unixSocket;

  private final Set<Exchange> inFlight = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  /** The manager's event loop thread, as seen in its callbacks (sendBlocking refuses it). */
  private volatile Thread loopThread;

  private ScheduledThreadPoolExecutor timer;
  private ExecutorService readers;

  /**
   * When the one scheduled sweep of deadlines runs (System.nanoTime()), or NO_SWEEP. Timeouts
   * (the whole exchange's and the response's) are not timers of their own: an exchange records
   * its deadlines and only
   * makes sure that a sweep is due by then ({@link #watchResponse}), which costs a read of this
   * field when one is (the usual case: every deadline is later than the pending one). A sweep
   * looks at every exchange in flight, fails the late ones and schedules the next sweep for the
   * earliest deadline left. So a request costs no timer task scheduled and cancelled on the
   * event loop, and sweeps run about once per timeout while no exchange is late.
   */
  private final AtomicLong nextSweep = new AtomicLong(NO_SWEEP);

  private static final long NO_SWEEP = Long.MAX_VALUE;
  /** Sweeps run at least this far apart (nanoseconds), whatever the deadlines. */
  private static final long SWEEP_GAP = TimeUnit.MILLISECONDS.toNanos(1);

  private HttpClient(Builder b) {
    this.manager = b.manager;
    this.maxHeaderBytes = b.maxHeaderBytes;
    this.maxBodyBytes = b.maxBodyBytes;
    this.userAgent = b.userAgent;
    this.defaultTimeout = b.timeout;
    this.connectTimeout = b.connectTimeout;
    this.responseTimeout = b.responseTimeout;
    this.expectContinueTimeout = b.expectContinueTimeout;
    this.redirect = b.redirect;
    this.decompress = b.decompress;
    this.proxies = b.proxies;
    this.unixSocket = b.unixSocket;
  }

  /**
   * A client with every default over {@code manager}, which it uses but does not own.
   *
   * @throws IllegalArgumentException if manager is null
   */
  public static HttpClient create(ConnectionManager manager) {
    return builder(manager).build();
  }

  /**
   * Settings of a client over {@code manager}.
   *
   * @throws IllegalArgumentException if manager is null
   */
  public static Builder builder(ConnectionManager manager) {
    return new Builder(manager);
  }

  /** Settings of a new client; each setting is checked when it is made. */
  public static final class Builder {
    private final ConnectionManager manager;
    private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;
    private int maxBodyBytes = MAX_COLLECTED_BODY;
    private String userAgent = DEFAULT_USER_AGENT;
    private Duration timeout;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration responseTimeout = DEFAULT_RESPONSE_TIMEOUT;
    private Duration expectContinueTimeout = DEFAULT_EXPECT_CONTINUE_TIMEOUT;
    private Redirect redirect = Redirect.NORMAL;
    private boolean decompress = true;
    private ProxyConfig proxies = ProxyConfig.direct();
    private Path unixSocket;

    private Builder(ConnectionManager manager) {
      if (manager == null) {
        throw new IllegalArgumentException("manager must not be null");
      }
      this.manager = manager;
    }

    /** Most bytes of a response head, and of a trailer block; default 64 KiB. */
    public Builder maxHeaderBytes(int n) {
      if (n < 256) {
        throw new IllegalArgumentException("maxHeaderBytes must be >= 256, was " + n);
      }
      this.maxHeaderBytes = n;
      return this;
    }

    /**
     * Most body bytes {@link HttpClient#send} collects in memory; a longer body fails the
     * exchange (stage "receive"). Default and maximum {@link #MAX_COLLECTED_BODY}. Streamed
     * bodies have no limit.
     */
    public Builder maxBodyBytes(int n) {
      if (n < 0 || n > MAX_COLLECTED_BODY) {
        throw new IllegalArgumentException(
            "maxBodyBytes must be in 0.." + MAX_COLLECTED_BODY + ", was " + n);
      }
      this.maxBodyBytes = n;
      return this;
    }

    /** The User-Agent sent when a request sets none; default "keepalive/0.1". */
    public Builder userAgent(String userAgent) {
      if (userAgent == null
          || userAgent.isEmpty()
          || !dev.keepalive.http.internal.Syntax.isFieldValue(userAgent)) {
        throw new IllegalArgumentException("userAgent must be a non-empty field value, was "
            + (userAgent == null ? "null" : "\"" + userAgent + "\""));
      }
      this.userAgent = userAgent;
      return this;
    }

    /**
     * The timeout of the whole exchange for requests that set none (see
     * {@link HttpRequest.Builder#timeout}); default none: the exchange is then bounded by the
     * {@link #connectTimeout connect} and {@link #responseTimeout response} timeouts alone.
     */
    public Builder timeout(Duration timeout) {
      this.timeout = HttpRequest.checkTimeout(timeout);
      return this;
    }

    /**
     * How long a request may wait for a connection (passed to the manager as the allocation's
     * timeout: resolving, connecting, TLS, waiting for a free slot); default
     * {@link #DEFAULT_CONNECT_TIMEOUT}. A request's own {@link HttpRequest.Builder#connectTimeout}
     * wins.
     *
     * @throws IllegalArgumentException if null, zero or negative
     */
    public Builder connectTimeout(Duration timeout) {
      if (timeout == null) {
        throw new IllegalArgumentException("connectTimeout must not be null");
      }
      this.connectTimeout = HttpRequest.checkTimeout(timeout);
      return this;
    }

    /**
     * How long the client waits for the response once the request is sent: for its first byte,
     * then between any two reads of it (so a large body that keeps arriving never times out);
     * default {@link #DEFAULT_RESPONSE_TIMEOUT}, null for no limit. A request's own
     * {@link HttpRequest.Builder#responseTimeout} wins.
     *
     * @throws IllegalArgumentException if zero or negative
     */
    public Builder responseTimeout(Duration timeout) {
      this.responseTimeout = HttpRequest.checkTimeout(timeout);
      return this;
    }

    /**
     * How long a request with {@link HttpRequest.Builder#expectContinue} waits for the server's
     * 100 (Continue) before it sends its body anyway; default
     * {@link #DEFAULT_EXPECT_CONTINUE_TIMEOUT}.
     *
     * @throws IllegalArgumentException if null, zero or negative
     */
    public Builder expectContinueTimeout(Duration timeout) {
      if (timeout == null) {
        throw new IllegalArgumentException("expectContinueTimeout must not be null");
      }
      this.expectContinueTimeout = HttpRequest.checkTimeout(timeout);
      return this;
    }

    /**
     * Whether redirects are followed; default {@link Redirect#NORMAL}. Followed: 301 and 302
     * (a POST becomes a GET without body, other methods stay), 303 (anything but HEAD becomes a
     * GET without body), 307 and 308 (method and body kept), at most {@link #MAX_REDIRECTS} in a
     * row (one more fails the request, stage "receive"). When the origin (scheme, host, port)
     * changes, Authorization and Cookie fields are dropped. Each hop has the request's
     * timeouts. The final response tells {@link HttpResponse#uri()} and
     * {@link HttpResponse#redirects()}.
     *
     * @throws IllegalArgumentException if null
     */
    public Builder followRedirects(Redirect policy) {
      if (policy == null) {
        throw new IllegalArgumentException("policy must not be null");
      }
      this.redirect = policy;
      return this;
    }

    /**
     * Whether requests ask for {@code Accept-Encoding: gzip, deflate} and the client decodes such
     * responses transparently, collected or streamed (default true). Off for a request that sets
     * its own Accept-Encoding or {@link HttpRequest.Builder#decompress}(false): it gets the bytes
     * as sent. A decoded response has no Content-Encoding or Content-Length field; a body that
     * fails to decode fails the exchange (stage "parse").
     */
    public Builder decompress(boolean decompress) {
      this.decompress = decompress;
      return this;
    }

    /**
     * Which proxy each request goes through (default {@link ProxyConfig#direct()}): e.g. {@link
     * ProxyConfig#fromEnvironment()} for curl's {@code http_proxy}/{@code https_proxy}/{@code
     * no_proxy}, {@link ProxyConfig#of(ProxyServer)} for one proxy, or a JDK {@link
     * java.net.ProxySelector} through {@link ProxyConfig#of(java.net.ProxySelector)}. Through an
     * HTTP proxy, plain http requests are forwarded over pooled connections to the proxy (the
     * request line in absolute form, Proxy-Authorization from the proxy's credentials), and https
     * goes through a CONNECT tunnel per origin; through SOCKS5, everything is tunnelled. A proxy
     * refusing a tunnel fails the request with stage "connect" and the manager's function
     * "proxy".
     *
     * @throws IllegalArgumentException if {@code proxies} is null
     */
    public Builder proxy(ProxyConfig proxies) {
      if (proxies == null) {
        throw new IllegalArgumentException("proxies must not be null");
      }
      this.proxies = proxies;
      return this;
    }

    /**
     * Sends every request over the Unix domain socket at {@code path} (curl's {@code
     * --unix-socket}); the URL still names the host (the Host field, TLS) and the socket's
     * connections are pooled apart from TCP ones. Null (the default) for TCP.
     */
    public Builder unixSocket(Path path) {
      this.unixSocket = path;
      return this;
    }

    public HttpClient build() {
      return new HttpClient(this);
    }
  }

  /**
   * Sends {@code request}; the future completes (on the manager's event loop) with the response
   * and its body collected in memory, or exceptionally with an {@link HttpException}. Cancelling
   * the future abandons the exchange and discards its connection.
   *
   * @throws IllegalArgumentException if request is null
   * @throws IllegalStateException if this client is closed
   */
  public CompletableFuture<HttpResponse> send(HttpRequest request) {
    return start(request, false);
  }

  /**
   * Sends {@code request} and waits for the whole response.
   *
   * @throws HttpException when the exchange fails
   * @throws InterruptedIOException when interrupted (the exchange is then abandoned)
   * @throws IllegalArgumentException if request is null
   * @throws IllegalStateException if this client is closed, or when called on the manager's
   *     event loop thread (it would wait for itself)
   */
  public HttpResponse sendBlocking(HttpRequest request) throws IOException {
    if (Thread.currentThread() == loopThread) {
      throw new IllegalStateException("sendBlocking must not run on the connection manager's "
          + "event loop thread (use send)");
    }
    CompletableFuture<HttpResponse> f = send(request);
    try {
      return f.get();
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      InterruptedIOException ie =
          new InterruptedIOException("interrupted while waiting for " + request);
      ie.initCause(e);
      throw ie;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw new HttpException("receive", String.valueOf(cause), cause);
    }
  }

  /**
   * Sends {@code request}; the future completes with the response once its head arrived. Read
   * the body from {@link HttpResponse#bodyStream()} (blocking reads, on your thread) and close
   * that stream: read to its end it has already given the connection back to the pool; closed
   * before, it discards the connection. Memory use is bounded whatever the body's size: the
   * body is read from the socket only as the stream is read. Until the stream reached its end
   * or was closed, the response holds its connection, and with it one of the manager's
   * per-host slots.
   *
   * @throws IllegalArgumentException if request is null
   * @throws IllegalStateException if this client is closed
   */
  public CompletableFuture<HttpResponse> sendStreaming(HttpRequest request) {
    return start(request, true);
  }

  /**
   * Closes the client: later sends throw IllegalStateException, and exchanges still waiting for
   * a connection or a response fail (their connections are discarded). Responses already
   * delivered, and their body streams, keep working. The manager is not closed. Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    for (Exchange x : inFlight) {
      x.abort(new HttpException(x.stage(), "the HTTP client was closed"), false);
    }
    synchronized (this) {
      if (timer != null) {
        timer.shutdownNow();
      }
      if (readers != null) {
        readers.shutdown();
      }
    }
  }

  /** True once {@link #close()} was called. */
  public boolean isClosed() {
    return closed;
  }

  @Override
  public String toString() {
    return "HttpClient[" + (closed ? "closed, " : "") + inFlight.size() + " in flight, over "
        + manager + "]";
  }

  // ---- for exchanges ----

  private CompletableFuture<HttpResponse> start(HttpRequest request, boolean streaming) {
    if (request == null) {
      throw new IllegalArgumentException("request must not be null");
    }
    CompletableFuture<HttpResponse> first = exchange(request, streaming);
    if (redirect == Redirect.NEVER) {
      return first;
    }
    return new Redirects(this, streaming).follow(first);
  }

  /** One exchange, no redirect followed. */
  CompletableFuture<HttpResponse> exchange(HttpRequest request, boolean streaming) {
    if (closed) {
      throw new IllegalStateException("HTTP client is closed");
    }
    Exchange x = new Exchange(this, request, streaming);
    inFlight.add(x);
    if (closed) { // closed meanwhile: close() may have missed it
      inFlight.remove(x);
      throw new IllegalStateException("HTTP client is closed");
    }
    x.begin();
    return x.future;
  }

  void done(Exchange x) {
    inFlight.remove(x);
  }

  void onLoop() {
    Thread t = Thread.currentThread();
    if (loopThread != t) {
      loopThread = t;
    }
  }

  synchronized ScheduledFuture<?> schedule(Runnable task, Duration delay) {
    if (timer == null) {
      timer = new ScheduledThreadPoolExecutor(1, daemon("keepalive-http-timer-"));
      timer.setRemoveOnCancelPolicy(true);
    }
    long nanos;
    try {
      nanos = delay.toNanos();
    } catch (ArithmeticException e) {
      return null; // beyond any wait
    }
    try {
      return timer.schedule(task, nanos, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return null; // closing
    }
  }

  /**
   * Makes sure a sweep of response deadlines runs by {@code deadline} (System.nanoTime()), a
   * deadline an exchange in flight has just set (after setting it, so that a sweep starting
   * meanwhile sees it). Any thread.
   */
  void watchResponse(long deadline) {
    while (true) {
      long next = nextSweep.get();
      if (next != NO_SWEEP && next - deadline <= 0) {
        return; // a sweep is due first: it will see this deadline, or the next one will
      }
      if (nextSweep.compareAndSet(next, deadline)) {
        // an earlier sweep replaces the one pending, which finds itself stale and does nothing
        schedule(
            () -> sweep(deadline), Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        return;
      }
    }
  }

  /**
   * On the timer thread: fails the exchanges past their deadline (the whole exchange's timeout or
   * the response timeout), plans the next.
   */
  private void sweep(long at) {
    if (!nextSweep.compareAndSet(at, NO_SWEEP)) {
      return; // replaced by an earlier sweep, which took over
    }
    long now = System.nanoTime();
    long earliest = NO_SWEEP;
    for (Exchange x : inFlight) {
      long d = x.deadline();
      if (d == NO_SWEEP) {
        continue;
      }
      if (d - now <= 0) {
        x.timedOut(now);
      } else if (earliest == NO_SWEEP || d - earliest < 0) {
        earliest = d;
      }
    }
    if (earliest != NO_SWEEP) {
      watchResponse(earliest - (now + SWEEP_GAP) < 0 ? now + SWEEP_GAP : earliest);
    }
  }

  /** Runs a blocking response-head read of a streamed exchange on a pool thread. */
  synchronized boolean read(Runnable task) {
    if (readers == null) {
      readers = new ThreadPoolExecutor(
          0,
          Integer.MAX_VALUE,
          30,
          TimeUnit.SECONDS,
          new SynchronousQueue<>(),
          daemon("keepalive-http-reader-"));
    }
    try {
      readers.execute(task);
      return true;
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return false;
    }
  }

  private static ThreadFactory daemon(String prefix) {
    return r -> {
      Thread t = new Thread(r, prefix + THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
