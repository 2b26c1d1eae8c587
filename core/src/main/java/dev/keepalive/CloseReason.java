package dev.keepalive;

/**
 * Why a manager closed a socket: one constant per way a socket can end, so that every socket the
 * manager opened (or began to open) is counted under exactly one reason in
 * {@link ConnectionManager#totals()}. A socket closed for more than one reason at once counts
 * under the first that applies, in this order: the holder's verdict (discarded, broken, dirty,
 * reclaimed), shutdown, retirement, the holder's keep-alive limits, maxUses, the lifetime.
 */
public enum CloseReason {
  /**
   * Idle past the manager's {@code keepAlive}, or past the holder's own limit
   * ({@link Connection#keepAliveTimeout}, including a limit of zero: "do not reuse").
   */
  KEEP_ALIVE_EXPIRED,
  /** Its lifetime ({@code maxLifetime}, less its jitter, from the TCP connect) ended. */
  LIFETIME,
  /** Given back after its last allowed hand-out ({@code maxUses}, or the holder's keepAliveMax). */
  MAX_USES,
  /**
   * The peer closed it (EOF or reset) while it was idle, or it was found closed or unclean when
   * taken out of the pool for a request.
   */
  PEER_CLOSED,
  /** Data arrived while it was idle, or its holder gave it back with unread data (closed by RST). */
  UNREAD_DATA,
  /**
   * Its holder gave it back unusable: the connection had failed (an I/O error), its input had
   * ended (EOF seen by the holder) or its output was shut down; or, while it was idle, an I/O
   * error other than the peer's reset (TCP keepalive finding the peer gone: ETIMEDOUT).
   */
  ERROR,
  /**
   * Its holder called {@link Connection#discard()}, or gave it back with a write half sent or
   * output not flushed.
   */
  DISCARDED,
  /**
   * An idle socket closed to make room: for a socket of another key at {@code maxOpen}, or for a
   * fresh ({@link Allocation#fresh()}) request of its own key at {@code maxPerHost}.
   */
  EVICTED_LRU,
  /** Closed by {@link ConnectionManager#evictIdle()}. */
  EVICTED,
  /** Retired ({@link ConnectionManager#retire}, {@link ConnectionManager#retireAll()}). */
  RETIRED,
  /**
   * Closed by {@link ConnectionManager#shutdown()} or {@link ConnectionManager#close()}: idle ones
   * at once, connecting ones with their request, leased ones when given back (or at close()).
   */
  SHUTDOWN,
  /** Its connection became unreachable without close() or discard(), and was reclaimed. */
  LEAK_RECLAIMED,
  /** It never finished connecting: the TCP connect or the TLS handshake failed. */
  CONNECT_FAILED,
  /**
   * It was still connecting, or under its health check, when its request was cancelled ({@code
   * deallocate}).
   */
  CANCELLED,
  /** It was still connecting, or under its health check, when its request's timeout passed. */
  TIMED_OUT,
  /** Its idle health check ({@code healthCheck}) failed before it was handed out. */
  HEALTH_CHECK_FAILED
}
