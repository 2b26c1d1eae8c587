package dev.keepalive.internal;

/**
 * Waiting requests in fair arrival order across keys.
 *
 * <p>Each host keeps its own FIFO of waiters. A host is "ready" when it has waiters and a free
 * per-host slot; ready hosts sit in a heap ordered by their oldest waiter's arrival number. The
 * next request to serve is the head of the top ready host: the oldest request whose key is not at
 * its limit. Hosts at their limit are not in the heap, so they are never scanned, and a blocked
 * key never blocks another key. Every operation is O(1) or O(log ready hosts).
 */
final class RequestQueue {
  private final LongHeap<Host> ready = new LongHeap<>();
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
    r.host.addWaiter(r);
    size++;
    refresh(r.host);
  }

  void remove(Request r) {
    r.host.removeWaiter(r);
    size--;
    refresh(r.host);
  }

  /** The ready host whose oldest waiter arrived first, or null. */
  Host next() {
    return ready.peek();
  }

  /** Call whenever {@code h}'s waiters or active count change. */
  void refresh(Host h) {
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
