package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.ProxyServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link ProxyConfig}: curl's environment rules, no_proxy matching, a JDK selector. */
class ProxyConfigTest {
  private static final ProxyServer P = ProxyServer.http("proxy.internal", 3128);

  private static ProxyServer select(ProxyConfig c, String url) {
    return c.select(URI.create(url));
  }

  @Test
  void theEnvironmentAsCurlReadsIt() {
    ProxyConfig c = ProxyConfig.fromEnvironment(Map.of(
        "http_proxy", "http://proxy.internal:3128",
        "HTTPS_PROXY", "socks5://u:p@socks.internal:1080",
        "no_proxy", " localhost, .internal.example ,10.0.0.0/8, ::1"));
    assertThat(select(c, "http://example.org/")).isEqualTo(P);
    assertThat(select(c, "https://example.org/"))
        .isEqualTo(ProxyServer.socks5("socks.internal", 1080).credentials("u", "p"));
    assertThat(select(c, "http://localhost:8080/")).isNull();
    assertThat(select(c, "https://a.internal.example/")).isNull();
    assertThat(select(c, "https://internal.example/")).isNull();
    assertThat(select(c, "https://notinternal.example/")).isNotNull();
    assertThat(select(c, "http://10.20.30.40/")).isNull();
    assertThat(select(c, "http://11.0.0.1/")).isEqualTo(P);
    assertThat(select(c, "http://[::1]:80/")).isNull();
  }

  @Test
  void upperCaseHttpProxyIsIgnoredAndAllProxyFillsTheGaps() {
    ProxyConfig c = ProxyConfig.fromEnvironment(
        Map.of("HTTP_PROXY", "http://evil:1", "ALL_PROXY", "http://proxy.internal:3128"));
    assertThat(select(c, "http://example.org/")).isEqualTo(P);
    assertThat(select(c, "https://example.org/")).isEqualTo(P);
    assertThat(ProxyConfig.fromEnvironment(Map.of("HTTP_PROXY", "http://evil:1")))
        .isSameAs(ProxyConfig.direct());
    assertThat(select(
            ProxyConfig.fromEnvironment(
                Map.of("all_proxy", "proxy.internal:3128", "no_proxy", "*")),
            "http://example.org/"))
        .isNull();
  }

  @Test
  void cidrRangesOfBothFamilies() {
    ProxyConfig c = ProxyConfig.of(P, "192.168.0.0/16,fd00::/8");
    assertThat(select(c, "http://192.168.7.9/")).isNull();
    assertThat(select(c, "http://192.169.0.1/")).isEqualTo(P);
    assertThat(select(c, "http://[fd12::1]/")).isNull();
    assertThat(select(c, "http://[fe80::1]/")).isEqualTo(P);
    assertThat(select(ProxyConfig.of(P), "http://anything/")).isEqualTo(P);
    assertThat(select(ProxyConfig.direct(), "http://anything/")).isNull();
  }

  @Test
  void aJdkSelectorsChoice() {
    ProxySelector selector = new ProxySelector() {
      @Override
      public List<Proxy> select(URI uri) {
        if (uri.getHost().equals("direct.example")) {
          return List.of(Proxy.NO_PROXY);
        }
        Proxy.Type type = uri.getScheme().equals("https") ? Proxy.Type.SOCKS : Proxy.Type.HTTP;
        return List.of(new Proxy(type, InetSocketAddress.createUnresolved("p.example", 8080)));
      }

      @Override
      public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
    };
    ProxyConfig c = ProxyConfig.of(selector);
    assertThat(select(c, "http://a.example/")).isEqualTo(ProxyServer.http("p.example", 8080));
    assertThat(select(c, "https://a.example/")).isEqualTo(ProxyServer.socks5("p.example", 8080));
    assertThat(select(c, "http://direct.example/")).isNull();
  }

  @Test
  void badInputNamesTheArgument() {
    assertThatThrownBy(() -> ProxyConfig.of((ProxyServer) null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("proxy");
    assertThatThrownBy(() -> ProxyConfig.of(P, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("noProxy");
    assertThatThrownBy(() -> ProxyConfig.fromEnvironment(Map.of("https_proxy", "ftp://x:1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("https_proxy");
    assertThatThrownBy(() -> ProxyConfig.of(P, "10.0.0.0/33"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("noProxy");
    assertThatThrownBy(() -> ProxyConfig.direct().select(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("uri");
  }
}
