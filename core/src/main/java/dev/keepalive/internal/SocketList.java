package dev.keepalive.internal;

import java.util.function.Consumer;

/**
 * A doubly-linked list of sockets through their {@code prev/next} links, oldest first: O(1) add,
 * remove and peek without allocation. A socket is in at most one such list (idle or leased).
 */
final class SocketList {
  private PooledSocket head;
  private PooledSocket tail;
  private int size;

  int size() {
    return size;
  }

  PooledSocket first() {
    return head;
  }

  void addLast(PooledSocket s) {
    s.prev = tail;
    s.next = null;
    if (tail == null) {
      head = s;
    } else {
      tail.next = s;
    }
    tail = s;
    size++;
  }

  void remove(PooledSocket s) {
    if (s.prev == null) {
      head = s.next;
    } else {
      s.prev.next = s.next;
    }
    if (s.next == null) {
      tail = s.prev;
    } else {
      s.next.prev = s.prev;
    }
    s.prev = null;
    s.next = null;
    size--;
  }

  /** Calls {@code action} on each socket; the action may remove the socket it is given. */
  void forEach(Consumer<PooledSocket> action) {
    PooledSocket s = head;
    while (s != null) {
      PooledSocket next = s.next;
      action.accept(s);
      s = next;
    }
  }
}
