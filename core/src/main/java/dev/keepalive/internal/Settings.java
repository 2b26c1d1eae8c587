package dev.keepalive.internal;

import dev.keepalive.Resolver;
import java.net.InetAddress;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * A manager's settings, validated by the public builder.
 *
 * @param sslContext null for {@link SSLContext#getDefault()}, looked up on first use
 * @param sslParameters null for the secure defaults (see {@link Tls})
 * @param tlsSchemes lower-case schemes whose sockets are wrapped in TLS
 * @param clock where the pool reads time (tests substitute a manual one)
 * @param expireBatch most idle sockets closed for keep-alive per loop turn (see {@link Pool})
 */
public record Settings(int maxPerHost, int maxOpen, long keepAliveNanos, long timeoutNanos,
    Resolver resolver, InetAddress bindAddress, SSLContext sslContext,
    SSLParameters sslParameters, Set<String> tlsSchemes, long maxPendingWriteBytes, Clock clock,
    int expireBatch) {

  /** Settings with the system clock and the default keep-alive expiry batch. */
  public Settings(int maxPerHost, int maxOpen, long keepAliveNanos, long timeoutNanos,
      Resolver resolver, InetAddress bindAddress, SSLContext sslContext,
      SSLParameters sslParameters, Set<String> tlsSchemes, long maxPendingWriteBytes) {
    this(maxPerHost, maxOpen, keepAliveNanos, timeoutNanos, resolver, bindAddress, sslContext,
        sslParameters, tlsSchemes, maxPendingWriteBytes, Clock.SYSTEM, Pool.DEFAULT_EXPIRE_BATCH);
  }
}
