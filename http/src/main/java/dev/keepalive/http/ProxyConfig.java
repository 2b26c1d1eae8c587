package dev.keepalive.http;

import dev.keepalive.ProxyServer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Which proxy, if any, a request goes through ({@link HttpClient.Builder#proxy}): none, one for
 * every request, one with exceptions, the environment's (as curl reads it), or a JDK {@link
 * ProxySelector}'s choice. Immutable and thread-safe.
 *
 * <p>Through an HTTP proxy, https requests (and any TLS scheme) go through a CONNECT tunnel and
 * plain http requests are forwarded: sent in absolute form ({@code GET http://host/path}) over a
 * pooled connection to the proxy, with {@code Proxy-Authorization} when the proxy has credentials.
 * Through a SOCKS5 proxy, every request goes through a tunnel.
 */
public final class ProxyConfig {
  private static final ProxyConfig DIRECT = new ProxyConfig(uri -> null, "direct");

  private final Function<URI, ProxyServer> choice;
  private final String description;

  private ProxyConfig(Function<URI, ProxyServer> choice, String description) {
    this.choice = choice;
    this.description = description;
  }

  /** No proxy: every request connects directly (the default). */
  public static ProxyConfig direct() {
    return DIRECT;
  }

  /**
   * Every request through {@code proxy}.
   *
   * @throws IllegalArgumentException if {@code proxy} is null
   */
  public static ProxyConfig of(ProxyServer proxy) {
    return of(proxy, "");
  }

  /**
   * Every request through {@code proxy} except those to the hosts {@code noProxy} lists, in
   * curl's {@code no_proxy} syntax: comma-separated entries, each a host name (matching itself
   * and its subdomains; a leading dot is ignored), an IP address, or an IP range in CIDR
   * notation ({@code 10.0.0.0/8}, {@code fd00::/8}); {@code *} alone matches every host. Case
   * and blanks around entries do not matter.
   *
   * @throws IllegalArgumentException if {@code proxy} or {@code noProxy} is null
   */
  public static ProxyConfig of(ProxyServer proxy, String noProxy) {
    if (proxy == null) {
      throw new IllegalArgumentException("proxy must not be null");
    }
    if (noProxy == null) {
      throw new IllegalArgumentException("noProxy must not be null");
    }
    NoProxy except = NoProxy.parse(noProxy);
    return new ProxyConfig(
        uri -> except.matches(uri.getHost()) ? null : proxy,
        proxy + (noProxy.isBlank() ? "" : " except " + noProxy.trim()));
  }

  /** The proxies the environment names, as curl reads them: see {@link #fromEnvironment(Map)}. */
  public static ProxyConfig fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  /**
   * The proxies {@code env} names, as curl reads them: {@code http_proxy} for http (lower case
   * only: {@code HTTP_PROXY} can be set by a CGI request's Proxy header), {@code https_proxy} or
   * {@code HTTPS_PROXY} for https, {@code all_proxy} or {@code ALL_PROXY} for what these leave
   * out, and {@code no_proxy} or {@code NO_PROXY} for exceptions (syntax: {@link
   * #of(ProxyServer, String)}). Values are proxy URLs as {@link ProxyServer#parse} takes them
   * ({@code http://user:password@host:port}, {@code socks5://...}); empty ones are ignored.
   *
   * @throws IllegalArgumentException naming the variable whose value is not a proxy URL
   */
  public static ProxyConfig fromEnvironment(Map<String, String> env) {
    if (env == null) {
      throw new IllegalArgumentException("env must not be null");
    }
    ProxyServer all = proxyVar(env, "all_proxy", "ALL_PROXY");
    ProxyServer http = proxyVar(env, "http_proxy", null);
    ProxyServer https = proxyVar(env, "https_proxy", "HTTPS_PROXY");
    ProxyServer forHttp = http != null ? http : all;
    ProxyServer forHttps = https != null ? https : all;
    if (forHttp == null && forHttps == null) {
      return DIRECT;
    }
    String noProxy = first(env, "no_proxy", "NO_PROXY");
    NoProxy except = NoProxy.parse(noProxy == null ? "" : noProxy);
    return new ProxyConfig(
        uri -> {
          if (except.matches(uri.getHost())) {
            return null;
          }
          return "http".equalsIgnoreCase(uri.getScheme()) ? forHttp : forHttps;
        },
        "environment (http: " + forHttp + ", https: " + forHttps
            + (noProxy == null ? "" : ", except " + noProxy) + ")");
  }

  /**
   * The first proxy {@code selector} chooses for a request's URI: HTTP proxies as {@link
   * ProxyServer#http}, SOCKS ones as {@link ProxyServer#socks5}, {@link Proxy#NO_PROXY} as a
   * direct connection (a JDK selector carries no credentials).
   *
   * @throws IllegalArgumentException if {@code selector} is null
   */
  public static ProxyConfig of(ProxySelector selector) {
    if (selector == null) {
      throw new IllegalArgumentException("selector must not be null");
    }
    return new ProxyConfig(uri -> fromJdk(selector.select(uri)), "selector " + selector);
  }

  private static ProxyServer fromJdk(List<Proxy> choices) {
    if (choices == null) {
      return null;
    }
    for (Proxy p : choices) {
      if (p.type() == Proxy.Type.DIRECT) {
        return null;
      }
      SocketAddress a = p.address();
      if (a instanceof InetSocketAddress) {
        InetSocketAddress isa = (InetSocketAddress) a;
        return p.type() == Proxy.Type.HTTP
            ? ProxyServer.http(isa.getHostString(), isa.getPort())
            : ProxyServer.socks5(isa.getHostString(), isa.getPort());
      }
    }
    return null;
  }

  /** The proxy for a request to {@code uri}, or null for a direct connection. */
  public ProxyServer select(URI uri) {
    if (uri == null) {
      throw new IllegalArgumentException("uri must not be null");
    }
    return choice.apply(uri);
  }

  @Override
  public String toString() {
    return "ProxyConfig[" + description + "]";
  }

  private static String first(Map<String, String> env, String name, String alternative) {
    String v = env.get(name);
    if ((v == null || v.isBlank()) && alternative != null) {
      v = env.get(alternative);
    }
    return v == null || v.isBlank() ? null : v.trim();
  }

  private static ProxyServer proxyVar(Map<String, String> env, String name, String alternative) {
    String v = first(env, name, alternative);
    if (v == null) {
      return null;
    }
    try {
      return ProxyServer.parse(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + " is not a proxy URL: " + e.getMessage(), e);
    }
  }

  /** A parsed no_proxy list. */
  private static final class NoProxy {
    private final boolean everything;
    private final List<String> names = new ArrayList<>();
    private final List<BigInteger[]> ranges = new ArrayList<>(); // {network, mask, bits, bytes}

    private NoProxy(boolean everything) {
      this.everything = everything;
    }

    static NoProxy parse(String list) {
      if (list.trim().equals("*")) {
        return new NoProxy(true);
      }
      NoProxy n = new NoProxy(false);
      for (String raw : list.split(",")) {
        String e = raw.trim().toLowerCase(Locale.ROOT);
        if (e.isEmpty()) {
          continue;
        }
        int slash = e.indexOf('/');
        String addr = slash < 0 ? e : e.substring(0, slash);
        InetAddress ip = literal(addr);
        if (ip != null) {
          byte[] b = ip.getAddress();
          int bits = slash < 0 ? b.length * 8 : Integer.parseInt(e.substring(slash + 1));
          n.ranges.add(range(b, bits));
        } else {
          n.names.add(e.startsWith(".") ? e.substring(1) : e);
        }
      }
      return n;
    }

    boolean matches(String host) {
      if (everything) {
        return true;
      }
      if (host == null) {
        return false;
      }
      String h = host.toLowerCase(Locale.ROOT);
      if (h.startsWith("[") && h.endsWith("]")) {
        h = h.substring(1, h.length() - 1);
      }
      InetAddress ip = literal(h);
      if (ip != null) {
        byte[] b = ip.getAddress();
        for (BigInteger[] r : ranges) {
          if (r[2].intValue() <= b.length * 8
              && r[3].intValue() == b.length
              && new BigInteger(1, b).and(r[1]).equals(r[0])) {
            return true;
          }
        }
        return names.contains(h);
      }
      for (String n : names) {
        if (h.equals(n) || h.endsWith("." + n)) {
          return true;
        }
      }
      return false;
    }

    private static BigInteger[] range(byte[] b, int bits) {
      int width = b.length * 8;
      if (bits < 0 || bits > width) {
        throw new IllegalArgumentException("noProxy has a bad CIDR prefix length: " + bits);
      }
      BigInteger all = BigInteger.ONE.shiftLeft(width).subtract(BigInteger.ONE);
      BigInteger mask = all.shiftRight(width - bits).shiftLeft(width - bits);
      return new BigInteger[] {
        new BigInteger(1, b).and(mask), mask, BigInteger.valueOf(bits), BigInteger.valueOf(b.length)
      };
    }

    /** The address when {@code s} is an IPv4 or IPv6 literal, else null (no lookup). */
    private static InetAddress literal(String s) {
      boolean v4 = s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
      boolean v6 = s.indexOf(':') >= 0 && s.matches("[0-9a-f:.]+");
      if (!v4 && !v6) {
        return null;
      }
      try {
        return InetAddress.getByName(s);
      } catch (UnknownHostException e) {
        return null;
      }
    }
  }
}
