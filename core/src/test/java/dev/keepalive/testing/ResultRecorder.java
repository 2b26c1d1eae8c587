package dev.keepalive.testing;

import dev.keepalive.AllocationResult;
import dev.keepalive.testkit.Await;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/**
 * An allocation callback (the event of the callback style) that keeps every result it is given,
 * in order, with the thread that delivered it, and lets the test wait for the next one.
 */
public final class ResultRecorder implements Consumer<AllocationResult> {
  private final LinkedBlockingQueue<AllocationResult> fresh = new LinkedBlockingQueue<>();
  private final List<AllocationResult> all = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();

  @Override
  public void accept(AllocationResult result) {
    all.add(result);
    threads.add(Thread.currentThread());
    fresh.add(result);
  }

  /** The next result not taken yet (waits). */
  public AllocationResult next() {
    return Await.next(fresh, "allocation result");
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
