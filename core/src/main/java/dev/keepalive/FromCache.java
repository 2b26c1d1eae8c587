package dev.keepalive;

/** How a successful allocation was served ({@code from_cache} in Perl's POE::Component::Client::Keepalive). */
public enum FromCache {
  /** Connected for this request. */
  NEW,
  /** An idle pooled socket was available when {@code allocate()} was called. */
  IMMEDIATE,
  /** The request waited, then got a socket another holder gave back. */
  DEFERRED
}
