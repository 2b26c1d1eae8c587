package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import java.io.InputStream;
import java.security.KeyStore;
import java.security.cert.Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** https against a local TLS server with a test certificate (src/test/resources). */
class HttpsTest extends HttpTestBase {
  private static SSLContext serverContext;
  private static SSLContext clientContext;

  @BeforeAll
  static void contexts() throws Exception {
    char[] password = "changeit".toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = HttpsTest.class.getResourceAsStream("/test-server.p12")) {
      keys.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, password);
    serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), null, null);

    Certificate cert = keys.getCertificate("server");
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("server", cert);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, tmf.getTrustManagers(), null);
  }

  private ScriptServer tlsServer(ScriptServer.Script script) {
    return closeLater(new ScriptServer(serverContext.getServerSocketFactory(), script));
  }

  @Test
  void getOverHttpsReusesTheTlsConnection() throws Exception {
    ConnectionManager tls = closeLater(ConnectionManager.builder().sslContext(clientContext)
        .build());
    HttpClient c = closeLater(HttpClient.create(tls));
    ScriptServer s = tlsServer(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecret\r\n0\r\n\r\n");
      }
    });
    String url = "https://localhost:" + s.port() + "/";
    HttpResponse first = c.sendBlocking(HttpRequest.get(url));
    assertThat(text(first)).isEqualTo("secret");
    assertThat(first.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(s.requests().get(0).header("Host")).isEqualTo("localhost:" + s.port());

    HttpResponse streamed = c.sendStreaming(HttpRequest.get(url)).get();
    try (InputStream in = streamed.bodyStream()) {
      assertThat(new String(in.readAllBytes())).isEqualTo("secret");
    }
    assertThat(streamed.servedBy()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(c.sendBlocking(HttpRequest.get(url)).servedBy()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(s.connections()).isEqualTo(1);
  }

  @Test
  void anUntrustedCertificateIsAConnectFailure() {
    ScriptServer s = tlsServer(p -> p.readRequest());
    // the default manager trusts the JDK's CAs only
    assertThatThrownBy(() -> get("https://localhost:" + s.port() + "/"))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("connect");
          assertThat(e.function()).isEqualTo("sslify");
        });
  }
}
