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
 * What {@link Chain} and {@link EchoChain} share: cycles driven from the manager's event loop,
 * each giving its connection back and issuing the next allocate from the loop, while the caller's
 * thread only starts the chain and waits for its end; and the counts of how the allocations were
 * served and what failed.
 *
 * <p>Counters are touched only by the loop thread; they are read by the caller after the latch,
 * which orders them.
 */
abstract class LoopChain implements Consumer<AllocationResult> {
  final ConnectionManager manager;
  private final boolean discard;
  private final long maxWaitSeconds;

  // loop-confined while a chain runs
  private int remaining;
  CountDownLatch done;
  long immediate;
  long deferred;
  long fresh;
  long failed;
  String lastFailure;
  Throwable error;

  /** discard: give connections back with {@code discard()} instead of {@code close()}. */
  LoopChain(ConnectionManager manager, boolean discard, long maxWaitSeconds) {
    this.manager = manager;
    this.discard = discard;
    this.maxWaitSeconds = maxWaitSeconds;
  }

  /** What the next cycle allocates. */
  abstract Allocation nextAllocation();

  /** Runs {@code cycles} cycles and waits for the last one; throws if one failed. */
  void run(int cycles) throws InterruptedException {
    remaining = cycles;
    CountDownLatch latch = new CountDownLatch(1);
    done = latch;
    manager.allocate(nextAllocation(), this);
    if (!latch.await(maxWaitSeconds, TimeUnit.SECONDS)) {
      throw new IllegalStateException("chain did not finish in " + maxWaitSeconds + " s: " + this
          + "; pool " + manager.stats());
    }
    if (error != null) {
      throw new IllegalStateException("chain failed: " + this, error);
    }
    if (failed != 0) {
      throw new IllegalStateException("failed: " + lastFailure + "; " + this);
    }
  }

  /** Counts how an allocation was served. */
  final void served(FromCache how) {
    if (how == FromCache.IMMEDIATE) {
      immediate++;
    } else if (how == FromCache.DEFERRED) {
      deferred++;
    } else {
      fresh++;
    }
  }

  /** Gives {@code c} back, then issues the next cycle's allocate or ends the chain. */
  final void giveBackAndGoOn(Connection c) {
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
