package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A chain of allocate-then-give-back cycles driven from the manager's event loop: each result's
 * callback gives the connection back ({@code close()}, or {@code discard()}) and issues the next
 * allocate from inside the callback, round-robin over the allocations. The caller's thread only
 * starts the chain and waits for its end, so what is measured is the loop's own cost per cycle.
 *
 * <p>Counters are touched only by the loop thread; they are read by the caller after the latch,
 * which orders them.
 */
final class Chain implements Consumer<AllocationResult> {
  private static final long MAX_WAIT_SECONDS = 120;

  private final ConnectionManager manager;
  private final Allocation[] allocations;
  private final boolean discard;

  // loop-confined while a chain runs
  private int next;
  private int remaining;
  private CountDownLatch done;
  long immediate;
  long deferred;
  long fresh;
  long failed;
  String lastFailure;
  Throwable error;

  Chain(ConnectionManager manager, Allocation[] allocations, boolean discard) {
    this.manager = manager;
    this.allocations = allocations;
    this.discard = discard;
  }

  /** Runs {@code cycles} cycles and waits for the last one. */
  void run(int cycles) throws InterruptedException {
    remaining = cycles;
    CountDownLatch latch = new CountDownLatch(1);
    done = latch;
    manager.allocate(nextAllocation(), this);
    if (!latch.await(MAX_WAIT_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException("chain did not finish in " + MAX_WAIT_SECONDS + " s: "
          + manager.stats());
    }
    if (error != null) {
      throw new IllegalStateException("chain failed", error);
    }
    if (failed != 0) {
      throw new IllegalStateException("allocation failed: " + lastFailure);
    }
  }

  @Override
  public void accept(AllocationResult r) {
    try {
      if (!r.isSuccess()) {
        failed++;
        lastFailure = r.function() + " " + r.errorNum() + " " + r.errorStr();
        done.countDown();
        return;
      }
      FromCache how = r.fromCache();
      if (how == FromCache.IMMEDIATE) {
        immediate++;
      } else if (how == FromCache.DEFERRED) {
        deferred++;
      } else {
        fresh++;
      }
      Connection c = r.connection();
      if (discard) {
        c.discard();
      } else {
        c.close();
      }
      if (--remaining > 0) {
        manager.allocate(nextAllocation(), this);
      } else {
        done.countDown();
      }
    } catch (Throwable t) {
      error = t;
      done.countDown();
    }
  }

  private Allocation nextAllocation() {
    Allocation a = allocations[next];
    next = next + 1 == allocations.length ? 0 : next + 1;
    return a;
  }

  long cycles() {
    return immediate + deferred + fresh;
  }

  @Override
  public String toString() {
    return "cycles " + cycles() + " (IMMEDIATE " + immediate + ", DEFERRED " + deferred + ", NEW "
        + fresh + "), failed " + failed;
  }
}
