package dev.keepalive.internal;

import dev.keepalive.Connection;
import dev.keepalive.FromCache;
import java.net.InetAddress;
import java.util.List;

/**
 * One allocation request, from allocate() to its single answer. The public layer subclasses it to
 * turn the outcome into a callback or a future.
 *
 * <p>Phases: NEW, then RESOLVING (host name lookup), QUEUED (waiting for a slot), CONNECTING,
 * then ANSWERED (the outcome is decided and its delivery queued on the loop) or CANCELLED. Only
 * the event loop changes these fields.
 */
public abstract class Request implements Runnable, LongHeap.Entry {
  static final int NEW = 0;
  static final int RESOLVING = 1;
  static final int QUEUED = 2;
  static final int CONNECTING = 3;
  static final int ANSWERED = 4;
  static final int CANCELLED = 5;

  public final long id;
  final PoolKey key;
  /** The request's own words, echoed back. */
  final String scheme;
  final String addr;
  final int port;
  /** The request's own timeout, or -1 for the manager's. */
  final long timeoutNanos;

  int state = NEW;
  Host host;
  long deadline;
  /** Arrival order in the queue. */
  long seq;
  int heapIndex = -1;
  Request prevWaiting;
  Request nextWaiting;
  List<InetAddress> addresses;
  Dns.Lookup lookup;

  // the outcome
  PooledSocket socket;
  FromCache fromCache;
  Failure failure;
  ManagerCore core;

  protected Request(long id, PoolKey key, String scheme, String addr, int port,
      long timeoutNanos) {
    this.id = id;
    this.key = key;
    this.scheme = scheme;
    this.addr = addr;
    this.port = port;
    this.timeoutNanos = timeoutNanos;
  }

  /** Delivers a connection; runs on the event loop. */
  protected abstract void succeeded(Connection connection, FromCache how);

  /** Delivers a failure; runs on the event loop. */
  protected abstract void failed(Failure failure);

  /** The delivery task, run by the event loop after the request was answered. */
  @Override
  public final void run() {
    core.publishStats();
    if (failure != null) {
      failed(failure);
    } else {
      succeeded(core.connectionFor(this), fromCache);
    }
  }

  @Override
  public long heapKey() {
    return deadline;
  }

  @Override
  public int heapIndex() {
    return heapIndex;
  }

  @Override
  public void heapIndex(int index) {
    heapIndex = index;
  }

  @Override
  public String toString() {
    return "Request#" + id + "[" + key + " state " + state + "]";
  }
}
