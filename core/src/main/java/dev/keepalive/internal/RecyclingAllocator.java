package dev.keepalive.internal;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import tlschannel.BufferAllocator;

/**
 * tls-channel's buffers for one manager's sockets, recycled: a buffer an idle socket released goes
 * back to a small free list by capacity, and the next socket that needs one of that capacity
 * takes it instead of a new, zeroed array. tls-channel releases a socket's buffers whenever they
 * are empty (what keeps an idle https socket small) and asks again for the next record, growing
 * from its smallest size by doubling; without recycling every response read allocated those
 * sizes anew (16 KiB records: the allocation and its zeroing were 10-20% of the https e2e
 * profile).
 *
 * <p>At most {@link #maxFree} buffers wait in the free list in all (past that a released buffer
 * is left to the GC), so what it keeps is bounded per manager, not per connection. Thread-safe
 * (holder threads may drive a TLS socket's reads and writes): each call holds the allocator's
 * lock for a map lookup.
 */
final class RecyclingAllocator implements BufferAllocator {
  private final BufferAllocator fresh;
  private final int maxFree;
  private final Map<Integer, ArrayDeque<ByteBuffer>> free = new HashMap<>();
  private int freeCount;

  /**
   * @param fresh where buffers come from when none of the size is free
   * @param maxFree most buffers kept for reuse, in all
   */
  RecyclingAllocator(BufferAllocator fresh, int maxFree) {
    this.fresh = fresh;
    this.maxFree = maxFree;
  }

  @Override
  public ByteBuffer allocate(int size) {
    synchronized (this) {
      ArrayDeque<ByteBuffer> q = free.get(size);
      ByteBuffer b = q == null ? null : q.pollFirst();
      if (b != null) {
        freeCount--;
        b.clear();
        return b;
      }
    }
    return fresh.allocate(size);
  }

  @Override
  public void free(ByteBuffer buffer) {
    synchronized (this) {
      if (freeCount < maxFree) {
        free.computeIfAbsent(buffer.capacity(), c -> new ArrayDeque<>()).addFirst(buffer);
        freeCount++;
      }
    }
  }

  /** How many buffers wait for reuse (tests). */
  synchronized int freeCount() {
    return freeCount;
  }
}
