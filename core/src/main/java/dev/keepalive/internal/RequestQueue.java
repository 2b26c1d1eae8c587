package dev.keepalive.internal;

/**
 * Waiting requests in fair arrival order across keys.
 *
 * <p>Each key keeps its own FIFO of waiters. A key is "ready" when it has waiters and a free
 * per-host slot; ready keys sit in a heap ordered by their oldest waiter's arrival number. The
 * next request to serve is the head of the top ready host: the oldest request whose key is not at
 * its limit. Keys at their limit are not in the heap, so they are never scanned, and a blocked
 * key never blocks another key. Every operation is O(1) or O(log ready keys).
 */
final class RequestQueue {
  private final LongHeap<KeyState> ready = new LongHeap<>();
  private final int maxPerHost;
  private long nextSeq;
  private int size;

  RequestQueue(int maxPerHost) {
    this.maxPerHost = maxPerHost;
  }

  /** Queued requests. */
  int size() {
    return size;
  }

  void add(Request r) {
    r.seq = nextSeq++;
    r.keyState.addWaiter(r);
    size++;
    refresh(r.keyState);
  }

  void remove(Request r) {
    r.keyState.removeWaiter(r);
    size--;
    refresh(r.keyState);
  }

  /** The ready key whose oldest waiter arrived first, or null. */
  KeyState next() {
    return ready.peek();
  }

  /** Call whenever {@code h}'s waiters or active count change. */
  void refresh(KeyState h) {
    if (h.waitHead != null && h.active < maxPerHost) {
      if (ready.contains(h)) {
        ready.update(h);
      } else {
        ready.add(h);
      }
    } else {
      ready.remove(h);
    }
  }
}
