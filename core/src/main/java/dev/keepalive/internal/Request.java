package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.FromCache;
import java.net.InetAddress;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * One allocation request, from allocate() to its single answer: decision data only. The pool
 * moves it through its phases and decides its outcome; the manager delivers that outcome to its
 * recipient ({@link #onConnection} or {@link #onFailure}), which the pool never calls.
 *
 * <p>Phases: NEW, then RESOLVING (host name lookup), QUEUED (waiting for a slot), CONNECTING or
 * CHECKING (a pooled socket's health check; a failed one sends it back through these), then
 * ANSWERED (the outcome is decided and its delivery queued on the loop) or CANCELLED. Every
 * mutable field is written by {@link Pool} (and its queue) on the event loop only.
 */
final class Request extends LongHeap.Node {
  enum Phase {
    NEW,
    RESOLVING,
    QUEUED,
    CONNECTING,
    /** Holding a pooled socket under its health check. */
    CHECKING,
    ANSWERED,
    CANCELLED
  }

  final long id;
  final PoolKey key;
  /** What was asked, as asked (echoed back on the connection). */
  final Allocation allocation;
  /** The request's own timeout, or -1 for the manager's. */
  final long timeoutNanos;
  /** Never served from the pool: it always gets a NEW connection. */
  final boolean fresh;

  final BiConsumer<Connection, FromCache> onConnection;
  final Consumer<Failure> onFailure;
  /**
   * Where allocate() was called (for the wiring's leak reports), or null: captured only when leak
   * detection is on. Opaque to the pool.
   */
  final Throwable site;
  /**
   * 0 for a request for a connection. n >= 1 for a warm-up (prewarm): it opens one socket for
   * the pool while its key has fewer than n, never waits for room (no queue) and never evicts;
   * its socket goes to the idle pool, and its answer says whether it opened one
   * ({@link #fromCache} NEW) or found no need or no room (null), with no {@link #slot}.
   */
  final int warmTarget;

  /** A warm-up of a key's minimum of idle sockets (Pool.keepWarm), not of a prewarm() call. */
  boolean keepWarm;

  Phase phase = Phase.NEW;
  KeyState keyState;
  long deadline;
  /** Arrival order in the queue. */
  long seq;

  Request prevWaiting;
  Request nextWaiting;
  List<InetAddress> addresses;

  /**
   * What observers keep of this request between its steps (Observers.Trace: when it was made, when
   * its lookup started, the JFR event under way), or null when nothing observes it: one reference,
   * so an unobserved request is no bigger for it. Written by the manager's wiring; opaque to the
   * pool.
   */
  Object trace;

  // the outcome
  Slot slot;
  FromCache fromCache;
  Failure failure;

  Request(
      long id,
      PoolKey key,
      Allocation allocation,
      long timeoutNanos,
      boolean fresh,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure) {
    this(id, key, allocation, timeoutNanos, fresh, onConnection, onFailure, null, 0);
  }

  Request(
      long id,
      PoolKey key,
      Allocation allocation,
      long timeoutNanos,
      boolean fresh,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure,
      Throwable site,
      int warmTarget) {
    this.id = id;
    this.key = key;
    this.allocation = allocation;
    this.timeoutNanos = timeoutNanos;
    this.fresh = fresh || warmTarget > 0; // a warm-up never takes an idle socket
    this.onConnection = onConnection;
    this.onFailure = onFailure;
    this.site = site;
    this.warmTarget = warmTarget;
  }

  /** A warm-up (prewarm) rather than a request for a connection. */
  boolean isWarm() {
    return warmTarget > 0;
  }

  @Override
  public long heapKey() {
    return deadline;
  }

  @Override
  public String toString() {
    return "Request#" + id + "[" + key + " " + phase + (warmTarget > 0 ? " warm" : "") + "]";
  }
}
