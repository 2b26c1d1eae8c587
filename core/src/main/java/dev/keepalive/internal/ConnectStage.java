package dev.keepalive.internal;

/**
 * One stage of the connect path (TCP connect, a proxy tunnel, TLS handshake),
 * run on the event loop over a non-blocking socket. A stage reports through its {@link Progress}
 * exactly once per socket: done, or failed.
 */
interface ConnectStage {
  /** What a stage reports to. */
  interface Progress {
    /** The stage finished on {@code s}; the next one starts. */
    void done(SocketIo s);

    /** The stage failed on {@code s}, which the receiver closes. */
    void failed(SocketIo s, Failure f);

    /**
     * True when the TCP stage must report {@code s}'s attempts ({@link #attemptStarted}, {@link
     * #attemptEnded}): someone observed the connect path when it started. When false, the stage
     * reads no clock and builds no address for them.
     */
    default boolean observed(SocketIo s) {
      return false;
    }

    /** A TCP connect attempt of {@code s} to {@code to} started (only when observed). */
    default void attemptStarted(SocketIo s, java.net.InetSocketAddress to) {}

    /**
     * The attempt to {@code to}, started at {@code startedAt} (clock nanos), connected ({@code f}
     * null) or failed (only when observed).
     */
    default void attemptEnded(
        SocketIo s, java.net.InetSocketAddress to, long startedAt, Failure f) {}
  }

  /**
   * Starts the stage on {@code s}. A failure found at once is returned (not reported), so the
   * first stage's caller can answer synchronously; null when the stage is under way.
   */
  Failure start(SocketIo s);

  /** Readiness the stage asked for arrived. */
  void onReady(SocketIo s);
}
