package dev.keepalive.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar on stderr, redrawn five times a second while a benchmark runs, and
 * erased when it ends:
 * {@code [##########..........]  50%  5.0 s  125,341 requests  25,061/s  0 errors}.
 */
final class Progress implements AutoCloseable {
  private static final int WIDTH = 24;

  private final PrintWriter err;
  private final String label;
  private final LongSupplier done;
  private final LongSupplier failed;
  private final long total;
  private final long durationNanos;
  private final long start = System.nanoTime();
  private final ScheduledExecutorService timer;
  private int lastLength;
  private boolean closed;

  /**
   * @param total the request limit, or 0
   * @param durationNanos the time limit, or 0
   * @param label goes before the bar ("warm-up " or "")
   */
  Progress(
      PrintWriter err,
      String label,
      LongSupplier done,
      LongSupplier failed,
      long total,
      long durationNanos) {
    this.err = err;
    this.label = label;
    this.done = done;
    this.failed = failed;
    this.total = total;
    this.durationNanos = durationNanos;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "keepalive-progress");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts drawing; returns this. */
  Progress start() {
    // the first line now, not from the timer's thread: a run that ends before that thread first
    // ran (a short one on a busy machine) drew nothing, and the bar was never seen
    draw();
    timer.scheduleAtFixedRate(this::draw, 200, 200, TimeUnit.MILLISECONDS);
    return this;
  }

  /** The line for the current counts (without the leading carriage return). */
  static String line(long elapsedNanos, long done, long failed, long total, long durationNanos) {
    double fraction = 0;
    if (total > 0) {
      fraction = Math.max(fraction, (double) done / total);
    }
    if (durationNanos > 0) {
      fraction = Math.max(fraction, (double) elapsedNanos / durationNanos);
    }
    fraction = Math.min(1, fraction);
    int filled = (int) Math.round(fraction * WIDTH);
    double seconds = elapsedNanos / 1e9;
    double rate = seconds > 0 ? done / seconds : 0;
    return String.format(
        Locale.ROOT,
        "[%s%s] %3d%%  %.1f s  %,d requests  %,.0f/s  %,d errors",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        Math.round(fraction * 100),
        seconds,
        done,
        rate,
        failed);
  }

  private synchronized void draw() {
    if (closed) {
      return;
    }
    String s = label
        + line(
            System.nanoTime() - start, done.getAsLong(), failed.getAsLong(), total, durationNanos);
    // pad over a longer previous line
    String pad = s.length() < lastLength ? " ".repeat(lastLength - s.length()) : "";
    err.print("\r" + s + pad);
    err.flush();
    lastLength = s.length();
  }

  /** Stops drawing and erases the line. */
  @Override
  public void close() {
    timer.shutdownNow();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (lastLength > 0) {
        err.print("\r" + " ".repeat(lastLength) + "\r");
        err.flush();
      }
    }
  }
}
