package dev.keepalive.cli;

import dev.keepalive.FromCache;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import org.HdrHistogram.Histogram;

/**
 * The load generator: {@code concurrency} request chains over one client (one connection
 * manager). Each chain has one request in flight and sends the next when the whole response
 * has arrived, until the request count or the time limit is reached. The chains run on the
 * manager's event loop (a response completes there and the next request starts there, which
 * takes a pooled connection without a thread hand-off), as wrk runs its connections on its own
 * event loops: no thread per connection, no wake-up per request. Each chain keeps its own
 * latency histogram and counts, merged at the end; only the two live counters the progress bar
 * reads are shared.
 */
final class Bench {
  private final HttpClient client;
  private final HttpRequest request;
  private final int concurrency;
  private final long requests;
  private final long durationNanos;
  private final AtomicLong tickets = new AtomicLong();
  private final LongAdder done = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private volatile boolean stop;
  private volatile Runnable onStop;

  /**
   * @param requests how many requests in all, or 0 for no limit
   * @param durationNanos for how long to send requests, or 0 for no limit
   */
  Bench(
      HttpClient client, HttpRequest request, int concurrency, long requests, long durationNanos) {
    if (requests <= 0 && durationNanos <= 0) {
      throw new IllegalArgumentException("a request count or a duration is needed");
    }
    this.client = client;
    this.request = request;
    this.concurrency = concurrency;
    this.requests = requests;
    this.durationNanos = durationNanos;
  }

  /** Requests answered or failed so far. */
  long done() {
    return done.sum();
  }

  /** Requests failed so far. */
  long failed() {
    return failed.sum();
  }

  /** Stops sending (requests in flight still finish); run() then returns soon. */
  void stop() {
    stop = true;
    Runnable also = onStop;
    if (also != null) {
      also.run();
    }
  }

  /** Runs {@code action} too when this is stopped (to stop a warm-up that runs before it). */
  void onStop(Runnable action) {
    onStop = action;
  }

  boolean stopped() {
    return stop;
  }

  /** Starts the chains and waits until each has finished. */
  Result run() throws InterruptedException {
    long cpu0 = processCpuNanos();
    long start = System.nanoTime();
    CountDownLatch finished = new CountDownLatch(concurrency);
    Chain[] chains = new Chain[concurrency];
    for (int i = 0; i < concurrency; i++) {
      chains[i] = new Chain(start + durationNanos, finished);
    }
    for (Chain c : chains) {
      c.next();
    }
    try {
      finished.await();
    } catch (InterruptedException e) {
      stop();
      throw e;
    }
    Result r = new Result(System.nanoTime() - start);
    long cpu1 = processCpuNanos();
    r.cpuNanos = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0;
    for (Chain c : chains) {
      r.add(c);
    }
    return r;
  }

  /**
   * One request in flight at a time. {@link #next} runs on the thread that starts the chain and
   * then on whichever thread completes a response (the event loop); {@code wip} makes it a
   * trampoline, so a response that completes at once (a failure, say) does not recurse, and no
   * completion is lost when two threads meet.
   */
  private final class Chain extends Counts implements BiConsumer<HttpResponse, Throwable> {
    private final long deadline;
    private final CountDownLatch finished;
    private final AtomicInteger wip = new AtomicInteger();
    private long t0;
    final long[] status = new long[1000]; // by status code (three digits)
    final Map<String, Long> errors = new HashMap<>();
    final Map<String, String> samples = new HashMap<>();

    Chain(long deadline, CountDownLatch finished) {
      this.deadline = deadline;
      this.finished = finished;
    }

    void next() {
      if (wip.getAndIncrement() != 0) {
        return; // the thread already in the loop below sends it
      }
      do {
        sendOne();
      } while (wip.decrementAndGet() != 0);
    }

    /** Sends the next request, or finishes the chain. */
    private void sendOne() {
      if (stop || (requests > 0 && tickets.getAndIncrement() >= requests)) {
        finished.countDown();
        return;
      }
      t0 = System.nanoTime();
      if (durationNanos > 0 && t0 - deadline >= 0) {
        finished.countDown();
        return;
      }
      CompletableFuture<HttpResponse> f;
      try {
        f = client.send(request);
      } catch (RuntimeException e) { // closed under us: nothing more can be sent
        failure(e);
        finished.countDown();
        return;
      }
      f.whenComplete(this);
    }

    @Override
    public void accept(HttpResponse response, Throwable error) {
      if (error == null) {
        latency.recordValue(Math.max(1, System.nanoTime() - t0));
        succeeded++;
        status[Math.floorMod(response.status(), 1000)]++;
        if (response.servedBy() != null) {
          served[response.servedBy().ordinal()]++;
        }
        bytes += response.bodySize();
        if (response.retried()) {
          retried++;
        }
        done.increment();
      } else {
        failure(
            error instanceof CompletionException && error.getCause() != null
                ? error.getCause()
                : error);
      }
      next();
    }

    private void failure(Throwable e) {
      failed++;
      Bench.this.failed.increment(); // the run's count, which the progress bar reads
      String function = Errors.function(e);
      errors.merge(function, 1L, Long::sum);
      samples.putIfAbsent(function, Errors.describe(e, true));
      done.increment();
    }
  }

  /** CPU time used by this process so far (every thread), or -1 when the JVM cannot tell. */
  static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
    }
    return -1;
  }

  /** The counts a chain keeps of its requests, and a run of all its chains. */
  abstract static class Counts {
    final Histogram latency = new Histogram(3); // nanoseconds, auto-resizing
    /** By {@link FromCache#ordinal()}. */
    final long[] served = new long[FromCache.values().length];

    long succeeded;
    long failed;
    long bytes;
    long retried;

    /** Adds {@code other}'s counts to these. */
    final void add(Counts other) {
      latency.add(other.latency);
      for (int i = 0; i < served.length; i++) {
        served[i] += other.served[i];
      }
      succeeded += other.succeeded;
      failed += other.failed;
      bytes += other.bytes;
      retried += other.retried;
    }
  }

  /** The merged counts of one run. */
  static final class Result extends Counts {
    final long elapsedNanos;
    final TreeMap<Integer, Long> status = new TreeMap<>();
    final TreeMap<String, Long> errors = new TreeMap<>();
    final TreeMap<String, String> errorSamples = new TreeMap<>();
    /** CPU time of the whole process during the run, or -1 when unknown. */
    long cpuNanos = -1;

    Result(long elapsedNanos) {
      this.elapsedNanos = elapsedNanos;
    }

    private void add(Chain w) {
      super.add(w);
      for (int code = 0; code < w.status.length; code++) {
        if (w.status[code] != 0) {
          status.merge(code, w.status[code], Long::sum);
        }
      }
      w.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
      w.samples.forEach(errorSamples::putIfAbsent);
    }

    long requests() {
      return succeeded + failed;
    }

    long served(FromCache how) {
      return served[how.ordinal()];
    }

    /** Connections opened: the requests served by a new connection. */
    long connectionsOpened() {
      return served(FromCache.NEW);
    }

    /** The share of served requests that reused a kept-alive connection (IMMEDIATE + DEFERRED). */
    double reuseRatio() {
      long all = served(FromCache.NEW) + served(FromCache.IMMEDIATE) + served(FromCache.DEFERRED);
      return all == 0 ? 0 : (double) (all - served(FromCache.NEW)) / all;
    }

    /** Process CPU microseconds per request during the run, or -1 when unknown. */
    double cpuMicrosPerRequest() {
      return cpuNanos < 0 || requests() == 0 ? -1 : cpuNanos / 1e3 / requests();
    }

    double requestsPerSecond() {
      return elapsedNanos <= 0 ? 0 : requests() / (elapsedNanos / 1e9);
    }

    /** The most frequent failure's description, or null if none failed. */
    String commonestError() {
      return errors.entrySet().stream()
          .max(Map.Entry.comparingByValue())
          .map(e -> errorSamples.get(e.getKey()))
          .orElse(null);
    }
  }
}
