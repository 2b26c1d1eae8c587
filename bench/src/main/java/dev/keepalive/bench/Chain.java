package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.ConnectionManager;

/**
 * A chain of allocate-then-give-back cycles driven from the manager's event loop: each result's
 * callback gives the connection back ({@code close()}, or {@code discard()}) and issues the next
 * allocate from inside the callback, round-robin over the allocations. The caller's thread only
 * starts the chain and waits for its end, so what is measured is the loop's own cost per cycle.
 */
final class Chain extends LoopChain {
  private static final long MAX_WAIT_SECONDS = 120;

  private final Allocation[] allocations;
  private int next; // loop-confined while a chain runs

  Chain(ConnectionManager manager, Allocation[] allocations, boolean discard) {
    super(manager, discard, MAX_WAIT_SECONDS);
    this.allocations = allocations;
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
      served(r.fromCache());
      giveBackAndGoOn(r.connection());
    } catch (Throwable t) {
      error = t;
      done.countDown();
    }
  }

  @Override
  Allocation nextAllocation() {
    Allocation a = allocations[next];
    next = next + 1 == allocations.length ? 0 : next + 1;
    return a;
  }
}
