package dev.keepalive.internal;

import java.util.Arrays;

/**
 * A binary min-heap ordered by a long key, where each entry knows its own index, so removal and
 * re-ordering of any entry cost O(log n). Used for request deadlines and for the queue of hosts
 * ordered by their oldest waiting request. Not thread-safe: owned by the event loop.
 */
final class LongHeap<T extends LongHeap.Entry> {
  /** An entry of one heap at a time. */
  interface Entry {
    long heapKey();

    int heapIndex();

    void heapIndex(int index);
  }

  /**
   * An entry that keeps its index in a field: {@code heapIndex} is -1 while it is in no heap, so
   * its owner can test membership without asking the heap.
   */
  abstract static class Node implements Entry {
    int heapIndex = -1;

    @Override
    public final int heapIndex() {
      return heapIndex;
    }

    @Override
    public final void heapIndex(int index) {
      heapIndex = index;
    }
  }

  private Entry[] items = new Entry[16];
  private int size;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  @SuppressWarnings("unchecked")
  T peek() {
    return size == 0 ? null : (T) items[0];
  }

  boolean contains(T e) {
    int i = e.heapIndex();
    return i >= 0 && i < size && items[i] == e;
  }

  void add(T e) {
    if (size == items.length) {
      items = Arrays.copyOf(items, size * 2);
    }
    place(size, e);
    size++;
    siftUp(size - 1);
  }

  /** Removes {@code e} if it is in this heap. */
  void remove(T e) {
    if (!contains(e)) {
      return;
    }
    int i = e.heapIndex();
    size--;
    Entry last = items[size];
    items[size] = null;
    e.heapIndex(-1);
    if (i != size) {
      place(i, last);
      siftDown(i);
      siftUp(last.heapIndex());
    }
  }

  /** Restores order after {@code e}'s key changed. */
  void update(T e) {
    siftDown(e.heapIndex());
    siftUp(e.heapIndex());
  }

  @SuppressWarnings("unchecked")
  void forEach(java.util.function.Consumer<T> action) {
    for (int i = 0; i < size; i++) {
      action.accept((T) items[i]);
    }
  }

  private void siftUp(int i) {
    Entry e = items[i];
    long key = e.heapKey();
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      Entry p = items[parent];
      if (p.heapKey() <= key) {
        break;
      }
      place(i, p);
      i = parent;
    }
    place(i, e);
  }

  private void siftDown(int i) {
    Entry e = items[i];
    long key = e.heapKey();
    int half = size >>> 1;
    while (i < half) {
      int child = 2 * i + 1;
      Entry c = items[child];
      int right = child + 1;
      if (right < size && items[right].heapKey() < c.heapKey()) {
        child = right;
        c = items[child];
      }
      if (key <= c.heapKey()) {
        break;
      }
      place(i, c);
      i = child;
    }
    place(i, e);
  }

  /** Puts {@code e} at index {@code i} and tells it so. */
  private void place(int i, Entry e) {
    items[i] = e;
    e.heapIndex(i);
  }
}
