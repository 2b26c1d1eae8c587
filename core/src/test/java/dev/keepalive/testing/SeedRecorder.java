package dev.keepalive.testing;

import dev.keepalive.AllocationResult;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A seed-style allocation callback for tests: keeps every result it is given, in order, with the
 * thread that delivered it, and lets the test thread wait for the next one.
 */
public final class SeedRecorder implements Consumer<AllocationResult> {
  private final LinkedBlockingQueue<AllocationResult> fresh = new LinkedBlockingQueue<>();
  private final List<AllocationResult> all = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();

  @Override
  public void accept(AllocationResult result) {
    all.add(result);
    threads.add(Thread.currentThread());
    fresh.add(result);
  }

  /** The next result not yet taken (waits up to 10 s). */
  public AllocationResult next() {
    try {
      AllocationResult r = fresh.poll(10, TimeUnit.SECONDS);
      if (r == null) {
        throw new AssertionError("no allocation result within 10 s");
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Every result delivered so far. */
  public List<AllocationResult> all() {
    return all;
  }

  /** How many results were delivered for {@code requestId}. */
  public long countFor(long requestId) {
    return all.stream().filter(r -> r.requestId() == requestId).count();
  }

  /** The threads that delivered the results, in order. */
  public List<Thread> threads() {
    return threads;
  }
}
