package dev.keepalive.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/**
 * Waiting in tests: for a condition (polled from at once, every 5 ms), a future, or the next
 * element of a queue, never longer than {@link #LONG}. A test waits for what it needs to be true
 * and never sleeps in the hope that it has become true; the bound only decides how long a broken
 * test takes to fail.
 */
public final class Await {
  /** How long any single wait lasts at the most. */
  public static final Duration LONG = Duration.ofSeconds(20);

  private Await() {}

  /** A condition waited for up to {@link #LONG}, polled at once and then every 5 ms. */
  public static ConditionFactory await() {
    return await(LONG);
  }

  /** A condition waited for up to {@code atMost}, polled at once and then every 5 ms. */
  public static ConditionFactory await(Duration atMost) {
    return Awaitility.await()
        .atMost(atMost)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5));
  }

  /** The value of {@code f}, waited for up to {@link #LONG}. */
  public static <T> T within(Future<T> f)
      throws InterruptedException, ExecutionException, TimeoutException {
    return f.get(LONG.toSeconds(), TimeUnit.SECONDS);
  }

  /**
   * The exception {@code f} fails with (waited for up to {@link #LONG}), asserting that it fails
   * and with a {@code type}.
   */
  public static <X extends Throwable> X failureOf(Future<?> f, Class<X> type) {
    Throwable t = catchThrowable(() -> f.get(LONG.toSeconds(), TimeUnit.SECONDS));
    assertThat(t).isInstanceOf(ExecutionException.class);
    assertThat(t.getCause()).isInstanceOf(type);
    return type.cast(t.getCause());
  }

  /** The next element of {@code queue}, waited for up to {@link #LONG}; {@code what} for errors. */
  public static <T> T next(BlockingQueue<T> queue, String what) {
    try {
      T t = queue.poll(LONG.toSeconds(), TimeUnit.SECONDS);
      if (t == null) {
        throw new AssertionError("no " + what + " within " + LONG.toSeconds() + " s");
      }
      return t;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
