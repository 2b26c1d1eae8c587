package dev.keepalive.cli;

import dev.keepalive.FromCache;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
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
 * event loops: no thread per connection, no wake-up per request.
 *
 * <p>A chain is a few fields: the counts are kept per recording thread (one {@link Tally}, with
 * one latency histogram, per thread that completes responses: in practice the event loop),
 * as wrk keeps one per thread, and merged at the end; memory does not grow with the
 * concurrency. Only the two live counters the progress bar and the watchdog read are shared.
 *
 * <p>With a rate ({@code -R}), each chain sends on a fixed schedule (its share of the rate) and
 * a request's latency is measured from the time it should have been sent ({@link Pace}), so a
 * stall counts against every request it delayed (coordinated omission corrected, as wrk2).
 *
 * <p>A run stops early when no request has succeeded for {@link #FAILING_NANOS} and at least
 * {@link #FAILING_COUNT} have failed in that time ({@link #stoppedBecause()}).
 */
final class Bench {
  /** How long every request must fail before the run stops early. */
  static final long FAILING_NANOS = 2_000_000_000L;
  /** How many requests must fail, with none succeeding, before the run stops early. */
  static final long FAILING_COUNT = 10;

  private final HttpClient client;
  private final HttpRequest request;
  private final int concurrency;
  private final long requests;
  private final long durationNanos;
  private final long intervalNanos; // between two sends of one chain, 0 when not paced
  private final AtomicLong tickets = new AtomicLong();
  private final LongAdder succeeded = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final ConcurrentLinkedQueue<Tally> tallies = new ConcurrentLinkedQueue<>();
  private final ThreadLocal<Tally> tally = ThreadLocal.withInitial(() -> {
    Tally t = new Tally();
    tallies.add(t);
    return t;
  });
  private final Set<Chain> waiting = ConcurrentHashMap.newKeySet();
  private volatile ScheduledExecutorService timer;
  private volatile boolean stop;
  private volatile String stoppedBecause;
  private volatile Runnable onStop;

  /**
   * @param requests how many requests in all, or 0 for no limit
   * @param durationNanos for how long to send requests, or 0 for no limit
   * @param rate requests per second in all (constant-rate mode), or 0 to send each request as
   *     soon as the last one of its chain has been answered
   */
  Bench(
      HttpClient client,
      HttpRequest request,
      int concurrency,
      long requests,
      long durationNanos,
      double rate) {
    if (requests <= 0 && durationNanos <= 0) {
      throw new IllegalArgumentException("a request count or a duration is needed");
    }
    if (rate < 0 || Double.isNaN(rate)) {
      throw new IllegalArgumentException("rate must be positive or 0, was " + rate);
    }
    this.client = client;
    this.request = request;
    this.concurrency = concurrency;
    this.requests = requests;
    this.durationNanos = durationNanos;
    this.intervalNanos = rate == 0 ? 0 : Math.max(1, (long) (concurrency * 1e9 / rate));
  }

  /** Requests answered or failed so far. */
  long done() {
    return succeeded.sum() + failed.sum();
  }

  /** Requests failed so far. */
  long failed() {
    return failed.sum();
  }

  /** How many threads have recorded counts (each has one {@link Tally}), whatever the concurrency. */
  int recorders() {
    return tallies.size();
  }

  /** Stops sending (requests in flight still finish); run() then returns soon. */
  void stop() {
    stop = true;
    Runnable also = onStop;
    if (also != null) {
      also.run();
    }
    for (Chain c : waiting) { // chains waiting for their next send time finish now
      if (waiting.remove(c)) {
        c.next();
      }
    }
  }

  /** Runs {@code action} too when this is stopped (to stop a warm-up that runs before it). */
  void onStop(Runnable action) {
    onStop = action;
  }

  boolean stopped() {
    return stop;
  }

  /** Why the run stopped by itself before its limit (every request failing), or null. */
  String stoppedBecause() {
    return stoppedBecause;
  }

  /** Starts the chains and waits until each has finished. */
  Result run() throws InterruptedException {
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "keepalive-bench-timer");
      th.setDaemon(true);
      return th;
    });
    timer = t;
    try {
      return run(t);
    } finally {
      t.shutdownNow();
    }
  }

  private Result run(ScheduledExecutorService t) throws InterruptedException {
    long cpu0 = processCpuNanos();
    long start = System.nanoTime();
    CountDownLatch finished = new CountDownLatch(concurrency);
    Chain[] chains = new Chain[concurrency];
    for (int i = 0; i < concurrency; i++) {
      Pace pace = intervalNanos == 0
          ? null
          : new Pace(start + intervalNanos * i / concurrency, intervalNanos); // staggered
      chains[i] = new Chain(start + durationNanos, finished, pace);
    }
    Watchdog watchdog = new Watchdog(start);
    t.scheduleAtFixedRate(watchdog, 100, 100, TimeUnit.MILLISECONDS);
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
    for (Tally each : tallies) {
      r.add(each);
    }
    return r;
  }

  /**
   * Stops the run when no request has succeeded for {@link #FAILING_NANOS} and at least {@link
   * #FAILING_COUNT} failed meanwhile; runs on the timer every 100 ms.
   */
  private final class Watchdog implements Runnable {
    private long since;
    private long succeededThen;
    private long failedThen;

    Watchdog(long start) {
      since = start;
    }

    @Override
    public void run() {
      if (stop) {
        return;
      }
      long failedNow = failed.sum();
      long succeededNow = succeeded.sum();
      long now = System.nanoTime();
      if (succeededNow != succeededThen) { // something succeeded: start a new window
        since = now;
        succeededThen = succeededNow;
        failedThen = failedNow;
      } else if (now - since >= FAILING_NANOS && failedNow - failedThen >= FAILING_COUNT) {
        stoppedBecause = String.format(
            Locale.ROOT,
            "every request failed for %.1f s (%,d failed, none succeeded)",
            (now - since) / 1e9,
            failedNow - failedThen);
        stop();
      }
    }
  }

  /**
   * One request in flight at a time. {@link #next} runs on the thread that starts the chain and
   * then on whichever thread completes a response (the event loop), or the timer when paced;
   * {@code wip} makes it a trampoline, so a response that completes at once (a failure, say)
   * does not recurse, and no completion is lost when two threads meet.
   */
  private final class Chain implements BiConsumer<HttpResponse, Throwable> {
    private final long deadline;
    private final CountDownLatch finished;
    private final Pace pace;
    private final AtomicInteger wip = new AtomicInteger();
    private long t0;

    Chain(long deadline, CountDownLatch finished, Pace pace) {
      this.deadline = deadline;
      this.finished = finished;
      this.pace = pace;
    }

    void next() {
      if (wip.getAndIncrement() != 0) {
        return; // the thread already in the loop below sends it
      }
      do {
        sendOne();
      } while (wip.decrementAndGet() != 0);
    }

    /** Sends the next request, or waits for its send time, or finishes the chain. */
    private void sendOne() {
      if (stop) {
        finished.countDown();
        return;
      }
      long now = System.nanoTime();
      if (pace != null) {
        long wait = pace.untilNext(now);
        if (durationNanos > 0 && pace.next() - deadline >= 0) {
          finished.countDown(); // its next send time is past the end
          return;
        }
        if (wait > 0) {
          waiting.add(this);
          if (stop) { // stop() may have looked at the set before this was added
            if (waiting.remove(this)) {
              finished.countDown();
            } // else stop() took it: its next() finishes the chain
            return;
          }
          timer.schedule(this::wake, wait, TimeUnit.NANOSECONDS);
          return;
        }
      } else if (durationNanos > 0 && now - deadline >= 0) {
        finished.countDown();
        return;
      }
      if (requests > 0 && tickets.getAndIncrement() >= requests) {
        finished.countDown();
        return;
      }
      t0 = pace != null ? pace.take() : now;
      CompletableFuture<HttpResponse> f;
      try {
        f = client.send(request);
      } catch (RuntimeException e) { // closed under us: nothing more can be sent
        tally.get().failure(e);
        finished.countDown();
        return;
      }
      f.whenComplete(this);
    }

    private void wake() {
      if (waiting.remove(this)) {
        next();
      }
    }

    @Override
    public void accept(HttpResponse response, Throwable error) {
      Tally t = tally.get();
      if (error == null) {
        t.success(response, System.nanoTime() - t0);
      } else {
        t.failure(
            error instanceof CompletionException && error.getCause() != null
                ? error.getCause()
                : error);
      }
      next();
    }
  }

  /**
   * The send schedule of one chain in constant-rate mode: a send time every {@code interval}
   * nanoseconds from {@code first}. A request is sent at its send time or, when the chain is
   * late (the last response came after it), at once; either way its latency is measured from
   * its send time, {@link #take}: a response that took long delays the requests after it, and
   * their wait counts in their latency, as it would for users arriving at a constant rate.
   */
  static final class Pace {
    private final long interval;
    private long next;

    Pace(long first, long interval) {
      if (interval <= 0) {
        throw new IllegalArgumentException("interval must be positive, was " + interval);
      }
      this.next = first;
      this.interval = interval;
    }

    /** Nanoseconds from {@code now} to the next send time; 0 or less: send now. */
    long untilNext(long now) {
      return next - now;
    }

    /** The next send time. */
    long next() {
      return next;
    }

    /** Takes the next send time, from which the request sent now is measured. */
    long take() {
      long t = next;
      next += interval;
      return t;
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

  /** Counts of requests: those of one recording thread ({@link Tally}), or of a whole run. */
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

  /**
   * The counts of the requests one thread saw complete: one per recording thread, not per
   * chain. Only its own thread writes it; it is read once every chain has finished.
   */
  final class Tally extends Counts {
    final long[] status = new long[1000]; // by status code (three digits)
    final Map<String, Long> errors = new HashMap<>();
    final Map<String, String> samples = new HashMap<>();

    /** A response arrived {@code latencyNanos} after its request's start (or send time). */
    void success(HttpResponse response, long latencyNanos) {
      latency.recordValue(Math.max(1, latencyNanos));
      succeeded++;
      status[Math.floorMod(response.status(), 1000)]++;
      if (response.servedBy() != null) {
        served[response.servedBy().ordinal()]++;
      }
      bytes += response.bodySize();
      if (response.retried()) {
        retried++;
      }
      Bench.this.succeeded.increment(); // the run's count, for the progress bar and the watchdog
    }

    void failure(Throwable e) {
      failed++;
      Bench.this.failed.increment(); // the run's count, which the progress bar reads
      String function = Errors.function(e);
      errors.merge(function, 1L, Long::sum);
      samples.putIfAbsent(function, Errors.describe(e, true));
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

    private void add(Tally w) {
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
