package dev.keepalive;

/** How a successful allocation was served (the seed's {@code from_cache}). */
public enum FromCache {
  /** Connected for this request. */
  NEW,
  /** An idle pooled socket was available when {@code allocate()} was called. */
  IMMEDIATE,
  /** The request waited, then got a socket another holder gave back. */
  DEFERRED
}
