package dev.keepalive;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import javax.net.ssl.SSLSession;

/**
 * Hears what a manager does with its requests and sockets, step by step: for metrics, tracing and
 * logs. Register one or more with {@link ConnectionManager.Builder#listener}; every method has an
 * empty default, so a listener overrides only what it needs.
 *
 * <p><b>Threading.</b> Every method is called on the manager's event loop thread, in the order
 * the steps happen. A listener must return quickly and must not block: the loop serves every
 * socket of the manager. It must not call the manager's blocking methods ({@code stats(key)},
 * {@code totals()}, {@code evictIdle()}, {@code retire}, {@code close()}) from a callback.
 *
 * <p><b>Failures.</b> An exception a listener throws is logged (WARNING, logger {@code
 * dev.keepalive}) and otherwise ignored: it never reaches the manager's decisions, the other
 * listeners or the request.
 *
 * <p><b>Cost.</b> Without a listener, the manager builds no event and reads no extra clock.
 * With one, each event costs a small allocation ({@link ConnectionInfo} for socket events) and a
 * clock read.
 *
 * <p><b>Requests and sockets.</b> A request is the pair of its id (as {@link
 * ConnectionManager#allocate(Allocation, java.util.function.Consumer)} returned it; a request of
 * the future-returning form has an id too) and its {@link Allocation}. Every request ends with
 * exactly one of {@link #handedOut}, {@link #failed}, {@link #timedOut} and {@link #cancelled}.
 * The sockets {@link ConnectionManager#prewarm} and {@link ConnectionManager#keepWarm} open for
 * the pool are not requests: they have socket events only. A socket is described by a {@link
 * ConnectionInfo} snapshot taken at the event (its key, remote address, age and uses); every
 * socket the manager began to open ends with exactly one {@link #closed}.
 *
 * <p>Times are in nanoseconds of the manager's clock ({@link System#nanoTime()}).
 */
public interface ConnectionListener {
  /**
   * The request found no idle socket it could take and no room to open one: it waits in its key's
   * queue (after its host name lookup, if it needed one).
   */
  default void queued(long requestId, Allocation request) {}

  /** The request's host name lookup starts ({@code host}: the name looked up). */
  default void resolveStarted(long requestId, Allocation request, String host) {}

  /** The lookup answered {@code addresses} (in preference order) after {@code nanos}. */
  default void resolveEnded(
      long requestId, Allocation request, String host, List<InetAddress> addresses, long nanos) {}

  /** The lookup failed after {@code nanos}; the request fails with function "resolve". */
  default void resolveFailed(
      long requestId, Allocation request, String host, String error, long nanos) {}

  /**
   * A TCP connect attempt starts, to {@code address} (to the proxy when the socket goes through
   * one). A host with several addresses may see several attempts for one socket (Happy
   * Eyeballs); each ends with {@link #connectEnded} or {@link #connectFailed}, except attempts
   * closed unfinished because another won or the socket's request left.
   */
  default void connectStarted(ConnectionInfo socket, InetSocketAddress address) {}

  /** The TCP connect to {@code address} succeeded after {@code nanos}. */
  default void connectEnded(ConnectionInfo socket, InetSocketAddress address, long nanos) {}

  /** The TCP connect to {@code address} failed after {@code nanos} with {@code error}. */
  default void connectFailed(
      ConnectionInfo socket, InetSocketAddress address, long nanos, String error) {}

  /** The tunnel through {@code proxy} to the socket's target starts (after the TCP connect). */
  default void tunnelStarted(ConnectionInfo socket, ProxyServer proxy) {}

  /**
   * The tunnel through {@code proxy} is open (error null) or failed (the proxy's refusal or the
   * I/O error), after {@code nanos}.
   */
  default void tunnelEnded(ConnectionInfo socket, ProxyServer proxy, long nanos, String error) {}

  /** The TLS handshake starts (after the TCP connect, and the tunnel when there is one). */
  default void tlsStarted(ConnectionInfo socket) {}

  /**
   * The TLS handshake ended after {@code nanos}: with its {@code session} (protocol, cipher suite,
   * peer certificates) when it succeeded, else {@code session} is null and {@code error} says why.
   */
  default void tlsEnded(ConnectionInfo socket, SSLSession session, long nanos, String error) {}

  /**
   * The request got its connection.
   *
   * @param how NEW (connected for it), IMMEDIATE (from the pool at once) or DEFERRED (from the
   *     pool after waiting)
   * @param waitNanos from allocate() to this hand-out (lookup, queue and connect included)
   * @param idleNanos how long the socket had been idle in the pool; 0 for a NEW one
   */
  default void handedOut(
      long requestId,
      Allocation request,
      ConnectionInfo socket,
      FromCache how,
      long waitNanos,
      long idleNanos) {}

  /**
   * The holder gave the socket back (close(), discard(), or the manager's free()): {@code pooled}
   * when it went back to the pool, else it is closed ({@link #closed} follows with the reason).
   */
  default void givenBack(ConnectionInfo socket, boolean pooled) {}

  /** The socket is closed, for {@code reason}: once per socket the manager began to open. */
  default void closed(ConnectionInfo socket, CloseReason reason) {}

  /**
   * The request failed after {@code waitNanos}, with the {@code function} and {@code error} its
   * {@link AllocationResult} carries ("resolve", "connect", "sslify", "proxy", "queue",
   * "shutdown"). A timeout is {@link #timedOut} instead.
   */
  default void failed(
      long requestId, Allocation request, String function, String error, long waitNanos) {}

  /** The request's timeout passed before it got a connection (it fails: "connect", ETIMEDOUT). */
  default void timedOut(long requestId, Allocation request, long waitNanos) {}

  /** The request was cancelled (deallocate, or the future's cancel) after {@code waitNanos}. */
  default void cancelled(long requestId, Allocation request, long waitNanos) {}

  /**
   * A handed-out connection was held longer than the leak-detection threshold ({@code
   * leakDetection}) without being given back ({@code reclaimed} false; it keeps working), or it
   * became unreachable without close() or discard() and its socket was reclaimed ({@code
   * reclaimed} true). {@code site} is the stack of the allocate() call that obtained it, when
   * leak detection is on, else null.
   */
  default void leaked(ConnectionInfo socket, boolean reclaimed, Throwable site) {}
}
