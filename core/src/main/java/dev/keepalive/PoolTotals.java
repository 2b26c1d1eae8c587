package dev.keepalive;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Running totals over a manager's life, from {@link ConnectionManager#totals()}: a consistent
 * snapshot (every count taken at the same moment on the event loop).
 *
 * @param newHandOuts requests answered with a newly connected socket ({@link FromCache#NEW});
 *     sockets a {@link ConnectionManager#prewarm} opened for the pool are not hand-outs
 * @param immediateHandOuts requests answered from the pool at once ({@link FromCache#IMMEDIATE})
 * @param deferredHandOuts requests answered from the pool after waiting
 *     ({@link FromCache#DEFERRED})
 * @param closes sockets closed, by reason: every {@link CloseReason}, in declaration order
 *     (zeros included); unmodifiable
 * @param failures requests (and prewarm connects) answered with a failure, by the function an
 *     {@link AllocationResult} carries ("resolve", "connect", "sslify", "shutdown", "queue"; a
 *     timeout is "connect"), every function present (zeros included); unmodifiable
 */
public record PoolTotals(
    long newHandOuts,
    long immediateHandOuts,
    long deferredHandOuts,
    Map<CloseReason, Long> closes,
    Map<String, Long> failures) {
  /** Copies the maps, unmodifiable; closes keep EnumMap order, failures their given order. */
  public PoolTotals {
    if (closes == null) {
      throw new IllegalArgumentException("closes must not be null");
    }
    if (failures == null) {
      throw new IllegalArgumentException("failures must not be null");
    }
    EnumMap<CloseReason, Long> c = new EnumMap<>(CloseReason.class);
    c.putAll(closes);
    closes = Collections.unmodifiableMap(c);
    failures = Collections.unmodifiableMap(new LinkedHashMap<>(failures));
  }

  /** All hand-outs: NEW, IMMEDIATE and DEFERRED. */
  public long handOuts() {
    return newHandOuts + immediateHandOuts + deferredHandOuts;
  }

  /** The sockets closed for {@code reason}; 0 when none. */
  public long closed(CloseReason reason) {
    return closes.getOrDefault(reason, 0L);
  }

  /** The failures of {@code function} ("connect", "resolve", ...); 0 when none. */
  public long failed(String function) {
    return failures.getOrDefault(function, 0L);
  }
}
