package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TestCertificates.Identity;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** https against a local TLS server with a certificate made at test time (TestCertificates). */
class HttpsTest extends HttpTestBase {
  private static final TestCertificates CERTIFICATES = TestCertificates.get();

  private HttpScriptServer tlsServer(HttpScriptServer.Script script) {
    return closeLater(
        HttpScriptServer.overTls(CERTIFICATES.serverContext(Identity.LOCALHOST), script));
  }

  @Test
  void getOverHttpsReusesTheTlsConnection() throws Exception {
    ConnectionManager tls = closeLater(
        ConnectionManager.builder().sslContext(CERTIFICATES.clientContext()).build());
    HttpClient c = closeLater(HttpClient.create(tls));
    HttpScriptServer s = tlsServer(p -> {
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
  void aResponseTellsItsTlsSessionItsAddressAndItsManagerRequest() throws Exception {
    List<Long> handedOut = new CopyOnWriteArrayList<>();
    ConnectionManager tls = closeLater(ConnectionManager.builder()
        .sslContext(CERTIFICATES.clientContext())
        .listener(new ConnectionListener() {
          @Override
          public void handedOut(
              long requestId,
              Allocation request,
              ConnectionInfo socket,
              FromCache how,
              long waitNanos,
              long idleNanos) {
            handedOut.add(requestId);
          }
        })
        .build());
    HttpClient c = closeLater(HttpClient.create(tls));
    HttpScriptServer s = tlsServer(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
    String url = "https://localhost:" + s.port() + "/x";
    HttpResponse first = c.sendBlocking(HttpRequest.get(url));
    HttpResponse second = c.sendStreaming(HttpRequest.get(url)).get();
    second.bodyStream().close();

    for (HttpResponse r : List.of(first, second)) {
      assertThat(r.sslSession().getProtocol()).startsWith("TLSv1.");
      assertThat(r.sslSession().getCipherSuite()).startsWith("TLS_");
      assertThat(r.sslSession().getPeerCertificates()).isNotEmpty();
      assertThat(r.remoteAddress().getPort()).isEqualTo(s.port());
      assertThat(r.requestHead())
          .startsWith("GET /x HTTP/1.1\r\n")
          .contains("\r\nHost: localhost:" + s.port() + "\r\n")
          .endsWith("\r\n\r\n");
    }
    assertThat(List.of(first.allocationId(), second.allocationId()))
        .as("the ids the listener heard, in order")
        .isEqualTo(handedOut);
  }

  @Test
  void anUntrustedCertificateIsAConnectFailure() {
    HttpScriptServer s = tlsServer(p -> p.readRequest());
    // the default manager trusts the JDK's CAs only
    assertThatThrownBy(() -> get("https://localhost:" + s.port() + "/"))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("connect");
          assertThat(e.function()).isEqualTo("sslify");
        });
  }
}
