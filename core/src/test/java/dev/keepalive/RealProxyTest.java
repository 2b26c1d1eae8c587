package dev.keepalive;

import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testkit.EchoServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TestCertificates.Identity;
import dev.keepalive.testkit.TlsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tunnels through real proxies on 127.0.0.1: tinyproxy and squid (HTTP CONNECT, without and with
 * Basic authentication) and microsocks (SOCKS5, without and with user name and password), as
 * {@code scripts/proxies.sh start} runs them (CI does). Runs only when KEEPALIVE_PROXIES=1, with
 * the addresses from the environment that script prints; skipped (and reported) otherwise.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RealProxyTest {
  private static final TestCertificates CERTS = TestCertificates.get();

  private ConnectionManager m;
  private String user;
  private String password;

  @BeforeEach
  void onlyWithProxies() {
    String why = "RealProxyTest skipped: eval \"$(scripts/proxies.sh start)\" to run it against "
        + "real tinyproxy, squid and microsocks";
    Assumptions.assumeTrue("1".equals(System.getenv("KEEPALIVE_PROXIES")), why);
    user = System.getenv("KEEPALIVE_PROXY_USER");
    password = System.getenv("KEEPALIVE_PROXY_PASSWORD");
    m = ConnectionManager.builder()
        .sslContext(CERTS.clientContext())
        .timeout(Duration.ofSeconds(20))
        .build();
  }

  @AfterEach
  void close() {
    if (m != null) {
      m.close();
    }
  }

  /** The proxy whose address is in environment variable {@code name}. */
  private static ProxyServer proxy(ProxyServer.Type type, String name) {
    String hostPort = System.getenv(name);
    if (hostPort == null) {
      throw new IllegalStateException(name + " is not set: scripts/proxies.sh start prints it");
    }
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    int port = Integer.parseInt(hostPort.substring(colon + 1));
    return type == ProxyServer.Type.HTTP
        ? ProxyServer.http(host, port)
        : ProxyServer.socks5(host, port);
  }

  private ProxyServer withCredentials(ProxyServer p) {
    return p.credentials(user, password);
  }

  /** A round trip through {@code c} to an echo server. */
  private static void echo(Connection c, String text) throws IOException {
    OutputStream out = c.outputStream();
    out.write(text.getBytes(StandardCharsets.US_ASCII));
    out.flush();
    c.readTimeout(Duration.ofSeconds(20));
    assertThat(new String(c.inputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
        .isEqualTo(text);
  }

  /** Plain TCP and TLS (with the target's name verified) through {@code proxy}, reused. */
  private void tunnelsWorkAndAreReused(ProxyServer proxy) throws Exception {
    try (EchoServer echo = new EchoServer();
        TlsServer tls = TlsServer.echo()) {
      Allocation plain = Allocation.to("tcp", "127.0.0.1", echo.port()).via(proxy);
      Connection c = get(m.allocate(plain));
      echo(c, "through " + proxy.type());
      int port = c.localAddress().getPort();
      c.close();
      Connection again = get(m.allocate(plain));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(again.localAddress().getPort()).isEqualTo(port);
      echo(again, "and again");
      again.close();

      // https: TLS with the target, by its name, through the tunnel (the proxy resolves it)
      Allocation secure = Allocation.to("https", "localhost", tls.port()).via(proxy);
      Connection s = get(m.allocate(secure));
      assertThat(s.sslSession()).isNotNull();
      assertThat(s.sslSession().getPeerHost()).isEqualTo("localhost");
      echo(s, "secret");
      s.close();
      assertThat(get(m.allocate(secure)).fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(tls.handshakesCompleted()).isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "{1} {0} credentials={2}")
  @CsvSource({
    "HTTP, KEEPALIVE_TINYPROXY, false",
    "HTTP, KEEPALIVE_TINYPROXY_AUTH, true",
    "HTTP, KEEPALIVE_SQUID, false",
    "HTTP, KEEPALIVE_SQUID_AUTH, true",
    "SOCKS5, KEEPALIVE_SOCKS5, false",
    "SOCKS5, KEEPALIVE_SOCKS5_AUTH, true"
  })
  void tunnelsWorkAndAreReused(ProxyServer.Type type, String name, boolean credentials)
      throws Exception {
    ProxyServer p = proxy(type, name);
    tunnelsWorkAndAreReused(credentials ? withCredentials(p) : p);
  }

  /** (tinyproxy answers a CONNECT without credentials 401, squid 407.) */
  @Test
  void missingOrWrongCredentialsAreRefusedWithTheProxysAnswer() throws Exception {
    Allocation target = Allocation.to("tcp", "127.0.0.1", Loopback.closedPort());
    for (String name : new String[] {"KEEPALIVE_TINYPROXY_AUTH", "KEEPALIVE_SQUID_AUTH"}) {
      ProxyServer p = proxy(ProxyServer.Type.HTTP, name);
      AllocationException none = failureOf(m.allocate(target.via(p)));
      assertThat(none.result().function()).as(name).isEqualTo("proxy");
      assertThat(none.result().errorStr()).as(name).matches("HTTP/1\\.[01] 40[17] .*");
      AllocationException wrong =
          failureOf(m.allocate(target.via(p.credentials(user, password + "-wrong"))));
      assertThat(wrong.result().errorStr()).as(name).matches("HTTP/1\\.[01] 40[17] .*");
    }
    ProxyServer socks = proxy(ProxyServer.Type.SOCKS5, "KEEPALIVE_SOCKS5_AUTH");
    assertFailure(
        failureOf(m.allocate(target.via(socks))),
        "proxy",
        13,
        "SOCKS5 proxy requires authentication");
    assertFailure(
        failureOf(m.allocate(target.via(socks.credentials(user, password + "-wrong")))),
        "proxy",
        13,
        "SOCKS5 proxy refused the user name and password");
    await().until(() -> m.stats().open() == 0);
  }

  @Test
  void aTargetThatRefusesIsAProxyFailure() throws Exception {
    Allocation target = Allocation.to("tcp", "127.0.0.1", Loopback.closedPort());
    for (String name : new String[] {"KEEPALIVE_TINYPROXY", "KEEPALIVE_SQUID"}) {
      AllocationException e = failureOf(m.allocate(target.via(proxy(ProxyServer.Type.HTTP, name))));
      assertThat(e.result().function()).as(name).isEqualTo("proxy");
      assertThat(e.result().errorStr()).as(name).matches("HTTP/1\\.[01] 5\\d\\d .*");
    }
    assertFailure(
        failureOf(m.allocate(target.via(proxy(ProxyServer.Type.SOCKS5, "KEEPALIVE_SOCKS5")))),
        "proxy",
        111,
        "SOCKS5 proxy: connection refused");
  }

  @Test
  void aTargetWithTheWrongCertificateFailsVerificationOfTheTargetsName() throws Exception {
    try (TlsServer wrong = TlsServer.builder().identity(Identity.WRONG_HOST).build()) {
      Allocation a = Allocation.to("https", "localhost", wrong.port())
          .via(proxy(ProxyServer.Type.HTTP, "KEEPALIVE_TINYPROXY"));
      assertThat(failureOf(m.allocate(a)).result().function()).isEqualTo("sslify");
    }
  }
}
