package dev.keepalive.http;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.FromCache;
import dev.keepalive.ProxyServer;
import dev.keepalive.http.internal.ResponseDecoder;
import dev.keepalive.http.internal.Syntax;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One request's exchange, over one or two attempts (a retry). Each attempt allocates a
 * connection (callback on the event loop), writes the request with {@link Connection#write},
 * and reads the response:
 *
 * <ul>
 *   <li>collected ({@code send}): a {@link ConnectionHandler} state machine on the event loop
 *       feeds a {@link ResponseDecoder} and completes the future there;
 *   <li>streamed ({@code sendStreaming}): a client pool thread reads the head through
 *       {@link Connection#inputStream()}, completes the future, and the user's thread reads the
 *       body through the same stream ({@link StreamingBody}), so a slow reader holds back the
 *       socket instead of filling memory (a started handler cannot be paused).
 * </ul>
 *
 * <p>{@link #done} decides the outcome exactly once, whichever comes first: the response, a
 * failure, the timeout, cancellation, or the client's close. The winner disposes of the
 * connection; a loser that holds one discards it.
 */
final class Exchange implements Consumer<AllocationResult>, ConnectionHandler {
  private static final System.Logger LOG = System.getLogger("dev.keepalive.http");

  private static final int SMALL_BODY = 16 * 1024;
  private static final int READ_BUFFER = 16 * 1024;
  private static final int UPLOAD_BUFFER = 16 * 1024;
  private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  final HttpClient client;
  final HttpRequest request;
  final boolean streaming;
  final ResponseFuture future = new ResponseFuture(this);
  private final Duration timeout;
  private final Duration connectTimeout;
  private final Duration responseTimeout;
  private final boolean idempotent;
  private final boolean headRequest;
  private final boolean requestClose;
  /** True when the request asks for gzip or deflate, which the client then undoes. */
  private final boolean decoding;
  /** The HTTP proxy a plain http request is forwarded through (absolute form), else null. */
  private ProxyServer forward;

  private final AtomicBoolean done = new AtomicBoolean();
  private volatile String stage = "connect";
  private volatile Connection conn;
  private volatile long allocationId;
  /** The id of the manager's request whose connection the current attempt uses. */
  private volatile long servedId;
  /** The current attempt's request head as written (it may have a small body after it). */
  private volatile byte[] sentHead;

  private volatile boolean retried;
  private volatile boolean mustBeNew;
  /**
   * When the whole exchange times out (System.nanoTime(): its start plus the timeout), or
   * NO_DEADLINE. Not a timer of its own: the client's sweep enforces it with the response
   * deadline ({@link #deadline()}), so a request schedules and cancels no timer task.
   */
  private final long overallDeadline;
  /** The response timeout in nanoseconds; NO_DEADLINE for none. */
  private final long responseNanos;
  /** Whether the response timeout runs (from the request's end until the outcome). */
  private volatile boolean responseArmed;
  /** System.nanoTime() of the last sign of life of the response (or of the request's end). */
  private volatile long lastInput;

  /** {@link #responseDeadline()} when there is none. */
  static final long NO_DEADLINE = Long.MAX_VALUE;

  // the current attempt
  private ResponseDecoder decoder;
  private volatile boolean sawByte;
  private volatile int writesPending;
  private volatile IOException writeError;
  private byte[] body;
  private int bodyLen;
  /** The body's sending, waiting for a 100 (Continue); null when nothing waits. */
  private final AtomicReference<Runnable> continueAction = new AtomicReference<>();

  Exchange(HttpClient client, HttpRequest request, boolean streaming) {
    this.client = client;
    this.request = request;
    this.streaming = streaming;
    this.timeout = request.timeout() != null ? request.timeout() : client.defaultTimeout;
    Duration ct =
        request.connectTimeout() != null ? request.connectTimeout() : client.connectTimeout;
    this.connectTimeout = timeout != null && timeout.compareTo(ct) < 0 ? timeout : ct;
    this.responseTimeout =
        request.responseTimeout() != null ? request.responseTimeout() : client.responseTimeout;
    this.responseNanos = responseNanos(responseTimeout);
    long overall = responseNanos(timeout);
    this.overallDeadline = overall == NO_DEADLINE ? NO_DEADLINE : System.nanoTime() + overall;
    String m = request.method();
    this.idempotent = Syntax.isIdempotent(m);
    this.headRequest = m.equals("HEAD");
    this.requestClose = request.connectionClose();
    this.decoding = request.wantsDecoding(client.decompress);
  }

  String stage() {
    return stage;
  }

  void begin() {
    if (overallDeadline != NO_DEADLINE) {
      client.watchResponse(overallDeadline);
    }
    allocate();
  }

  private void allocate() {
    stage = "connect";
    try {
      Allocation a = route(request.allocation(connectTimeout));
      allocationId = client.manager.allocate(mustBeNew ? a.fresh() : a, this);
    } catch (IllegalStateException e) {
      fail(new HttpException(
          "connection manager is shut down",
          e,
          "shutdown",
          null,
          "connection manager is shut down"));
    }
  }

  /**
   * The allocation {@code a} goes out as on this client's route: over its Unix domain socket if
   * it has one; through the proxy its {@link ProxyConfig} chooses for the request's URI: plain
   * http through an HTTP proxy is forwarded over a pooled connection to the proxy (the request
   * in absolute form), anything else goes through a tunnel.
   */
  private Allocation route(Allocation a) {
    Allocation routed = client.unixSocket == null ? a : a.unixSocket(client.unixSocket);
    ProxyServer p = client.proxies.select(request.uri());
    forward = null;
    if (p == null) {
      return routed;
    }
    if (p.type() == ProxyServer.Type.HTTP && a.scheme().equals("http")) {
      forward = p;
      Allocation toProxy = Allocation.to("http", p.host(), p.port());
      if (a.timeout() != null) {
        toProxy = toProxy.timeout(a.timeout());
      }
      return client.unixSocket == null ? toProxy : toProxy.unixSocket(client.unixSocket);
    }
    return routed.via(p);
  }

  // ---- allocation result, on the loop ----

  @Override
  public void accept(AllocationResult r) {
    client.onLoop();
    if (done.get()) {
      if (r.isSuccess()) {
        r.connection().close(); // unused: back to the pool
      }
      return;
    }
    if (!r.isSuccess()) {
      AllocationException e = new AllocationException(r);
      fail(new HttpException("connect", e.getMessage(), e));
      return;
    }
    Connection c = r.connection();
    servedId = r.requestId();
    conn = c;
    if (done.get()) { // aborted meanwhile (timeout, cancel, close): it may have missed c
      c.discard();
      return;
    }
    try {
      send(c);
    } catch (RuntimeException e) { // e.g. the connection was closed under us (manager closing)
      failAttempt(c, new HttpException("send", "could not send the request: " + e, e));
    }
  }

  private void send(Connection c) {
    decoder = new ResponseDecoder(client.maxHeaderBytes, headRequest);
    sawByte = false;
    writeError = null;
    body = null;
    bodyLen = 0;
    stage = "send";
    continueAction.set(null);
    if (!streaming) {
      c.start(this);
    }
    HttpRequest.Wire w = request.wire(client.userAgent, decoding, forward, SMALL_BODY);
    if (w != null) {
      sentHead = w.head();
      if (w.body() == null) {
        writesPending = 1;
        write(c, ByteBuffer.wrap(w.head()));
      } else {
        writesPending = 2;
        write(c, ByteBuffer.wrap(w.head()));
        Runnable sendBody = () -> write(c, ByteBuffer.wrap(w.body()));
        if (request.expectContinue()) {
          awaitContinue(c, sendBody);
        } else {
          sendBody.run();
        }
      }
    } else {
      RequestBody rb = request.requestBody();
      long length;
      try {
        length = rb.lengthForSending();
      } catch (IOException e) {
        failAttempt(c, new HttpException("send", "could not read the request body: " + e, e));
        return;
      }
      writesPending = length == 0 ? 1 : 2;
      byte[] head = request.head(client.userAgent, decoding, forward, length);
      sentHead = head;
      write(c, ByteBuffer.wrap(head));
      if (length != 0) {
        Runnable sendBody = () -> {
          if (!client.read(() -> upload(c, rb, length))) {
            abort(new HttpException(stage, "the HTTP client was closed"), false);
          }
        };
        if (request.expectContinue()) {
          awaitContinue(c, sendBody);
        } else {
          sendBody.run();
        }
      }
    }
    if (streaming && !client.read(() -> readHead(c))) {
      abort(new HttpException(stage, "the HTTP client was closed"), false);
    }
  }

  // ---- Expect: 100-continue ----

  /** The head went out alone: the body follows a 100, or the timeout, whichever comes first. */
  private void awaitContinue(Connection c, Runnable sendBody) {
    continueAction.set(sendBody);
    client.schedule(() -> releaseBody(c), client.expectContinueTimeout);
  }

  /** A 100 (Continue) arrived, or the wait for it ended: send the body, once. */
  private void releaseBody(Connection c) {
    if (c != conn || done.get()) {
      return;
    }
    Runnable r = continueAction.getAndSet(null);
    if (r != null) {
      r.run();
    }
  }

  /** After head bytes were parsed: a 100 releases the body, a final status first cancels it. */
  private void afterHeadInput(Connection c, ResponseDecoder d, boolean headDone) {
    if (continueAction.get() == null) {
      return;
    }
    if (d.sawContinue()) {
      releaseBody(c);
    } else if (headDone) {
      continueAction.set(null); // never sent: writesPending stays above 0, c is not reused
      armResponseTimer(); // the rest of the response is bounded as after a complete request
    }
  }

  // ---- file and stream bodies, on a client pool thread ----

  /**
   * Sends a file or stream body: {@code length} bytes with Content-Length, or chunked when -1.
   * Each write waits for the socket (so memory stays bounded); the last one reports through
   * {@link #onWritten} like an in-memory body.
   */
  private void upload(Connection c, RequestBody rb, long length) {
    boolean chunked = length < 0;
    byte[] buf = new byte[UPLOAD_BUFFER];
    long sent = 0;
    try (InputStream in = rb.open()) {
      while (true) {
        if (c != conn || done.get()) {
          return;
        }
        int max = chunked ? buf.length : (int) Math.min(buf.length, length - sent);
        int n = in.read(buf, 0, max);
        if (n < 0) {
          if (!chunked) {
            throw new HttpException(
                "send", "the request body ended after " + sent + " of its " + length + " bytes");
          }
          write(c, ByteBuffer.wrap(LAST_CHUNK));
          return;
        }
        sent += n;
        ByteBuffer piece;
        if (chunked) {
          byte[] size = (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII);
          byte[] frame = new byte[size.length + n + 2];
          System.arraycopy(size, 0, frame, 0, size.length);
          System.arraycopy(buf, 0, frame, size.length, n);
          frame[frame.length - 2] = '\r';
          frame[frame.length - 1] = '\n';
          piece = ByteBuffer.wrap(frame);
        } else {
          piece = ByteBuffer.wrap(buf, 0, n);
          if (sent == length) {
            if (in.read() >= 0) {
              throw new HttpException(
                  "send", "the request body is longer than its length of " + length + " bytes");
            }
            write(c, piece);
            return;
          }
        }
        if (n > 0) {
          c.write(piece).get();
        }
      }
    } catch (HttpException e) {
      if (c == conn) {
        failAttempt(c, e);
      }
    } catch (IOException e) {
      if (c == conn) {
        failAttempt(c, new HttpException("send", "reading the request body failed: " + e, e));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (c == conn) {
        failAttempt(c, new HttpException("send", "interrupted while sending the body", e));
      }
    } catch (ExecutionException e) {
      onWritten(c, e.getCause() != null ? e.getCause() : e);
    } catch (RuntimeException e) {
      if (c == conn) {
        failAttempt(c, new HttpException("send", "sending the request body failed: " + e, e));
      }
    }
  }

  private void write(Connection c, ByteBuffer src) {
    c.write(src).whenComplete((v, e) -> onWritten(c, e));
  }

  /** A write finished (on the loop). */
  private void onWritten(Connection c, Throwable e) {
    if (c != conn || done.get()) {
      return;
    }
    if (e == null) {
      if (--writesPending == 0) {
        if ("send".equals(stage)) {
          stage = "receive";
        }
        armResponseTimer();
      }
      return;
    }
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    writeError = cause instanceof IOException ? (IOException) cause : new IOException(cause);
    if (streaming) {
      if (!sawByte) {
        c.discard(); // wakes the head reader, which decides (retry or fail)
      }
      return;
    }
    if (!sawByte) {
      failedBeforeResponse(c, "send", writeError);
    }
    // else: a response is arriving (maybe an early error answer); read it, never reuse
  }

  // ---- collected: the handler, on the loop ----

  @Override
  public void onInput(Connection c, ByteBuffer data) {
    if (c != conn || done.get()) {
      return;
    }
    sawByte = true;
    stage = "receive";
    lastInput = System.nanoTime();
    try {
      ResponseDecoder d = decoder;
      if (!d.headDone()) {
        boolean headDone = d.parseHead(data);
        afterHeadInput(c, d, headDone);
        if (!headDone) {
          return;
        }
        long length = d.contentLength();
        if (length > client.maxBodyBytes) {
          throw tooLong();
        }
        body = new byte[(int) Math.min(Math.max(length, 0), 1 << 20)];
      }
      ByteBuffer s;
      while ((s = d.readBody(data, Integer.MAX_VALUE)) != null) {
        append(s);
      }
      if (d.isComplete()) {
        finishCollected(c, data.hasRemaining());
      }
    } catch (HttpException e) {
      failAttempt(c, e);
    }
  }

  private void append(ByteBuffer s) throws HttpException {
    int n = s.remaining();
    if (n > client.maxBodyBytes - bodyLen) {
      throw tooLong();
    }
    if (bodyLen + n > body.length) {
      long grown = Math.max((long) body.length * 2, (long) bodyLen + n);
      body = Arrays.copyOf(body, (int) Math.min(grown, HttpClient.MAX_COLLECTED_BODY));
    }
    s.get(body, bodyLen, n);
    bodyLen += n;
  }

  private HttpException tooLong() {
    return new HttpException(
        "receive",
        "response body longer than maxBodyBytes (" + client.maxBodyBytes
            + "); use sendStreaming for large bodies");
  }

  @Override
  public void onEof(Connection c) {
    if (c != conn || done.get()) {
      return;
    }
    if (!sawByte) {
      failedBeforeResponse(c, "receive", new EOFException("connection closed by the server"));
      return;
    }
    try {
      decoder.endOfInput();
      finishCollected(c, false);
    } catch (HttpException e) {
      failAttempt(c, e);
    }
  }

  @Override
  public void onError(Connection c, IOException error) {
    if (c != conn || done.get()) {
      return;
    }
    if (!sawByte) {
      failedBeforeResponse(c, "receive", error);
      return;
    }
    failAttempt(c, new HttpException("receive", "reading the response failed: " + error, error));
  }

  private void finishCollected(Connection c, boolean extraBytes) {
    ResponseDecoder d = decoder;
    byte[] b =
        body == null ? new byte[0] : bodyLen == body.length ? body : Arrays.copyOf(body, bodyLen);
    HttpHeaders headers = HttpHeaders.wrap(d.fields());
    String coding = decoding && d.framing() != ResponseDecoder.Framing.NONE
        ? ContentDecoding.coding(headers)
        : null;
    if (coding != null) {
      try {
        b = ContentDecoding.decode(b, coding, client.maxBodyBytes);
      } catch (HttpException e) {
        failAttempt(c, e);
        return;
      }
      headers = ContentDecoding.decodedHeaders(headers);
    }
    if (!done.compareAndSet(false, true)) {
      return; // lost to a timeout or cancel, which discards c
    }
    end();
    HttpResponse response = new HttpResponse(
        request,
        d.version(),
        d.status(),
        d.reason(),
        headers,
        HttpHeaders.wrap(d.trailers()),
        b,
        null,
        null,
        c.fromCache(),
        retried);
    response.served(servedId, c.remoteAddress(), c.sslSession(), sentHead); // while c is held
    giveBack(c, d, extraBytes);
    future.complete(response);
  }

  /**
   * The response is complete: pool the connection if everything allows it, else discard. The
   * server's Keep-Alive parameters limit its reuse: {@code timeout=N} to N seconds of idle time
   * less a margin of min(1 s, N/2) (the server's clock started while the response was in
   * flight), {@code max=N} to N more requests.
   */
  void giveBack(Connection c, ResponseDecoder d, boolean extraBytes) {
    long keepAliveSeconds = d.keepAliveTimeoutSeconds();
    long max = d.keepAliveMax();
    boolean reuse = d.reusable()
        && !extraBytes
        && !requestClose
        && writesPending == 0
        && writeError == null
        && keepAliveSeconds != 0
        && max != 0;
    if (!reuse) {
      if (LOG.isLoggable(Level.DEBUG)) {
        LOG.log(
            Level.DEBUG,
            "discarding the connection to {0} after {1} {2}: {3}",
            c.remoteAddress(),
            request.method(),
            request.uri(),
            !d.reusable()
                ? "the response ends the connection (Connection: close, HTTP/1.0 or read to EOF)"
                : extraBytes
                    ? "bytes arrived past the response's end"
                    : requestClose
                        ? "the request said Connection: close"
                        : writesPending != 0 || writeError != null
                            ? "the request body was not wholly sent"
                            : "the server's Keep-Alive allows no more reuse");
      }
      c.discard();
      return;
    }
    if (keepAliveSeconds > 0) {
      Duration timeout = Duration.ofSeconds(Math.min(keepAliveSeconds, 1_000_000_000L));
      Duration margin = timeout.dividedBy(2);
      c.keepAliveTimeout(timeout.minus(margin.compareTo(SECOND) < 0 ? margin : SECOND));
    }
    if (max > 0) {
      c.keepAliveMax((int) Math.min(max, Integer.MAX_VALUE));
    }
    c.close();
  }

  private static final Duration SECOND = Duration.ofSeconds(1);

  // ---- streamed: the head, on a client pool thread ----

  private void readHead(Connection c) {
    byte[] buf = new byte[READ_BUFFER];
    try {
      InputStream in = c.inputStream();
      ResponseDecoder d = decoder;
      while (true) {
        if (c != conn || done.get()) {
          return;
        }
        int n = in.read(buf, 0, buf.length);
        if (n < 0) {
          if (!sawByte) {
            failedBeforeResponse(
                c,
                writeError != null ? "send" : "receive",
                writeError != null
                    ? writeError
                    : new EOFException("connection closed by the " + "server"));
          } else {
            d.endOfInput(); // throws: the head is not complete
          }
          return;
        }
        sawByte = true;
        stage = "receive";
        lastInput = System.nanoTime();
        ByteBuffer data = ByteBuffer.wrap(buf, 0, n);
        boolean headDone = d.parseHead(data);
        afterHeadInput(c, d, headDone);
        if (headDone) {
          deliverStream(c, d, data);
          return;
        }
      }
    } catch (HttpException e) {
      failAttempt(c, e);
    } catch (IOException | RuntimeException e) {
      if (c != conn || done.get()) {
        return; // discarded by an abort or a retry: nothing to say
      }
      if (!sawByte) {
        IOException cause = writeError != null
            ? writeError
            : e instanceof IOException ? (IOException) e : new IOException(e);
        failedBeforeResponse(c, writeError != null ? "send" : "receive", cause);
      } else {
        failAttempt(c, new HttpException("receive", "reading the response failed: " + e, e));
      }
    }
  }

  private void deliverStream(Connection c, ResponseDecoder d, ByteBuffer rest) {
    if (!done.compareAndSet(false, true)) {
      return;
    }
    end();
    Duration rt = bodyReadTimeout();
    if (rt != null) {
      c.readTimeout(rt); // from here on each body read waits at most this long
    }
    StreamingBody stream = new StreamingBody(this, c, d, rest);
    HttpHeaders headers = HttpHeaders.wrap(d.fields());
    String coding = decoding && d.framing() != ResponseDecoder.Framing.NONE
        ? ContentDecoding.coding(headers)
        : null;
    ContentDecoding.Stream decoded = null;
    if (coding != null) {
      decoded = new ContentDecoding.Stream(stream, coding);
      headers = ContentDecoding.decodedHeaders(headers);
    }
    HttpResponse response = new HttpResponse(
        request,
        d.version(),
        d.status(),
        d.reason(),
        headers,
        HttpHeaders.empty(),
        null,
        stream,
        decoded,
        c.fromCache(),
        retried);
    response.served(servedId, c.remoteAddress(), c.sslSession(), sentHead);
    stream.response(response);
    if (d.isComplete()) {
      stream.complete(); // no body: the connection goes back now
    }
    future.complete(response);
  }

  Duration timeout() {
    return timeout;
  }

  /** How long one read of a streamed body may wait: the shorter of the two timeouts, or null. */
  Duration bodyReadTimeout() {
    if (responseTimeout == null) {
      return timeout;
    }
    return timeout != null && timeout.compareTo(responseTimeout) < 0 ? timeout : responseTimeout;
  }

  /** The timeout in nanoseconds, or NO_DEADLINE for none (null, or beyond a century). */
  private static long responseNanos(Duration rt) {
    if (rt == null || rt.compareTo(CENTURY) > 0) {
      return NO_DEADLINE;
    }
    return rt.toNanos();
  }

  private static final Duration CENTURY = Duration.ofDays(36_525);

  /**
   * The request is sent: from now on the response must show life within the timeout. The
   * client's sweep ({@link HttpClient#watchResponse}) enforces it, from {@link #lastInput}.
   */
  private void armResponseTimer() {
    if (responseNanos == NO_DEADLINE || done.get()) {
      return;
    }
    long now = System.nanoTime();
    lastInput = now;
    responseArmed = true;
    client.watchResponse(now + responseNanos);
  }

  /**
   * When the response is late (System.nanoTime()): its last sign of life plus the response
   * timeout; NO_DEADLINE when no response timeout runs. Any thread.
   */
  long responseDeadline() {
    if (!responseArmed || done.get()) {
      return NO_DEADLINE;
    }
    return lastInput + responseNanos;
  }

  /**
   * The earlier of the whole exchange's deadline and the response's (System.nanoTime()), or
   * NO_DEADLINE. Any thread.
   */
  long deadline() {
    long r = responseDeadline();
    return r == NO_DEADLINE || (overallDeadline != NO_DEADLINE && overallDeadline - r < 0)
        ? overallDeadline
        : r;
  }

  /**
   * The client's sweep found this exchange past {@link #deadline()} at {@code now} (timer
   * thread): the whole exchange's timeout when it has passed, else the response's.
   */
  void timedOut(long now) {
    if (overallDeadline != NO_DEADLINE && overallDeadline - now <= 0) {
      onTimeout();
    } else {
      responseTimedOut();
    }
  }

  /** The response is past its deadline. */
  private void responseTimedOut() {
    if (done.get()) {
      return;
    }
    abort(
        new HttpException(
            "receive",
            "timed out: no response byte within the response timeout of " + responseTimeout
                + (sawByte ? " (the response stalled)" : " after the request was sent")),
        false);
  }

  private void cancelResponseTimer() {
    responseArmed = false;
  }

  // ---- failures ----

  /**
   * The attempt on {@code c} failed before any response byte. On a reused connection an
   * idempotent request goes once more, on a new connection; otherwise the exchange fails.
   */
  private void failedBeforeResponse(Connection c, String where, IOException cause) {
    c.discard();
    FromCache how = c.fromCache();
    if (done.get()) {
      return;
    }
    if (how != FromCache.NEW && !retried && idempotent) {
      if (LOG.isLoggable(Level.DEBUG)) {
        LOG.log(
            Level.DEBUG,
            "retrying {0} {1} on a new connection: the reused ({2}) one to {3} failed at {4} ({5})",
            request.method(),
            request.uri(),
            how,
            c.remoteAddress(),
            where,
            String.valueOf(cause));
      }
      retried = true;
      mustBeNew = true;
      conn = null;
      cancelResponseTimer();
      allocate();
      return;
    }
    String what = where.equals("send")
        ? "sending the request failed (" + cause + ")"
        : "the connection closed or failed before any response byte (" + cause + ")";
    String why;
    if (how == FromCache.NEW) {
      why = retried ? "; this was already the retry on a new connection" : "";
    } else {
      why = "; the request went out on a reused (" + how + ") connection, but " + request.method()
          + " is not idempotent, so it was not retried";
    }
    fail(new HttpException(where, what + why, cause));
  }

  /** The attempt on {@code c} failed after the response began: no retry. */
  void failAttempt(Connection c, HttpException e) {
    if (LOG.isLoggable(Level.DEBUG)) {
      LOG.log(
          Level.DEBUG,
          "discarding the connection to {0}: {1} {2} failed ({3})",
          c.remoteAddress(),
          request.method(),
          request.uri(),
          e.getMessage());
    }
    c.discard();
    fail(e);
  }

  private void fail(HttpException e) {
    if (!done.compareAndSet(false, true)) {
      return;
    }
    end();
    Connection c = conn;
    if (c != null) {
      c.discard();
    }
    future.completeExceptionally(e);
  }

  /** From any thread: a timeout, the future's cancel(), or the client's close(). */
  void abort(HttpException e, boolean cancel) {
    if (!done.compareAndSet(false, true)) {
      return;
    }
    end();
    long id = allocationId;
    if (id != 0) {
      client.manager.deallocate(id); // false when it was already answered: accept() cleans up
    }
    Connection c = conn;
    if (c != null) {
      c.discard();
    }
    if (cancel) {
      future.cancelled();
    } else {
      future.completeExceptionally(e);
    }
  }

  private void onTimeout() {
    String where = stage;
    String waiting = where.equals("connect")
        ? "waiting for a connection"
        : where.equals("send") ? "sending the request" : "waiting for the response";
    abort(new HttpException(where, "timed out after " + timeout + " " + waiting), false);
  }

  /** The outcome is decided: leave the client's in-flight set (and so its sweeps). */
  private void end() {
    cancelResponseTimer();
    client.done(this);
  }

  /** The future {@code send} returns: cancelling it abandons the exchange. */
  static final class ResponseFuture extends CompletableFuture<HttpResponse> {
    private final Exchange exchange;

    ResponseFuture(Exchange exchange) {
      this.exchange = exchange;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (isDone()) {
        return false;
      }
      exchange.abort(null, true);
      return isCancelled();
    }

    void cancelled() {
      super.cancel(false);
    }
  }
}
