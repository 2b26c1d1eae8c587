package dev.keepalive.internal;

/**
 * The keep-alive pool proper: every idle socket is in its host's list, most recently used first
 * (reuse takes the warmest socket), and in one pool-wide list, least recently used first, which
 * is also keep-alive expiry order (one manager-wide keep-alive) and eviction order. Every
 * operation is O(1).
 */
final class IdleSockets {
  private final SocketList byAge = new SocketList();

  int size() {
    return byAge.size();
  }

  /** The least recently used idle socket, or null. */
  PooledSocket oldest() {
    return byAge.first();
  }

  void add(PooledSocket s) {
    Host h = s.host;
    s.hostPrev = null;
    s.hostNext = h.idleHead;
    if (h.idleHead != null) {
      h.idleHead.hostPrev = s;
    }
    h.idleHead = s;
    h.idleCount++;
    byAge.addLast(s);
  }

  /** Takes the most recently used idle socket of {@code h}, or null. */
  PooledSocket takeNewest(Host h) {
    PooledSocket s = h.idleHead;
    if (s != null) {
      remove(s);
    }
    return s;
  }

  void remove(PooledSocket s) {
    Host h = s.host;
    if (s.hostPrev == null) {
      h.idleHead = s.hostNext;
    } else {
      s.hostPrev.hostNext = s.hostNext;
    }
    if (s.hostNext != null) {
      s.hostNext.hostPrev = s.hostPrev;
    }
    s.hostPrev = null;
    s.hostNext = null;
    h.idleCount--;
    byAge.remove(s);
  }

  void forEach(java.util.function.Consumer<PooledSocket> action) {
    byAge.forEach(action);
  }
}
