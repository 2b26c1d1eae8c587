package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.FromCache;
import dev.keepalive.ProxyServer;
import dev.keepalive.testkit.HttpScriptServer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The client through proxies: plain http forwarded in absolute form over pooled connections to
 * an HTTP proxy (a scripted one, which shows what it received), and, when KEEPALIVE_PROXIES=1,
 * through real tinyproxy, squid and microsocks (scripts/proxies.sh) to a server here.
 */
class HttpProxyTest extends HttpTestBase {
  private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

  @Test
  void plainHttpIsForwardedInAbsoluteFormWithTheProxysCredentials() throws Exception {
    HttpScriptServer proxy = answering(OK);
    ProxyServer p = ProxyServer.http("127.0.0.1", proxy.port()).credentials("ann", "s3cret");
    try (HttpClient c = HttpClient.builder(manager).proxy(ProxyConfig.of(p)).build()) {
      HttpResponse first = c.sendBlocking(HttpRequest.get("http://example.org:8080/a?b=c"));
      HttpResponse second = c.sendBlocking(HttpRequest.get("http://other.example/x"));
      assertThat(first.body()).isEqualTo("ok".getBytes(StandardCharsets.US_ASCII));
      assertThat(first.servedBy()).isEqualTo(FromCache.NEW);
      // every origin shares the pooled connections to the proxy
      assertThat(second.servedBy()).isEqualTo(FromCache.IMMEDIATE);
    }
    assertThat(proxy.connections()).isEqualTo(1);
    HttpScriptServer.Request r = proxy.requests().get(0);
    assertThat(r.method()).isEqualTo("GET");
    assertThat(r.target()).isEqualTo("http://example.org:8080/a?b=c");
    assertThat(r.header("Host")).isEqualTo("example.org:8080");
    assertThat(r.header("Proxy-Authorization"))
        .isEqualTo("Basic "
            + Base64.getEncoder().encodeToString("ann:s3cret".getBytes(StandardCharsets.UTF_8)));
    assertThat(proxy.requests().get(1).target()).isEqualTo("http://other.example/x");
  }

  @Test
  void noProxyHostsGoDirect() throws Exception {
    HttpScriptServer origin = answering(OK);
    HttpScriptServer proxy = answering(OK);
    ProxyConfig config = ProxyConfig.of(ProxyServer.http("127.0.0.1", proxy.port()), "127.0.0.1");
    try (HttpClient c = HttpClient.builder(manager).proxy(config).build()) {
      assertThat(c.sendBlocking(HttpRequest.get(origin.url("/"))).body())
          .isEqualTo("ok".getBytes(StandardCharsets.US_ASCII));
    }
    assertThat(origin.requests())
        .singleElement()
        .satisfies(r -> assertThat(r.target()).isEqualTo("/"));
    assertThat(proxy.connections()).isZero();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "KEEPALIVE_TINYPROXY",
        "KEEPALIVE_TINYPROXY_AUTH",
        "KEEPALIVE_SQUID",
        "KEEPALIVE_SQUID_AUTH",
        "KEEPALIVE_SOCKS5",
        "KEEPALIVE_SOCKS5_AUTH"
      })
  void throughRealProxiesTheRequestsAreServedAndTheConnectionsReused(String name) throws Exception {
    Assumptions.assumeTrue(
        "1".equals(System.getenv("KEEPALIVE_PROXIES")),
        "set by eval \"$(scripts/proxies.sh start)\"");
    String hostPort = System.getenv(name);
    String scheme = name.contains("SOCKS") ? "socks5://" : "http://";
    String credentials = name.endsWith("_AUTH")
        ? System.getenv("KEEPALIVE_PROXY_USER") + ":" + System.getenv("KEEPALIVE_PROXY_PASSWORD")
            + "@"
        : "";
    ProxyServer p = ProxyServer.parse(scheme + credentials + hostPort);
    HttpScriptServer origin = answering(OK);
    try (HttpClient c = HttpClient.builder(manager).proxy(ProxyConfig.of(p)).build()) {
      for (int i = 0; i < 20; i++) {
        HttpResponse r = c.sendBlocking(HttpRequest.get(origin.url("/n" + i)));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok".getBytes(StandardCharsets.US_ASCII));
        // tinyproxy forwards plain http as HTTP/1.0 and closes after each answer: a NEW
        // connection each time; squid keeps it alive, and a tunnel (SOCKS5) is reused
        boolean closesAfterEach = name.startsWith("KEEPALIVE_TINYPROXY");
        assertThat(r.servedBy())
            .isEqualTo(i == 0 || closesAfterEach ? FromCache.NEW : FromCache.IMMEDIATE);
      }
    }
    assertThat(origin.requests()).hasSize(20);
    assertThat(origin.requests().get(19).target()).isEqualTo("/n19");
  }
}
