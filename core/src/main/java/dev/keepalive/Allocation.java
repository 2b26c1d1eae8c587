package dev.keepalive;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * What a client asks the manager for: a connection to scheme, address and port, with an optional
 * context, timeout and proxy target. Immutable: each method returns a changed copy.
 *
 * <pre>{@code
 * Allocation a = Allocation.to("http", "example.org", 80).context(myState).timeout(Duration.ofSeconds(5));
 * }</pre>
 *
 * <p>Invalid input throws {@link IllegalArgumentException} naming the argument.
 */
public final class Allocation {
  private final String scheme;
  private final String addr;
  private final int port;
  private final Object context;
  private final Duration timeout;
  private final String forScheme;
  private final String forAddr;
  private final int forPort;
  private final boolean fresh;
  private final ProxyServer proxy;
  private final Path unixSocket;

  /** The fields of an allocation being made: each copy-with method changes one. */
  private static final class Parts {
    String scheme;
    String addr;
    int port;
    Object context;
    Duration timeout;
    String forScheme;
    String forAddr;
    int forPort;
    boolean fresh;
    ProxyServer proxy;
    Path unixSocket;
  }

  private Allocation(Parts p) {
    scheme = p.scheme;
    addr = p.addr;
    port = p.port;
    context = p.context;
    timeout = p.timeout;
    forScheme = p.forScheme;
    forAddr = p.forAddr;
    forPort = p.forPort;
    fresh = p.fresh;
    proxy = p.proxy;
    unixSocket = p.unixSocket;
  }

  /** A copy of this allocation with what {@code change} sets. */
  private Allocation with(Consumer<Parts> change) {
    Parts p = new Parts();
    p.scheme = scheme;
    p.addr = addr;
    p.port = port;
    p.context = context;
    p.timeout = timeout;
    p.forScheme = forScheme;
    p.forAddr = forAddr;
    p.forPort = forPort;
    p.fresh = fresh;
    p.proxy = proxy;
    p.unixSocket = unixSocket;
    change.accept(p);
    return new Allocation(p);
  }

  /**
   * A request for a connection to {@code addr:port}, spoken in {@code scheme} ("http", "https",
   * or any name: it separates sockets of different kinds to one address). {@code addr} is a host
   * name or a literal IPv4 or IPv6 address (brackets optional).
   */
  public static Allocation to(String scheme, String addr, int port) {
    Parts p = new Parts();
    p.scheme = requireText(scheme, "scheme");
    p.addr = requireHost(addr, "addr");
    p.port = requirePort(port, "port");
    return new Allocation(p);
  }

  /** Data echoed back in the result; may be null. */
  public Allocation context(Object context) {
    return with(p -> p.context = context);
  }

  /** How long the request may take in all (resolving, queueing, connecting); overrides the manager's. */
  public Allocation timeout(Duration timeout) {
    if (timeout == null || timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    return with(p -> p.timeout = timeout);
  }

  /**
   * A copy that is never served from the pool: it always gets a NEW connection, opened for it
   * (within the same limits; at the per-host limit the key's oldest idle socket is closed to make
   * room, and at maxOpen the least recently used idle socket of any key). For a retry that must
   * not meet a socket as old as the one that just failed, or a first request that must see a
   * fresh handshake.
   */
  public Allocation fresh() {
    return with(p -> p.fresh = true);
  }

  /** True for a copy made by {@link #fresh()}. */
  public boolean isFresh() {
    return fresh;
  }

  /**
   * The {@code for_*} of Perl's POE::Component::Client::Keepalive: the connection goes to this manager's addr:port (a proxy) on behalf
   * of {@code forScheme://forAddr:forPort}. The target is part of the pool key, so sockets to one
   * proxy for different targets are never mixed.
   */
  public Allocation forTarget(String forScheme, String forAddr, int forPort) {
    String targetScheme = requireText(forScheme, "forScheme");
    String targetAddr = requireHost(forAddr, "forAddr");
    int targetPort = requirePort(forPort, "forPort");
    return with(p -> {
      p.forScheme = targetScheme;
      p.forAddr = targetAddr;
      p.forPort = targetPort;
    });
  }

  /**
   * A copy whose connection goes through {@code proxy}: a TCP connection to the proxy, a tunnel
   * through it to this allocation's address and port (HTTP CONNECT or SOCKS5), then, for a TLS
   * scheme, TLS with the target (SNI and host name verification of the target, not the proxy).
   * The proxy (with its credentials) is part of the pool key: a kept-alive tunnel is reused only
   * for its own target through the same proxy. The proxy's host name is resolved here; the
   * target's by the proxy (SOCKS5 is given the name, as curl's socks5h:// does). A proxy that
   * refuses the tunnel fails the request with function "proxy" (see {@link ProxyServer}); one
   * that cannot be reached, with "connect".
   *
   * @param proxy the proxy, or null for a direct connection
   */
  public Allocation via(ProxyServer proxy) {
    return with(p -> p.proxy = proxy);
  }

  /**
   * A copy whose connection goes to the Unix domain socket at {@code path} instead of over TCP
   * (as curl's {@code --unix-socket}): no name is resolved; scheme, address and port still name
   * the target (what TLS verifies, what an HTTP client sends as Host). The path is part of the
   * pool key. Through a proxy ({@link #via}), the proxy is the one reached over the socket. On
   * such a connection {@link Connection#localAddress()} and {@link Connection#remoteAddress()}
   * are null.
   *
   * @param path the socket file, or null for TCP
   */
  public Allocation unixSocket(Path path) {
    return with(p -> p.unixSocket = path);
  }

  /** The Unix domain socket the connection goes to, or null for TCP. */
  public Path unixSocket() {
    return unixSocket;
  }

  /** The proxy the connection goes through, or null for a direct one. */
  public ProxyServer proxy() {
    return proxy;
  }

  public String scheme() {
    return scheme;
  }

  public String addr() {
    return addr;
  }

  public int port() {
    return port;
  }

  /** The context, or null. */
  public Object context() {
    return context;
  }

  /** The request's own timeout, or null when the manager's applies. */
  public Duration timeout() {
    return timeout;
  }

  /** The target scheme; the scheme when no target was set. */
  public String forScheme() {
    return forScheme == null ? scheme : forScheme;
  }

  /** The target address; the address when no target was set. */
  public String forAddr() {
    return forAddr == null ? addr : forAddr;
  }

  /** The target port; the port when no target was set. */
  public int forPort() {
    return forScheme == null ? port : forPort;
  }

  @Override
  public String toString() {
    String s = "Allocation[" + scheme + "://" + addr + ":" + port;
    if (forScheme != null) {
      s += " for " + forScheme + "://" + forAddr + ":" + forPort;
    }
    if (unixSocket != null) {
      s += " over unix:" + unixSocket;
    }
    if (proxy != null) {
      s += " via " + proxy;
    }
    return s + (timeout == null ? "" : " timeout " + timeout) + (fresh ? " fresh" : "") + "]";
  }

  static String requireText(String value, String name) {
    if (value == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (value.isBlank()) {
      throw new IllegalArgumentException(name + " must not be blank");
    }
    return value;
  }

  /** A host name or literal address: text without control characters. */
  static String requireHost(String value, String name) {
    requireText(value, name);
    for (int i = 0; i < value.length(); i++) {
      if (Character.isISOControl(value.charAt(i))) {
        // trim() would drop them, and an empty host means loopback to the JDK's resolver
        throw new IllegalArgumentException(name + " must not contain control characters");
      }
    }
    return value;
  }

  static int requirePort(int port, String name) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(name + " must be in 1..65535, was " + port);
    }
    return port;
  }
}
