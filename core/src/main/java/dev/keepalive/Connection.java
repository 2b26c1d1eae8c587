package dev.keepalive;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLSession;

/**
 * A connected socket lent by a {@link ConnectionManager}: one object per hand-out.
 *
 * <p>Give it back with {@link #close()} when the stream is at a message boundary (nothing unread,
 * nothing half-written): the manager checks it and keeps it alive for the next request to the
 * same key. Use {@link #discard()} when the stream is not reusable. A connection that becomes
 * unreachable without either is reclaimed: its socket is closed and a warning is logged.
 *
 * <p>After close() or discard() every method of this object fails or reports closed; the socket
 * may already serve another holder, who never sees this holder's events.
 *
 * <p>Choose one way of reading per hand-out: {@link #start} (events on the loop),
 * {@link #inputStream()} (blocking, on your thread) or {@link #channel()} (non-blocking). Writes
 * through {@link #write} and {@link #outputStream()} may be mixed: both go through one ordered
 * queue.
 */
public interface Connection extends AutoCloseable {
  String scheme();

  String addr();

  int port();

  /** NEW, IMMEDIATE or DEFERRED. */
  FromCache fromCache();

  /** The local address of the socket; null over a Unix domain socket, or once closed. */
  InetSocketAddress localAddress();

  /**
   * The address of the peer the socket is connected to (the proxy's through a proxy); null over
   * a Unix domain socket, or once closed.
   */
  InetSocketAddress remoteAddress();

  /** True until this holder closes or discards it, or the socket fails or is closed by the manager. */
  boolean isOpen();

  /** The TLS session for a TLS scheme ("https" or one registered with the builder), else null. */
  SSLSession sslSession();

  /**
   * A non-blocking channel over the socket, valid for this hand-out only: a read may return 0.
   * Closing it discards the connection.
   */
  ByteChannel channel();

  /**
   * Delivers input to {@code handler} on the event loop until EOF, error, close() or discard().
   * A second call replaces the handler.
   */
  void start(ConnectionHandler handler);

  /**
   * Writes {@code src} after every earlier write; the future completes (on the event loop) when
   * all of it is written, futures in the order of their writes. Do not touch {@code src} until
   * then. Backpressure: while earlier writes are pending and this one would take the pending
   * bytes past the manager's {@code maxPendingWriteBytes}, the write is not queued and its
   * future fails with {@link java.nio.channels.WritePendingException} as its cause (a single
   * write into an empty queue is always taken). Like every call from another thread, the check
   * runs on the event loop, in order with earlier writes. A write error fails this and every
   * later pending write.
   */
  CompletableFuture<Void> write(ByteBuffer src);

  /** Bytes handed to {@link #write} (or the output stream) and not yet taken by the socket. */
  long pendingWriteBytes();

  /**
   * A blocking view for reading on the caller's thread (never the event loop thread). Reads
   * wait at most {@link #readTimeout(Duration)}, then throw {@link java.net.SocketTimeoutException}
   * (the connection stays usable). Closing the stream does nothing to the connection.
   */
  InputStream inputStream();

  /**
   * How long a blocking read of {@link #inputStream()} may wait for input; null or zero for no
   * limit (the default). Applies to this hand-out only.
   *
   * @throws IllegalArgumentException if negative
   */
  Connection readTimeout(Duration timeout);

  /** A blocking view for writing on the caller's thread (never the event loop thread). */
  OutputStream outputStream();

  /**
   * Shuts down the output side (sends FIN). The connection will not be pooled.
   *
   * @throws IOException if the socket fails
   */
  void shutdownOutput() throws IOException;

  /**
   * Limits how long the socket may stay idle in the pool once this connection is given back: past
   * {@code timeout} it is no longer handed out, and it is closed. For a server's announced idle
   * timeout (HTTP's {@code Keep-Alive: timeout=N}, less a margin for the time the response was in
   * flight). The manager's keep-alive still applies when it is shorter; {@link Duration#ZERO}
   * closes the socket at give-back. Applies to the idle time after this hand-out only; the last
   * call before {@link #close()} counts.
   *
   * @param timeout zero or positive
   * @return this connection
   * @throws IllegalArgumentException if timeout is null or negative
   */
  Connection keepAliveTimeout(Duration timeout);

  /**
   * Limits how many more times the socket may be handed out after this hand-out: given back with
   * no use left, it is closed instead of pooled. For a server's announced request limit (HTTP's
   * {@code Keep-Alive: max=N}); 0 closes the socket at give-back. A limit holds for the socket's
   * life, and only ever gets lower. The manager's {@code maxUses}, when set, applies as well.
   *
   * @param moreUses how many more hand-outs, zero or positive
   * @return this connection
   * @throws IllegalArgumentException if moreUses is negative
   */
  Connection keepAliveMax(int moreUses);

  /**
   * Gives the connection back to the keep-alive pool ({@code free} in Perl's
   * POE::Component::Client::Keepalive). Idempotent.
   */
  @Override
  void close();

  /**
   * Closes the socket for good and releases its slots ({@code close} in Perl's
   * POE::Component::Client::Keepalive); on TLS it first sends close_notify when that can be done
   * without blocking. Idempotent.
   */
  void discard();
}
