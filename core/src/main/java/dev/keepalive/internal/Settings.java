package dev.keepalive.internal;

import dev.keepalive.HealthCheck;
import dev.keepalive.Resolver;
import java.net.InetAddress;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.DoubleSupplier;
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
 * @param dialBatch most connects started per loop turn (see {@link Dialer})
 * @param maxLifetimeNanos a socket's longest life from its TCP connect, before jitter; 0 for
 *     unlimited
 * @param lifetimeJitter in [0, 1): each socket lives maxLifetime * (1 - u * jitter)
 * @param lifetimeRandom draws that u, uniform in [0, 1) (tests substitute a fixed one)
 * @param maxUses most hand-outs per socket; {@link Integer#MAX_VALUE} for unlimited
 * @param maxQueued most requests waiting for a slot; {@link Integer#MAX_VALUE} for unlimited
 * @param connectAttemptDelayNanos Happy Eyeballs' delay before the next address is tried
 *     alongside (AttemptRace)
 * @param leakDetectionNanos how long a connection may be held before it is reported; 0 for off
 * @param tcpKeepAlive TCP keepalive on every socket, or null for off
 * @param healthCheckAfterNanos a pooled socket idle longer than this is checked before it is
 *     handed out; -1 for never
 * @param healthCheck the check, or null for none
 * @param tlsTaskExecutor runs the TLS engines' delegated tasks (see {@link Tls}); null to run
 *     them on the event loop
 */
public record Settings(
    int maxPerHost,
    int maxOpen,
    long keepAliveNanos,
    long timeoutNanos,
    Resolver resolver,
    InetAddress bindAddress,
    SSLContext sslContext,
    SSLParameters sslParameters,
    Set<String> tlsSchemes,
    long maxPendingWriteBytes,
    Clock clock,
    int expireBatch,
    int dialBatch,
    long maxLifetimeNanos,
    double lifetimeJitter,
    DoubleSupplier lifetimeRandom,
    int maxUses,
    int maxQueued,
    long connectAttemptDelayNanos,
    long leakDetectionNanos,
    TcpKeepAlive tcpKeepAlive,
    long healthCheckAfterNanos,
    HealthCheck healthCheck,
    Executor tlsTaskExecutor) {

  /** The default share of maxLifetime a socket's lifetime may fall short by. */
  public static final double DEFAULT_LIFETIME_JITTER = 0.1;
  /** RFC 8305's recommended connection attempt delay: 250 ms. */
  public static final long DEFAULT_CONNECT_ATTEMPT_DELAY_NANOS = 250_000_000L;

  /**
   * Settings with every production rule off (lifetime, uses, queue bound, leak detection, TCP
   * keepalive, health checks).
   */
  public Settings(
      int maxPerHost,
      int maxOpen,
      long keepAliveNanos,
      long timeoutNanos,
      Resolver resolver,
      InetAddress bindAddress,
      SSLContext sslContext,
      SSLParameters sslParameters,
      Set<String> tlsSchemes,
      long maxPendingWriteBytes,
      Clock clock,
      int expireBatch) {
    this(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        timeoutNanos,
        resolver,
        bindAddress,
        sslContext,
        sslParameters,
        tlsSchemes,
        maxPendingWriteBytes,
        clock,
        expireBatch,
        Dialer.DEFAULT_DIAL_BATCH,
        0,
        DEFAULT_LIFETIME_JITTER,
        Pool.Options::uniform,
        Integer.MAX_VALUE,
        Integer.MAX_VALUE,
        DEFAULT_CONNECT_ATTEMPT_DELAY_NANOS,
        0,
        null,
        -1,
        null,
        null);
  }

  /** Settings with the system clock and the default keep-alive expiry batch. */
  public Settings(
      int maxPerHost,
      int maxOpen,
      long keepAliveNanos,
      long timeoutNanos,
      Resolver resolver,
      InetAddress bindAddress,
      SSLContext sslContext,
      SSLParameters sslParameters,
      Set<String> tlsSchemes,
      long maxPendingWriteBytes) {
    this(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        timeoutNanos,
        resolver,
        bindAddress,
        sslContext,
        sslParameters,
        tlsSchemes,
        maxPendingWriteBytes,
        Clock.SYSTEM,
        Pool.DEFAULT_EXPIRE_BATCH);
  }

  /** A copy with the settings for production networks (see the builder for their meaning). */
  public Settings withProductionRules(
      long maxLifetimeNanos,
      double lifetimeJitter,
      int maxUses,
      int maxQueued,
      long connectAttemptDelayNanos,
      long leakDetectionNanos) {
    return withRules(
        maxLifetimeNanos,
        lifetimeJitter,
        maxUses,
        maxQueued,
        connectAttemptDelayNanos,
        leakDetectionNanos,
        tcpKeepAlive,
        healthCheckAfterNanos,
        healthCheck);
  }

  /**
   * A copy with socket health settings: TCP keepalive (when {@code tcpKeepAlive}, with these
   * TCP_KEEPIDLE and TCP_KEEPINTERVAL seconds and TCP_KEEPCOUNT probes, 0 keeping the system's
   * default for that value) and the idle health check ({@code check} null for none, then
   * {@code checkAfterNanos} is ignored).
   */
  public Settings withSocketHealth(
      boolean tcpKeepAlive,
      int keepIdleSeconds,
      int keepIntervalSeconds,
      int keepProbes,
      long checkAfterNanos,
      HealthCheck check) {
    return withRules(
        maxLifetimeNanos,
        lifetimeJitter,
        maxUses,
        maxQueued,
        connectAttemptDelayNanos,
        leakDetectionNanos,
        tcpKeepAlive ? new TcpKeepAlive(keepIdleSeconds, keepIntervalSeconds, keepProbes) : null,
        check == null ? -1 : checkAfterNanos,
        check);
  }

  /** A copy that starts at most {@code dialBatch} (>= 1) connects per loop turn. */
  public Settings withDialBatch(int dialBatch) {
    if (dialBatch < 1) {
      throw new IllegalArgumentException("dialBatch must be >= 1: " + dialBatch);
    }
    return new Settings(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        timeoutNanos,
        resolver,
        bindAddress,
        sslContext,
        sslParameters,
        tlsSchemes,
        maxPendingWriteBytes,
        clock,
        expireBatch,
        dialBatch,
        maxLifetimeNanos,
        lifetimeJitter,
        lifetimeRandom,
        maxUses,
        maxQueued,
        connectAttemptDelayNanos,
        leakDetectionNanos,
        tcpKeepAlive,
        healthCheckAfterNanos,
        healthCheck,
        tlsTaskExecutor);
  }

  /** A copy whose TLS engines' delegated tasks run on {@code executor} (null: on the loop). */
  public Settings withTlsTaskExecutor(Executor executor) {
    return new Settings(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        timeoutNanos,
        resolver,
        bindAddress,
        sslContext,
        sslParameters,
        tlsSchemes,
        maxPendingWriteBytes,
        clock,
        expireBatch,
        dialBatch,
        maxLifetimeNanos,
        lifetimeJitter,
        lifetimeRandom,
        maxUses,
        maxQueued,
        connectAttemptDelayNanos,
        leakDetectionNanos,
        tcpKeepAlive,
        healthCheckAfterNanos,
        healthCheck,
        executor);
  }

  /** This copy's connection settings with these rules: the one place both copies are made. */
  private Settings withRules(
      long maxLifetimeNanos,
      double lifetimeJitter,
      int maxUses,
      int maxQueued,
      long connectAttemptDelayNanos,
      long leakDetectionNanos,
      TcpKeepAlive tcpKeepAlive,
      long healthCheckAfterNanos,
      HealthCheck healthCheck) {
    return new Settings(
        maxPerHost,
        maxOpen,
        keepAliveNanos,
        timeoutNanos,
        resolver,
        bindAddress,
        sslContext,
        sslParameters,
        tlsSchemes,
        maxPendingWriteBytes,
        clock,
        expireBatch,
        dialBatch,
        maxLifetimeNanos,
        lifetimeJitter,
        lifetimeRandom,
        maxUses,
        maxQueued,
        connectAttemptDelayNanos,
        leakDetectionNanos,
        tcpKeepAlive,
        healthCheckAfterNanos,
        healthCheck,
        tlsTaskExecutor);
  }

  /** The pool's share of these settings. */
  Pool.Options poolOptions() {
    return new Pool.Options(maxLifetimeNanos, lifetimeJitter, lifetimeRandom, maxUses, maxQueued);
  }
}
