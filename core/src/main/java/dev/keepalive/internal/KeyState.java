package dev.keepalive.internal;

import java.net.InetAddress;
import java.util.List;

/**
 * What the pool knows of one key: how many of its sockets are active (connecting or leased) and
 * how many of those are connecting, its idle sockets (most recently used first), its waiting
 * requests (arrival order, and how many) and lookups. Written by {@link Pool} and its data
 * structures only, on the event loop.
 *
 * <p>Invariants: {@code active + idleCount <= maxPerHost}; {@code connecting <= active} (leased =
 * active - connecting); {@code queued} is the length of the waiter list; once the pool has
 * pumped, a key whose oldest waiter may take a pooled socket has no idle socket.
 */
final class KeyState extends LongHeap.Node {
  final PoolKey key;
  /**
   * The addresses to connect to when no lookup is needed: the literal IP address the key connects
   * to (its own host's, or its proxy's), or none for a Unix domain socket; null when the name must
   * be resolved.
   */
  final List<InetAddress> addresses;
  /** Whether the key's own host (the target, which TLS verifies) is a literal IP address. */
  final boolean literalHost;
  /** Sockets connecting or leased: what maxPerHost limits. */
  int active;
  /** Of the active sockets, those still connecting. */
  int connecting;

  int idleCount;
  int resolving;
  /** Requests in the waiter list. */
  int queued;

  Slot idleHead;
  Slot idleTail;
  Request waitHead;
  Request waitTail;

  // The key's minimum of idle sockets (Pool.keepWarm); all 0/null without one.
  /** Idle sockets to keep open; 0 for no minimum. */
  int minIdle;
  /** Warm-ups for the minimum not yet answered (resolving or connecting). */
  int warming;
  /** Failed warm-ups in a row (a failed connect, or a socket the peer closed at once). */
  int warmFailures;
  /** After a failure, the clock instant before which no warm-up starts. */
  long warmRetryAt;
  /** Makes the key's warm-ups. */
  java.util.function.Supplier<Request> warmUps;

  KeyState(PoolKey key) {
    this.key = key;
    InetAddress literal = IpLiteral.parse(key.connectHost());
    this.addresses = key.unixSocket != null ? List.of() : literal != null ? List.of(literal) : null;
    this.literalHost = key.proxy == null && key.unixSocket == null
        ? literal != null
        : IpLiteral.parse(key.host) != null;
  }

  boolean unused() {
    return active == 0 && idleCount == 0 && resolving == 0 && waitHead == null && minIdle == 0;
  }

  void addWaiter(Request r) {
    r.prevWaiting = waitTail;
    r.nextWaiting = null;
    if (waitTail == null) {
      waitHead = r;
    } else {
      waitTail.nextWaiting = r;
    }
    waitTail = r;
    queued++;
  }

  void removeWaiter(Request r) {
    if (r.prevWaiting == null) {
      waitHead = r.nextWaiting;
    } else {
      r.prevWaiting.nextWaiting = r.nextWaiting;
    }
    if (r.nextWaiting == null) {
      waitTail = r.prevWaiting;
    } else {
      r.nextWaiting.prevWaiting = r.prevWaiting;
    }
    r.prevWaiting = null;
    r.nextWaiting = null;
    queued--;
  }

  /** Sockets handed out and not yet given back. */
  int leased() {
    return active - connecting;
  }

  /** Queue order: the arrival of the oldest waiting request. */
  @Override
  public long heapKey() {
    return waitHead.seq;
  }

  @Override
  public String toString() {
    return "KeyState[" + key + " active " + active + " (connecting " + connecting + ") idle "
        + idleCount + " queued " + queued + "]";
  }
}
