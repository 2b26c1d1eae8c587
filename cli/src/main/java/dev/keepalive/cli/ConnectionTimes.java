package dev.keepalive.cli;

import dev.keepalive.Allocation;
import dev.keepalive.CloseReason;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import dev.keepalive.PoolTotals;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.Map;
import javax.net.ssl.SSLSession;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What bench hears from its manager ({@link ConnectionListener}): how long each request waited
 * for its connection, each TCP connect and each TLS handshake, in three HdrHistogram {@link
 * Recorder}s. The events come on the manager's event loop threads; a Recorder takes values from
 * any number of threads without a lock (wait-free) and hands a consistent copy to one reader, so
 * a run with {@code -c 10000} keeps the same three histograms as one with {@code -c 1}.
 */
final class ConnectionTimes implements ConnectionListener {
  private final Recorder wait = new Recorder(3); // nanoseconds, auto-resizing
  private final Recorder connect = new Recorder(3);
  private final Recorder tls = new Recorder(3);

  @Override
  public void handedOut(
      long requestId,
      Allocation request,
      ConnectionInfo socket,
      FromCache how,
      long waitNanos,
      long idleNanos) {
    wait.recordValue(Math.max(0, waitNanos));
  }

  @Override
  public void connectEnded(ConnectionInfo socket, InetSocketAddress address, long nanos) {
    connect.recordValue(Math.max(0, nanos));
  }

  @Override
  public void tlsEnded(ConnectionInfo socket, SSLSession session, long nanos, String error) {
    if (session != null) { // a failed handshake is counted under the errors (sslify)
      tls.recordValue(Math.max(0, nanos));
    }
  }

  /** Forgets what was recorded so far (the warm-up's). */
  void reset() {
    wait.reset();
    connect.reset();
    tls.reset();
  }

  /**
   * What was recorded since the last call (or {@link #reset()}), with the closes by reason
   * between two of the manager's totals.
   */
  Times take(PoolTotals before, PoolTotals after) {
    Map<CloseReason, Long> closes = new EnumMap<>(CloseReason.class);
    for (CloseReason reason : CloseReason.values()) {
      long n = after.closed(reason) - (before == null ? 0 : before.closed(reason));
      if (n != 0) {
        closes.put(reason, n);
      }
    }
    return new Times(
        wait.getIntervalHistogram(),
        connect.getIntervalHistogram(),
        tls.getIntervalHistogram(),
        closes);
  }

  /**
   * The times of one run (nanoseconds) and its closes.
   *
   * @param connectionWait from asking the manager for a connection to getting it, per request: the queue
   *     wait, plus the lookup and the connect (and TLS) for a NEW connection
   * @param connect each successful TCP connect
   * @param tls each successful TLS handshake
   * @param closes the sockets closed during the run, by reason, non-zero counts only
   */
  record Times(
      Histogram connectionWait, Histogram connect, Histogram tls, Map<CloseReason, Long> closes) {}
}
