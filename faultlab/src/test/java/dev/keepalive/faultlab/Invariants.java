package dev.keepalive.faultlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.TcpTable;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Consumer;
import org.awaitility.core.ConditionTimeoutException;

/**
 * What every lab scenario must keep, whatever the fault: every request answered exactly once,
 * no descriptor left open once the client and manager are closed, the heap after a full GC not
 * grown beyond {@link #HEAP_GROWTH}, and no answer later than its deadline plus {@link #MARGIN}.
 *
 * <p>{@link #begin()} takes the baseline before the scenario builds its manager; each request is
 * registered with {@link #track} (a future) or {@link #callback} (a callback that may, through a
 * bug, be called more than once: each call is counted); {@link #end()} checks everything after
 * the scenario closed what it built. The margin and the heap bound are generous on purpose: they
 * are invariants (nothing hangs, nothing piles up), not speed or size assertions.
 */
final class Invariants {
  /** How late after its deadline an answer may come (a busy machine, GC, the loop's timer). */
  static final Duration MARGIN = Duration.ofSeconds(5);
  /** How much the heap after a full GC may grow over a scenario. */
  static final long HEAP_GROWTH = 64L << 20;

  private static final int MAX_REQUESTS = 1 << 20;

  private final Map<Integer, String> descriptors;
  private final long heapBefore;
  private final AtomicInteger registered = new AtomicInteger();
  private final AtomicIntegerArray answers = new AtomicIntegerArray(MAX_REQUESTS);
  private final ConcurrentLinkedQueue<String> late = new ConcurrentLinkedQueue<>();
  private final AtomicInteger worstLateMillis = new AtomicInteger();

  private Invariants(Map<Integer, String> descriptors, long heapBefore) {
    this.descriptors = descriptors;
    this.heapBefore = heapBefore;
  }

  /** The baseline: descriptors open now, the heap after a full GC. */
  static Invariants begin() {
    long heap = heapAfterGc();
    return new Invariants(Descriptors.snapshot(), heap);
  }

  /** Registers a request answered through {@code f}, due by {@code deadline} from now. */
  <T> CompletableFuture<T> track(CompletableFuture<T> f, Duration deadline) {
    int id = next();
    long start = System.nanoTime();
    f.whenComplete((r, e) -> answered(id, start, deadline, String.valueOf(e)));
    return f;
  }

  /**
   * A callback for a request due by {@code deadline} from now, which counts its calls and then
   * passes each to {@code then}.
   */
  <T> Consumer<T> callback(Duration deadline, Consumer<T> then) {
    int id = next();
    long start = System.nanoTime();
    return t -> {
      answered(id, start, deadline, String.valueOf(t));
      then.accept(t);
    };
  }

  /** How many requests were registered. */
  int requests() {
    return registered.get();
  }

  /** How many registered requests were answered (at least once) so far. */
  int answered() {
    int n = registered.get();
    int a = 0;
    for (int i = 0; i < n; i++) {
      if (answers.get(i) > 0) {
        a++;
      }
    }
    return a;
  }

  private int next() {
    int id = registered.getAndIncrement();
    if (id >= MAX_REQUESTS) {
      throw new IllegalStateException("more than " + MAX_REQUESTS + " requests in one scenario");
    }
    return id;
  }

  private void answered(int id, long start, Duration deadline, String what) {
    answers.incrementAndGet(id);
    long tookMillis = (System.nanoTime() - start) / 1_000_000;
    long lateMillis = tookMillis - deadline.plus(MARGIN).toMillis();
    if (lateMillis > 0) {
      late.add("request " + id + " answered after " + tookMillis + " ms (deadline "
          + deadline.toMillis() + " ms): " + what);
      worstLateMillis.accumulateAndGet((int) Math.min(lateMillis, Integer.MAX_VALUE), Math::max);
    }
  }

  /** Every registered request answered, exactly once, none later than its deadline + margin. */
  void checkAnswers() {
    int n = registered.get();
    try {
      Await.await().until(() -> answered() == n);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError((n - answered()) + " of " + n + " requests never answered", e);
    }
    for (int i = 0; i < n; i++) {
      assertThat(answers.get(i)).as("answers to request " + i).isEqualTo(1);
    }
    assertThat(late).as("answers later than their deadline + " + MARGIN).isEmpty();
  }

  /**
   * After the scenario closed its client and manager: the answers ({@link #checkAnswers()}),
   * every descriptor opened since {@link #begin()} closed, the heap after a full GC within
   * {@link #HEAP_GROWTH} of the baseline.
   */
  void end() {
    checkAnswers();
    try {
      Await.await().until(() -> Descriptors.openedSince(descriptors).isEmpty());
    } catch (ConditionTimeoutException e) {
      Map<Integer, String> leaked = Descriptors.openedSince(descriptors);
      throw new AssertionError(
          "file descriptors leaked: " + leaked + "; TCP sockets among them: "
              + TcpTable.byInodes(leaked.values()),
          e);
    }
    long heapAfter = heapAfterGc();
    assertThat(heapAfter - heapBefore)
        .as("heap growth after GC (" + heapBefore + " -> " + heapAfter + " bytes)")
        .isLessThan(HEAP_GROWTH);
  }

  /** The local ports of this process's established TCP sockets to {@code remotePort}. */
  static List<Integer> ownConnectionsTo(int remotePort) {
    var mine = Descriptors.snapshot().values();
    return TcpTable.byRemotePort(remotePort, TcpTable.ESTABLISHED).stream()
        .filter(e -> mine.contains("socket:[" + e.inode() + "]"))
        .map(TcpTable.Entry::localPort)
        .sorted()
        .toList();
  }

  private static long heapAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    System.gc();
    System.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }
}
