package dev.keepalive.tools.idle;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Watches how quickly a manager's event loop attends to a request: every {@code period} a plain
 * thread allocates its own key (one pooled socket, so the answer is IMMEDIATE), and the callback,
 * on the loop, notes the time and the number of idle sockets in the pool at that instant (exact
 * there), then gives the connection back. One probe is in flight at a time; a probe that comes
 * back after the next one was due makes the next one go at once, and each probe's lateness is
 * counted from when it was due, so a stall of the loop is seen whole (no coordinated omission).
 *
 * <p>The loop thread's CPU time is read when a probe is issued and in its callback: the
 * difference is the work the loop did while the probe waited, i.e. the wait on a machine where
 * the loop thread always has a CPU. Wall time well above it means the thread was waiting for a
 * CPU (other processes), not working.
 *
 * <p>Per probe: {@code response} = callback time - issue time (the loop's own delay: its queue
 * and whatever turn it was in; a few tens of microseconds when idle), and {@code late} =
 * callback time - due time (also the ticker thread's own wake-up lateness).
 */
final class Ticker implements Runnable {
  private final ConnectionManager manager;
  private final Allocation probe;
  private final long periodNanos;
  private final Thread thread;

  final long[] due;
  final long[] issued;
  final long[] answered;
  final int[] idleAt;
  /** The loop thread's CPU time at each callback and when each probe was issued (ns). */
  final long[] cpuAt;

  final long[] cpuAtIssue;
  /** The loop thread's id, learnt from the first callback. */
  private volatile long loopThread = -1;

  private final java.lang.management.ThreadMXBean threads =
      java.lang.management.ManagementFactory.getThreadMXBean();
  /** Probes recorded so far (written by the ticker thread). */
  volatile int count;

  final AtomicInteger notImmediate = new AtomicInteger();
  final AtomicInteger failed = new AtomicInteger();
  private volatile boolean stop;
  private volatile boolean answer;

  Ticker(ConnectionManager manager, Allocation probe, long periodNanos, int capacity) {
    this.manager = manager;
    this.probe = probe;
    this.periodNanos = periodNanos;
    this.due = new long[capacity];
    this.issued = new long[capacity];
    this.answered = new long[capacity];
    this.idleAt = new int[capacity];
    this.cpuAt = new long[capacity];
    this.cpuAtIssue = new long[capacity];
    this.thread = new Thread(this, "idle-bench-ticker");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void stop() throws InterruptedException {
    stop = true;
    LockSupport.unpark(thread);
    thread.join();
  }

  @Override
  public void run() {
    long start = System.nanoTime();
    for (int k = 0; k < due.length && !stop; k++) {
      long d = start + k * periodNanos;
      long now;
      while ((now = System.nanoTime()) - d < 0 && !stop) {
        LockSupport.parkNanos(d - now);
      }
      final int slot = k;
      answer = false;
      long loop = loopThread;
      cpuAtIssue[k] = loop < 0 ? -1 : threads.getThreadCpuTime(loop);
      issued[k] = System.nanoTime();
      due[k] = d;
      manager.allocate(probe, (AllocationResult r) -> {
        answered[slot] = System.nanoTime();
        idleAt[slot] = manager.stats().idle(); // exact on the loop; the probe's socket is leased
        cpuAt[slot] = threads.getCurrentThreadCpuTime();
        loopThread = Thread.currentThread().getId();
        if (r.isSuccess()) {
          if (r.fromCache() != FromCache.IMMEDIATE) {
            notImmediate.incrementAndGet();
          }
          r.connection().close();
        } else {
          failed.incrementAndGet();
        }
        answer = true;
        LockSupport.unpark(thread);
      });
      while (!answer) {
        LockSupport.park(this);
      }
      count = k + 1;
    }
  }

  /** Probes whose due time is in [from, to), as indices. */
  int[] between(long from, long to) {
    int n = count;
    return java.util.stream.IntStream.range(0, n)
        .filter(k -> due[k] - from >= 0 && due[k] - to < 0)
        .toArray();
  }

  /** Response times (ns) of the given probes, sorted. */
  long[] responses(int[] ks) {
    long[] r = new long[ks.length];
    for (int i = 0; i < ks.length; i++) {
      r[i] = answered[ks[i]] - issued[ks[i]];
    }
    Arrays.sort(r);
    return r;
  }

  /**
   * Response times (ns) of the given probes corrected for coordinated omission, sorted: a probe
   * that waited r > period stands for the probes that would have been issued while it waited,
   * which would have waited r - period, r - 2 period, ... (as HdrHistogram's
   * recordValueWithExpectedInterval).
   */
  long[] correctedResponses(int[] ks) {
    long[] r = responses(ks);
    int extra = 0;
    for (long v : r) {
      extra += (int) Math.max(0, (v - 1) / periodNanos);
    }
    long[] out = Arrays.copyOf(r, r.length + extra);
    int i = r.length;
    for (long v : r) {
      for (long w = v - periodNanos; w > 0; w -= periodNanos) {
        out[i++] = w;
      }
    }
    Arrays.sort(out);
    return out;
  }

  /** The loop's CPU time (ns) while each of the given probes waited, sorted. */
  long[] loopCpuWhileWaiting(int[] ks) {
    return Arrays.stream(ks)
        .filter(k -> cpuAtIssue[k] >= 0)
        .mapToLong(k -> cpuAt[k] - cpuAtIssue[k])
        .sorted()
        .toArray();
  }

  /** Lateness from the due time (ns) of the given probes, sorted. */
  long[] lateness(int[] ks) {
    long[] r = new long[ks.length];
    for (int i = 0; i < ks.length; i++) {
      r[i] = answered[ks[i]] - due[ks[i]];
    }
    Arrays.sort(r);
    return r;
  }

  /** The q-quantile (0..1) of sorted values (nearest rank); 0 when empty. */
  static long quantile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }
}
