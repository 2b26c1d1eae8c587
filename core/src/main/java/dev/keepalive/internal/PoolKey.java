package dev.keepalive.internal;

import java.util.Locale;

/**
 * The pool key: sockets are shared only between requests with equal keys. Schemes and host names
 * compare case-insensitively; IPv6 brackets are dropped; an unset target equals the connection's
 * own scheme/addr/port. The hash is computed once.
 */
public final class PoolKey {
  final String scheme;
  final String host;
  final int port;
  final String forScheme;
  final String forHost;
  final int forPort;
  /** The address when host is a literal IP address (no lookup needed), else null. */
  final java.net.InetAddress literal;
  private final int hash;
  /**
   * The host state of the last pool that looked this key up, so a pool hit with a reused key
   * skips the map. Only a {@link Host#pool} match makes it usable; written by event loops.
   */
  volatile Host cachedHost;

  public PoolKey(String scheme, String addr, int port, String forScheme, String forAddr,
      int forPort) {
    this.scheme = scheme.toLowerCase(Locale.ROOT);
    this.host = normalizeHost(addr);
    this.port = port;
    this.forScheme = forScheme == null ? this.scheme : forScheme.toLowerCase(Locale.ROOT);
    this.forHost = forAddr == null ? this.host : normalizeHost(forAddr);
    this.forPort = forScheme == null ? port : forPort;
    this.literal = Dns.literal(host);
    int h = this.scheme.hashCode();
    h = 31 * h + host.hashCode();
    h = 31 * h + port;
    h = 31 * h + this.forScheme.hashCode();
    h = 31 * h + this.forHost.hashCode();
    h = 31 * h + this.forPort;
    this.hash = h;
  }

  static String normalizeHost(String addr) {
    String a = addr.trim();
    if (a.length() > 2 && a.charAt(0) == '[' && a.charAt(a.length() - 1) == ']') {
      a = a.substring(1, a.length() - 1);
    }
    return a.toLowerCase(Locale.ROOT);
  }

  /** The host name or literal address to connect to, normalized. */
  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String scheme() {
    return scheme;
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
    return hash == k.hash && port == k.port && forPort == k.forPort && host.equals(k.host)
        && scheme.equals(k.scheme) && forHost.equals(k.forHost) && forScheme.equals(k.forScheme);
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
