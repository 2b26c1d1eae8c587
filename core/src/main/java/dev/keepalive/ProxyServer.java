package dev.keepalive;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;

/**
 * A proxy that connections go through ({@link Allocation#via}): an HTTP proxy, asked for a tunnel
 * with {@code CONNECT host:port} (with {@code Proxy-Authorization: Basic} when it has
 * credentials), or a SOCKS5 proxy (RFC 1928; user name and password by RFC 1929). Immutable; a
 * value: two equal proxies (type, host, port, credentials) share tunnels.
 *
 * <p>How a refusal is reported (function "proxy" of the {@link AllocationResult}): for CONNECT, an
 * answer other than 2xx, with its status line as errorStr and no errorNum (such as {@code
 * HTTP/1.1 407 Proxy Authentication Required}); for SOCKS5, the reply's meaning as errorStr and
 * the errno it stands for as errorNum where there is one (connection refused 111, network
 * unreachable 101, host unreachable 113, TTL expired 110, not allowed by ruleset or
 * authentication refused 13); a proxy that closes the connection or breaks its protocol, a text
 * saying so. A proxy that cannot be reached fails with "connect", like any host. The request's
 * timeout covers the tunnel.
 *
 * <pre>{@code
 * ProxyServer proxy = ProxyServer.parse("http://user:secret@proxy.internal:3128");
 * manager.allocate(Allocation.to("https", "example.org", 443).via(proxy));
 * }</pre>
 */
public final class ProxyServer {
  /** The proxy protocols. */
  public enum Type {
    /** An HTTP proxy: tunnels by {@code CONNECT}. */
    HTTP,
    /** A SOCKS5 proxy. */
    SOCKS5
  }

  /** The port a proxy URL without one means (curl's default). */
  public static final int DEFAULT_PORT = 1080;

  private final Type type;
  private final String host;
  private final int port;
  private final String user;
  private final String password;

  private ProxyServer(Type type, String host, int port, String user, String password) {
    this.type = type;
    this.host = host;
    this.port = port;
    this.user = user;
    this.password = password;
  }

  /** An HTTP proxy (tunnels by CONNECT) at {@code host:port}. */
  public static ProxyServer http(String host, int port) {
    return of(Type.HTTP, host, port);
  }

  /** A SOCKS5 proxy at {@code host:port}. */
  public static ProxyServer socks5(String host, int port) {
    return of(Type.SOCKS5, host, port);
  }

  private static ProxyServer of(Type type, String host, int port) {
    String h = Allocation.requireHost(host, "host").trim();
    if (h.length() > 2 && h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1); // an IPv6 literal as URLs write it
    }
    return new ProxyServer(type, h, Allocation.requirePort(port, "port"), null, null);
  }

  /**
   * A proxy from a URL as curl's {@code -x} takes it: {@code http://[user:password@]host[:port]}
   * or {@code socks5://...} (also {@code socks5h://}, the same here: the proxy always resolves
   * the target's name); the port defaults to {@value #DEFAULT_PORT}; user and password are
   * percent-decoded. No scheme means http.
   *
   * @throws IllegalArgumentException naming {@code url} when it is null or not such a URL
   */
  public static ProxyServer parse(String url) {
    if (url == null) {
      throw new IllegalArgumentException("url must not be null");
    }
    String text = url.contains("://") ? url : "http://" + url;
    URI u;
    try {
      u = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("url is not a proxy URL: " + e.getMessage(), e);
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    Type type;
    switch (scheme) {
      case "http":
        type = Type.HTTP;
        break;
      case "socks5":
      case "socks5h":
        type = Type.SOCKS5;
        break;
      default:
        throw new IllegalArgumentException(
            "url must start with http://, socks5:// or socks5h://, was " + url);
    }
    if (u.getHost() == null) {
      throw new IllegalArgumentException("url names no proxy host: " + url);
    }
    String path = u.getRawPath();
    if ((path != null && !path.isEmpty() && !path.equals("/"))
        || u.getRawQuery() != null
        || u.getRawFragment() != null) {
      throw new IllegalArgumentException("url must be scheme://[user:password@]host[:port]");
    }
    ProxyServer p = of(type, u.getHost(), u.getPort() < 0 ? DEFAULT_PORT : u.getPort());
    String info = u.getRawUserInfo();
    if (info != null) {
      int colon = info.indexOf(':');
      String name = colon < 0 ? info : info.substring(0, colon);
      String secret = colon < 0 ? "" : info.substring(colon + 1);
      p = p.credentials(decode(name), decode(secret));
    }
    return p;
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /**
   * A copy that authenticates as {@code user} with {@code password} (HTTP: Basic; SOCKS5: user
   * name and password, each at most 255 bytes in UTF-8).
   *
   * @throws IllegalArgumentException naming {@code user} or {@code password} when null, or
   *     {@code user} when empty or it contains ':' or a control character
   */
  public ProxyServer credentials(String user, String password) {
    if (user == null || user.isEmpty()) {
      throw new IllegalArgumentException("user must not be null or empty");
    }
    if (password == null) {
      throw new IllegalArgumentException("password must not be null");
    }
    for (int i = 0; i < user.length(); i++) {
      char c = user.charAt(i);
      if (c == ':' || Character.isISOControl(c)) {
        throw new IllegalArgumentException("user must not contain ':' or control characters");
      }
    }
    return new ProxyServer(type, host, port, user, password);
  }

  public Type type() {
    return type;
  }

  /** The proxy's host name or literal address. */
  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** The user name it authenticates as, or null. */
  public String user() {
    return user;
  }

  /** The password (with {@link #user()}), or null. */
  public String password() {
    return password;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof ProxyServer)) {
      return false;
    }
    ProxyServer p = (ProxyServer) o;
    return type == p.type
        && port == p.port
        && host.equalsIgnoreCase(p.host)
        && Objects.equals(user, p.user)
        && Objects.equals(password, p.password);
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, host.toLowerCase(Locale.ROOT), port, user, password);
  }

  /** The proxy as a URL, with the user name but never the password. */
  @Override
  public String toString() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return (type == Type.HTTP ? "http" : "socks5") + "://" + (user == null ? "" : user + "@") + h
        + ":" + port;
  }
}
