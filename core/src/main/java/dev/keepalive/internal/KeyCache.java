package dev.keepalive.internal;

import dev.keepalive.Allocation;

/**
 * The pool key of an {@link Allocation}, remembered for allocations made of the same objects.
 *
 * <p>Callers ask again and again for the same place with the same Allocation, or with copies of
 * one ({@code timeout()} and {@code context()} share the original's strings). Building a key
 * normalizes scheme and host and makes a new object, whose equality the pool's key map then
 * checks string by string; on the one-key cached cycle that was 9 % of the loop's time. A hit
 * here returns the key object of the last miss, so the map's lookup ends at an identity
 * comparison, and nothing is allocated.
 *
 * <p>A key keeps the allocation's own strings when they are already normal (lower case, no
 * brackets or spaces), so a remembered key matches an allocation whose key fields are the very
 * objects it holds (reference comparison: a match is always right; equal strings in other objects,
 * or strings that needed normalizing, only miss and build the key again). The cache holds keys
 * only, never an allocation or its context. Direct-mapped, {@value #SIZE} keys by host and port.
 *
 * <p>Any thread (allocate() runs on the caller's): a key is immutable with final fields, so a
 * racing reader sees an old or a new one, either of them checked before use.
 */
final class KeyCache {
  static final int SIZE = 256;

  private final PoolKey[] keys = new PoolKey[SIZE];

  /** The key of {@code a}: remembered, or built (and remembered). */
  PoolKey of(Allocation a) {
    String addr = a.addr();
    int port = a.port();
    int i = (addr.hashCode() * 31 + port) & (SIZE - 1);
    PoolKey k = keys[i];
    if (k != null
        && k.host == addr
        && k.port == port
        && k.scheme == a.scheme()
        && k.forHost == a.forAddr()
        && k.forPort == a.forPort()
        && k.forScheme == a.forScheme()
        && k.proxy == a.proxy()
        && k.unixSocket == a.unixSocket()) {
      return k;
    }
    k = PoolKey.of(a);
    keys[i] = k;
    return k;
  }
}
