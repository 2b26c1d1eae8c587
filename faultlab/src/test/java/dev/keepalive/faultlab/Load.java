package dev.keepalive.faultlab;

import dev.keepalive.FromCache;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpException;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * GET requests through an {@link HttpClient}, {@code concurrency} in flight at once, each
 * registered with the scenario's {@link Invariants}; counts how each was served and how each
 * failed. Bounded: it never runs longer than {@link #BOUND}.
 */
final class Load {
  static final Duration BOUND = Duration.ofSeconds(120);

  private final HttpClient client;
  private final Invariants invariants;
  private final Duration deadline;
  private final Semaphore inFlight;
  private final int concurrency;

  private final Map<FromCache, Integer> served = new EnumMap<>(FromCache.class);
  private final Map<String, Integer> failuresByStage = new TreeMap<>();
  private final ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> examples = new ConcurrentLinkedQueue<>();
  private int ok;
  private int failed;
  private int badBodies;
  private int retried;
  private long startNanos;
  private long endNanos;

  Load(HttpClient client, Invariants invariants, int concurrency, Duration deadline) {
    this.client = client;
    this.invariants = invariants;
    this.deadline = deadline;
    this.concurrency = concurrency;
    this.inFlight = new Semaphore(concurrency);
  }

  /** The outcome of one request, for a caller that keeps its own tally. */
  interface Outcome {
    void accept(int index, HttpResponse response, Throwable failure);
  }

  /**
   * Sends {@code request.apply(i)} for i = 0, 1, ... while {@code more} says so (asked before
   * each), then waits for every answer. {@code outcome} hears each answer (on the loop).
   */
  Load run(IntFunction<HttpRequest> request, BooleanSupplier more, Outcome outcome)
      throws InterruptedException {
    startNanos = System.nanoTime();
    long stopAt = startNanos + BOUND.toNanos();
    int i = 0;
    while (more.getAsBoolean()) {
      if (System.nanoTime() > stopAt) {
        throw new AssertionError("load still running after " + BOUND + " (" + i + " sent)");
      }
      if (!inFlight.tryAcquire(1, TimeUnit.SECONDS)) {
        continue;
      }
      int index = i++;
      HttpRequest r = request.apply(index);
      invariants.track(client.send(r), deadline).whenComplete((resp, e) -> {
        try {
          record(r, resp, e);
          if (outcome != null) {
            outcome.accept(index, resp, e);
          }
        } catch (Throwable t) {
          unexpected.add(t);
        } finally {
          inFlight.release();
        }
      });
    }
    if (!inFlight.tryAcquire(concurrency, BOUND.toSeconds(), TimeUnit.SECONDS)) {
      throw new AssertionError("requests still in flight after " + BOUND);
    }
    inFlight.release(concurrency);
    endNanos = System.nanoTime();
    return this;
  }

  /** Sends {@code n} requests. */
  Load run(IntFunction<HttpRequest> request, int n) throws InterruptedException {
    int[] sent = {0};
    return run(request, () -> sent[0]++ < n, null);
  }

  private synchronized void record(HttpRequest r, HttpResponse resp, Throwable e) {
    if (e == null) {
      ok++;
      served.merge(resp.servedBy(), 1, Integer::sum);
      if (resp.retried()) {
        retried++;
      }
      String path = r.uri().getPath();
      int expected = path.endsWith("big.bin")
          ? Lab.BIG
          : path.endsWith("64k.bin") ? 65536 : Lab.SMALL_BODY.length();
      if (resp.status() != 200 || resp.body().length != expected) {
        badBodies++;
        examples.add(r + " -> " + resp);
      }
      return;
    }
    failed++;
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof HttpException he) {
      failuresByStage.merge(he.stage(), 1, Integer::sum);
      if (examples.size() < 5) {
        examples.add(r + " -> " + he);
      }
    } else {
      unexpected.add(cause);
    }
  }

  synchronized int ok() {
    return ok;
  }

  synchronized int failed() {
    return failed;
  }

  synchronized int badBodies() {
    return badBodies;
  }

  synchronized int served(FromCache how) {
    return served.getOrDefault(how, 0);
  }

  synchronized Map<String, Integer> failuresByStage() {
    return new TreeMap<>(failuresByStage);
  }

  /** Failures that were no HttpException, and exceptions thrown while counting. */
  ConcurrentLinkedQueue<Throwable> unexpected() {
    return unexpected;
  }

  synchronized double reuse() {
    int all = served(FromCache.NEW) + served(FromCache.IMMEDIATE) + served(FromCache.DEFERRED);
    return all == 0 ? 0 : (all - served(FromCache.NEW)) / (double) all;
  }

  double seconds() {
    return (endNanos - startNanos) / 1e9;
  }

  /** One line of figures for the report. */
  synchronized String summary() {
    return String.format(
        "requests=%d ok=%d failed=%d %s NEW=%d IMMEDIATE=%d DEFERRED=%d retried=%d reuse=%.2f%% "
            + "time=%.1fs examples=%s",
        ok + failed,
        ok,
        failed,
        failuresByStage,
        served(FromCache.NEW),
        served(FromCache.IMMEDIATE),
        served(FromCache.DEFERRED),
        retried,
        reuse() * 100,
        seconds(),
        examples);
  }
}
