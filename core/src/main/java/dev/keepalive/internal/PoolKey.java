package dev.keepalive.internal;

import dev.keepalive.Allocation;
import java.util.Locale;

/**
 * The pool key, a plain value: sockets are shared only between requests with equal keys. Schemes
 * and host names compare case-insensitively; IPv6 brackets are dropped; an unset target equals
 * the connection's own scheme/addr/port. The hash is computed once. It holds no pool state.
 */
final class PoolKey {
  final String scheme;
  final String host;
  final int port;
  final String forScheme;
  final String forHost;
  final int forPort;
  private final int hash;

  PoolKey(String scheme, String addr, int port, String forScheme, String forAddr, int forPort) {
    this.scheme = scheme.toLowerCase(Locale.ROOT);
    this.host = normalizeHost(addr);
    this.port = port;
    this.forScheme = forScheme == null ? this.scheme : forScheme.toLowerCase(Locale.ROOT);
    this.forHost = forAddr == null ? this.host : normalizeHost(forAddr);
    this.forPort = forScheme == null ? port : forPort;
    int h = this.scheme.hashCode();
    h = 31 * h + host.hashCode();
    h = 31 * h + port;
    h = 31 * h + this.forScheme.hashCode();
    h = 31 * h + this.forHost.hashCode();
    h = 31 * h + this.forPort;
    this.hash = h;
  }

  /** The key of an allocation (its scheme, address, port and target). */
  static PoolKey of(Allocation a) {
    boolean target = !a.forScheme().equals(a.scheme())
        || !a.forAddr().equals(a.addr())
        || a.forPort() != a.port();
    return target
        ? new PoolKey(a.scheme(), a.addr(), a.port(), a.forScheme(), a.forAddr(), a.forPort())
        : new PoolKey(a.scheme(), a.addr(), a.port(), null, null, 0);
  }

  static String normalizeHost(String addr) {
    String a = addr.trim();
    if (a.length() > 2 && a.charAt(0) == '[' && a.charAt(a.length() - 1) == ']') {
      a = a.substring(1, a.length() - 1);
    }
    return a.toLowerCase(Locale.ROOT);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof PoolKey)) {
      return false;
    }
    PoolKey k = (PoolKey) o;
    return hash == k.hash
        && port == k.port
        && forPort == k.forPort
        && host.equals(k.host)
        && scheme.equals(k.scheme)
        && forHost.equals(k.forHost)
        && forScheme.equals(k.forScheme);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    String s = scheme + "://" + host + ":" + port;
    if (!forScheme.equals(scheme) || !forHost.equals(host) || forPort != port) {
      s += " for " + forScheme + "://" + forHost + ":" + forPort;
    }
    return s;
  }
}
