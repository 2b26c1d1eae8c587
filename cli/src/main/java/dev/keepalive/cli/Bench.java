package dev.keepalive.cli;

import dev.keepalive.FromCache;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * The load generator: {@code concurrency} threads, each sending the same request through one
 * client (one connection manager) and waiting for the whole response before sending the next,
 * until the request count or the time limit is reached. Each thread keeps its own latency
 * histogram and counts, merged at the end; only the two live counters the progress bar reads are
 * shared.
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
  Bench(HttpClient client, HttpRequest request, int concurrency, long requests,
      long durationNanos) {
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

  /** Runs the benchmark on new threads and waits for them. */
  Result run() throws InterruptedException {
    long start = System.nanoTime();
    Worker[] workers = new Worker[concurrency];
    Thread[] threads = new Thread[concurrency];
    for (int i = 0; i < concurrency; i++) {
      workers[i] = new Worker(start + durationNanos);
      threads[i] = new Thread(workers[i], "keepalive-bench-" + (i + 1));
      threads[i].setDaemon(true);
      threads[i].start();
    }
    try {
      for (Thread t : threads) {
        t.join();
      }
    } catch (InterruptedException e) {
      stop();
      throw e;
    }
    Result r = new Result(System.nanoTime() - start);
    for (Worker w : workers) {
      r.add(w);
    }
    return r;
  }

  private final class Worker implements Runnable {
    private final long deadline;
    final Histogram latency = new Histogram(3); // nanoseconds, auto-resizing
    final Map<Integer, Long> status = new HashMap<>();
    final Map<String, Long> errors = new HashMap<>();
    final Map<String, String> samples = new HashMap<>();
    final long[] served = new long[FromCache.values().length];
    long succeeded;
    long failures;
    long bytes;
    long retried;

    Worker(long deadline) {
      this.deadline = deadline;
    }

    @Override
    public void run() {
      while (!stop) {
        if (requests > 0 && tickets.getAndIncrement() >= requests) {
          return;
        }
        long t0 = System.nanoTime();
        if (durationNanos > 0 && t0 - deadline >= 0) {
          return;
        }
        try {
          HttpResponse response = client.sendBlocking(request);
          latency.recordValue(Math.max(1, System.nanoTime() - t0));
          succeeded++;
          status.merge(response.status(), 1L, Long::sum);
          if (response.servedBy() != null) {
            served[response.servedBy().ordinal()]++;
          }
          bytes += response.bodySize();
          if (response.retried()) {
            retried++;
          }
        } catch (Exception e) {
          failures++;
          failed.increment();
          String function = Errors.function(e);
          errors.merge(function, 1L, Long::sum);
          samples.putIfAbsent(function, Errors.describe(e, true));
        }
        done.increment();
      }
    }
  }

  /** The merged counts of one run. */
  static final class Result {
    final long elapsedNanos;
    final Histogram latency = new Histogram(3);
    final TreeMap<Integer, Long> status = new TreeMap<>();
    final TreeMap<String, Long> errors = new TreeMap<>();
    final TreeMap<String, String> errorSamples = new TreeMap<>();
    final long[] served = new long[FromCache.values().length];
    long succeeded;
    long failed;
    long bytes;
    long retried;

    Result(long elapsedNanos) {
      this.elapsedNanos = elapsedNanos;
    }

    private void add(Worker w) {
      latency.add(w.latency);
      w.status.forEach((k, v) -> status.merge(k, v, Long::sum));
      w.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
      w.samples.forEach(errorSamples::putIfAbsent);
      for (int i = 0; i < served.length; i++) {
        served[i] += w.served[i];
      }
      succeeded += w.succeeded;
      failed += w.failures;
      bytes += w.bytes;
      retried += w.retried;
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
