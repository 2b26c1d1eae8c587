package dev.keepalive.internal;

import dev.keepalive.Resolver;
import java.util.Set;

/** Settings for tests that run a {@link Manager} directly. */
final class TestSettings {
  private TestSettings() {}

  static final long SECOND = 1_000_000_000L;

  /**
   * Settings with the limits, keep-alive, clock and expiry batch a test chooses; the rest as the
   * builder's defaults have them (60 s timeout, the system resolver, TLS for "https", 16 MiB of
   * pending writes) and every production rule off.
   */
  static Settings of(
      int maxPerHost, int maxOpen, long keepAliveNanos, Clock clock, int expireBatch) {
    return new Settings(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        60 * SECOND,
        Resolver.system(),
        null,
        null,
        null,
        Set.of("https"),
        16L << 20,
        clock,
        expireBatch);
  }
}
