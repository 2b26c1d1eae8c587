package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import java.util.concurrent.CompletableFuture;

/** Requests for tests that drive the pool or the manager directly. */
final class Requests {
  private Requests() {}

  /** The allocation a key stands for. */
  static Allocation allocation(PoolKey key) {
    Allocation a = Allocation.to(key.scheme, key.host, key.port);
    if (!key.forScheme.equals(key.scheme)
        || !key.forHost.equals(key.host)
        || key.forPort != key.port) {
      a = a.forTarget(key.forScheme, key.forHost, key.forPort);
    }
    return a;
  }

  /** A request the pool answers through its Io only (it never calls the recipients). */
  static Request of(long id, PoolKey key, long timeoutNanos) {
    return new Request(id, key, allocation(key), timeoutNanos, false, null, null);
  }

  /** A request that must get a NEW connection. */
  static Request fresh(long id, PoolKey key, long timeoutNanos) {
    return new Request(id, key, allocation(key), timeoutNanos, true, null, null);
  }

  /** Submits a request to a running manager; the future gets its connection or its failure. */
  static CompletableFuture<Connection> submit(Manager core, long id, Allocation a) {
    CompletableFuture<Connection> f = new CompletableFuture<>();
    core.submit(
        id,
        a,
        a.isFresh(),
        (c, how) -> f.complete(c),
        failure -> f.completeExceptionally(new AssertionError(failure.toString())));
    return f;
  }
}
