package dev.keepalive.internal;

/**
 * What the pool knows of one key: how many of its sockets are active (connecting or leased), its
 * idle sockets (most recently used first), and its waiting requests (arrival order).
 *
 * <p>Invariant: {@code active + idleCount <= maxPerHost}; a host with waiting requests has no
 * idle socket once the pool has pumped.
 */
final class Host implements LongHeap.Entry {
  final PoolKey key;
  /** The pool this host belongs to (a key may be cached by hosts of several managers). */
  final Pool pool;
  /** True once the pool dropped it: a cached reference to it is stale. */
  boolean dropped;
  int active;
  int idleCount;
  int resolving;
  PooledSocket idleHead;
  Request waitHead;
  Request waitTail;
  int heapIndex = -1;

  Host(PoolKey key, Pool pool) {
    this.key = key;
    this.pool = pool;
  }

  boolean unused() {
    return active == 0 && idleCount == 0 && resolving == 0 && waitHead == null;
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
  }

  /** Queue order: the arrival of the oldest waiting request. */
  @Override
  public long heapKey() {
    return waitHead.seq;
  }

  @Override
  public int heapIndex() {
    return heapIndex;
  }

  @Override
  public void heapIndex(int index) {
    heapIndex = index;
  }
}
