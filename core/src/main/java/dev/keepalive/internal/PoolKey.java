package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.ProxyServer;
import java.nio.file.Path;
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
  /** The proxy the connection goes through (part of the key), or null for a direct one. */
  final ProxyServer proxy;
  /** The Unix domain socket connections go to instead of TCP (part of the key), or null. */
  final Path unixSocket;

  private final int hash;

  PoolKey(String scheme, String addr, int port, String forScheme, String forAddr, int forPort) {
    this(scheme, addr, port, forScheme, forAddr, forPort, null, null);
  }

  PoolKey(
      String scheme,
      String addr,
      int port,
      String forScheme,
      String forAddr,
      int forPort,
      ProxyServer proxy,
      Path unixSocket) {
    this.scheme = scheme.toLowerCase(Locale.ROOT);
    this.host = normalizeHost(addr);
    this.port = port;
    this.forScheme = forScheme == null ? this.scheme : forScheme.toLowerCase(Locale.ROOT);
    this.forHost = forAddr == null ? this.host : normalizeHost(forAddr);
    this.forPort = forScheme == null ? port : forPort;
    this.proxy = proxy;
    this.unixSocket = unixSocket;
    int h = this.scheme.hashCode();
    h = 31 * h + host.hashCode();
    h = 31 * h + port;
    h = 31 * h + this.forScheme.hashCode();
    h = 31 * h + this.forHost.hashCode();
    h = 31 * h + this.forPort;
    if (proxy != null) {
      h = 31 * h + proxy.hashCode();
    }
    this.hash = unixSocket == null ? h : 31 * h + unixSocket.hashCode();
  }

  /** The key of an allocation (its scheme, address, port and target). */
  static PoolKey of(Allocation a) {
    boolean target = !a.forScheme().equals(a.scheme())
        || !a.forAddr().equals(a.addr())
        || a.forPort() != a.port();
    ProxyServer proxy = a.proxy();
    Path unix = a.unixSocket();
    return target
        ? new PoolKey(
            a.scheme(), a.addr(), a.port(), a.forScheme(), a.forAddr(), a.forPort(), proxy, unix)
        : new PoolKey(a.scheme(), a.addr(), a.port(), null, null, 0, proxy, unix);
  }

  /** The host the TCP connection goes to: the proxy's, else the key's own. */
  String connectHost() {
    return proxy == null ? host : normalizeHost(proxy.host());
  }

  /** The port the TCP connection goes to: the proxy's, else the key's own. */
  int connectPort() {
    return proxy == null ? port : proxy.port();
  }

  /** The tunnel a proxy opens to this key's host and port, or null without a proxy. */
  Tunnel tunnel() {
    if (proxy == null) {
      return null;
    }
    return new Tunnel(
        proxy.type() == ProxyServer.Type.HTTP ? Tunnel.Kind.HTTP : Tunnel.Kind.SOCKS5,
        host,
        IpLiteral.parse(host) != null,
        port,
        proxy.user(),
        proxy.password());
  }

  /**
   * The host as keys compare it: trimmed, without IPv6 brackets, lower case (Locale.ROOT). Runs
   * on every allocate(): a name that is already so (lower-case ASCII, no space or bracket at
   * either end), the usual case, is returned as it is after one pass over it.
   */
  static String normalizeHost(String addr) {
    if (alreadyNormal(addr)) {
      return addr;
    }
    String a = addr.trim();
    if (a.length() > 2 && a.charAt(0) == '[' && a.charAt(a.length() - 1) == ']') {
      a = a.substring(1, a.length() - 1);
    }
    return a.toLowerCase(Locale.ROOT);
  }

  /**
   * Whether {@link #normalizeHost} would return {@code s} unchanged, judged in one pass: nothing
   * trim() removes at either end (code points up to U+0020), no '[' first, and only ASCII without
   * upper-case letters (so toLowerCase(Locale.ROOT) changes nothing). False is always safe.
   */
  private static boolean alreadyNormal(String s) {
    int n = s.length();
    if (n == 0 || s.charAt(0) <= ' ' || s.charAt(n - 1) <= ' ' || s.charAt(0) == '[') {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80 || (c >= 'A' && c <= 'Z')) {
        return false;
      }
    }
    return true;
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
        && forScheme.equals(k.forScheme)
        && java.util.Objects.equals(proxy, k.proxy)
        && java.util.Objects.equals(unixSocket, k.unixSocket);
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
    if (unixSocket != null) {
      s += " over unix:" + unixSocket;
    }
    return proxy == null ? s : s + " via " + proxy;
  }
}
