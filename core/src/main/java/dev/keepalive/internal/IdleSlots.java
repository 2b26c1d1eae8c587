package dev.keepalive.internal;

/**
 * The keep-alive pool proper: every idle socket is in its key's list, most recently used first
 * (reuse takes the warmest socket), and in one pool-wide list, least recently used first, which
 * is also keep-alive expiry order (one manager-wide keep-alive) and eviction order. Every
 * operation is O(1).
 */
final class IdleSlots {
  private final SlotList byAge = new SlotList();

  int size() {
    return byAge.size();
  }

  /** The least recently used idle socket, or null. */
  Slot oldest() {
    return byAge.first();
  }

  void add(Slot s) {
    KeyState k = s.owner;
    s.keyPrev = null;
    s.keyNext = k.idleHead;
    if (k.idleHead != null) {
      k.idleHead.keyPrev = s;
    } else {
      k.idleTail = s;
    }
    k.idleHead = s;
    k.idleCount++;
    byAge.addLast(s);
  }

  /** Takes the most recently used idle socket of {@code k}, or null. */
  Slot takeNewest(KeyState k) {
    Slot s = k.idleHead;
    if (s != null) {
      remove(s);
    }
    return s;
  }

  void remove(Slot s) {
    KeyState k = s.owner;
    if (s.keyPrev == null) {
      k.idleHead = s.keyNext;
    } else {
      s.keyPrev.keyNext = s.keyNext;
    }
    if (s.keyNext == null) {
      k.idleTail = s.keyPrev;
    } else {
      s.keyNext.keyPrev = s.keyPrev;
    }
    s.keyPrev = null;
    s.keyNext = null;
    k.idleCount--;
    byAge.remove(s);
  }

  void forEach(java.util.function.Consumer<Slot> action) {
    byAge.forEach(action);
  }
}
