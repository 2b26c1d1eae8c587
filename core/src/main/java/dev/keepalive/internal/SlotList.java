package dev.keepalive.internal;

import java.util.function.Consumer;

/**
 * A doubly-linked list of slots through their {@code prev/next} links, oldest first: O(1) add,
 * remove and peek without allocation. A slot is in at most one such list (idle or leased).
 */
final class SlotList {
  private Slot head;
  private Slot tail;
  private int size;

  int size() {
    return size;
  }

  Slot first() {
    return head;
  }

  void addLast(Slot s) {
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

  void remove(Slot s) {
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

  /** Calls {@code action} on each slot; the action may remove the slot it is given. */
  void forEach(Consumer<Slot> action) {
    Slot s = head;
    while (s != null) {
      Slot next = s.next;
      action.accept(s);
      s = next;
    }
  }
}
