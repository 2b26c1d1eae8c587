package dev.keepalive;

import java.util.Map;

/**
 * A manager seen through JMX: its counts ({@link ConnectionManager#stats()}), its running totals
 * ({@link ConnectionManager#totals()}) and two operations. Registered only when asked ({@link
 * ConnectionManager.Builder#jmx}), as {@code dev.keepalive:type=ConnectionManager,name=NAME}.
 * JConsole, VisualVM, jmxterm and any JMX exporter (Prometheus' jmx_exporter) read it.
 */
public interface ConnectionManagerMXBean {
  /** Sockets open: idle, leased and connecting. */
  int getOpen();

  /** Sockets idle in the pool. */
  int getIdle();

  /** Sockets handed out. */
  int getLeased();

  /** Sockets connecting (lookup done, TCP/tunnel/TLS under way). */
  int getConnecting();

  /** Requests waiting for a socket (looking up their host or queued). */
  int getPending();

  /** Requests answered with a newly connected socket. */
  long getNewHandOuts();

  /** Requests answered from the pool at once. */
  long getImmediateHandOuts();

  /** Requests answered from the pool after waiting. */
  long getDeferredHandOuts();

  /** Sockets closed, by {@link CloseReason} name (every reason, zeros included). */
  Map<String, Long> getCloses();

  /** Requests failed, by function ("resolve", "connect", "sslify", ...; zeros included). */
  Map<String, Long> getFailures();

  /** Closes every idle socket now ({@link ConnectionManager#evictIdle()}). */
  void evictIdle();

  /** Retires every open socket ({@link ConnectionManager#retireAll()}); returns how many. */
  int retireAll();
}
