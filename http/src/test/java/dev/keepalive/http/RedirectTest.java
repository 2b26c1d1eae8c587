package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TestCertificates.Identity;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Redirects: the policy, the method and body rules, the hop limit, origin changes. */
class RedirectTest extends HttpTestBase {
  private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone";

  /** Answers /from with {@code status} to {@code location}, anything else with 200 "done". */
  private HttpScriptServer redirecting(int status, String location) {
    return server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        if (r.target().equals("/from")) {
          p.write("HTTP/1.1 " + status + " Moved\r\nLocation: " + location
              + "\r\nContent-Length: 5\r\n\r\nmoved");
        } else {
          p.write(OK);
        }
      }
    });
  }

  @Test
  void aRedirectIsFollowedAndTheResponseSaysWhere() throws Exception {
    HttpScriptServer s = redirecting(302, "/to?x=1");
    HttpResponse r = get(s.url("/from"));
    assertThat(r.status()).isEqualTo(200);
    assertThat(text(r)).isEqualTo("done");
    assertThat(r.uri()).isEqualTo(URI.create(s.url("/to?x=1")));
    assertThat(r.redirects()).containsExactly(URI.create(s.url("/from")));
    assertThat(s.requests())
        .extracting(HttpScriptServer.Request::target)
        .containsExactly("/from", "/to?x=1");
    assertThat(r.servedBy()).isEqualTo(FromCache.IMMEDIATE); // the 302's socket, reused
    assertThat(s.connections()).isEqualTo(1);
    assertThat(get(s.url("/plain")).redirects()).isEmpty();
  }

  @Test
  void streamedRequestsFollowToo() throws Exception {
    HttpScriptServer s = redirecting(301, "/to");
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/from"))).get();
    try (InputStream in = r.bodyStream()) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("done");
    }
    assertThat(r.redirects()).hasSize(1);
    assertThat(r.uri().getPath()).isEqualTo("/to");
  }

  @Test
  void after303APostBecomesAGetWithoutBody() throws Exception {
    HttpScriptServer s = redirecting(303, "/to");
    HttpResponse r = client.sendBlocking(HttpRequest.post(s.url("/from"), "text/plain", "data"));
    assertThat(r.status()).isEqualTo(200);
    HttpScriptServer.Request second = s.requests().get(1);
    assertThat(second.method()).isEqualTo("GET");
    assertThat(second.body()).isEmpty();
    assertThat(second.header("Content-Length")).isNull();
    assertThat(second.header("Content-Type")).isNull();
    assertThat(r.request().method()).isEqualTo("GET");
  }

  @Test
  void after303AHeadStaysAHead() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        p.write(
            r.target().equals("/from")
                ? "HTTP/1.1 303 See Other\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n"
                : "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
      }
    });
    HttpResponse r = client.sendBlocking(HttpRequest.head(s.url("/from")));
    assertThat(r.status()).isEqualTo(200);
    assertThat(s.requests().get(1).method()).isEqualTo("HEAD");
  }

  @Test
  void after301Or302APostBecomesAGetButAPutStaysAPut() throws Exception {
    for (int status : new int[] {301, 302}) {
      HttpScriptServer s = redirecting(status, "/to");
      client.sendBlocking(HttpRequest.post(s.url("/from"), "text/plain", "data"));
      assertThat(s.requests().get(1).method()).isEqualTo("GET");
      assertThat(s.requests().get(1).body()).isEmpty();
      client.sendBlocking(HttpRequest.newBuilder(s.url("/from"))
          .method("PUT", RequestBody.ofString("put-data"))
          .build());
      assertThat(s.requests().get(3).method()).isEqualTo("PUT");
      assertThat(new String(s.requests().get(3).body(), StandardCharsets.UTF_8))
          .isEqualTo("put-data");
    }
  }

  @Test
  void after307And308APostKeepsItsMethodAndBody() throws Exception {
    for (int status : new int[] {307, 308}) {
      HttpScriptServer s = redirecting(status, "/to");
      HttpResponse r =
          client.sendBlocking(HttpRequest.post(s.url("/from"), "application/json", "{}"));
      assertThat(r.status()).isEqualTo(200);
      HttpScriptServer.Request second = s.requests().get(1);
      assertThat(second.method()).isEqualTo("POST");
      assertThat(second.body()).isEqualTo("{}".getBytes(StandardCharsets.UTF_8));
      assertThat(second.header("Content-Type")).isEqualTo("application/json; charset=UTF-8");
      // a stream body is opened again for the second request
      byte[] data = "streamed".getBytes(StandardCharsets.US_ASCII);
      client.sendBlocking(HttpRequest.newBuilder(s.url("/from"))
          .method("POST", RequestBody.ofInputStream(() -> new ByteArrayInputStream(data), 8))
          .build());
      assertThat(s.requests().get(3).body()).isEqualTo(data);
    }
  }

  /** /n redirects to /n+1 forever. */
  private HttpScriptServer chain() {
    return server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        int n = Integer.parseInt(r.target().substring(1));
        p.write("HTTP/1.1 302 Found\r\nLocation: /" + (n + 1) + "\r\nContent-Length: 0\r\n\r\n");
      }
    });
  }

  @Test
  void tenHopsAreFollowedAndTheEleventhFails() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        int n = Integer.parseInt(r.target().substring(1));
        p.write(
            n == 10
                ? OK
                : "HTTP/1.1 302 Found\r\nLocation: /" + (n + 1) + "\r\nContent-Length: 0\r\n\r\n");
      }
    });
    HttpResponse r = get(s.url("/0"));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.redirects()).hasSize(10);
    assertThat(r.uri().getPath()).isEqualTo("/10");

    HttpScriptServer forever = chain();
    assertThatThrownBy(() -> get(forever.url("/0")))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage()).contains("too many redirects: more than 10", "/11");
        });
    assertThat(forever.requests()).hasSize(11);
  }

  @Test
  void authorizationAndCookiesAreDroppedWhenTheOriginChanges() throws Exception {
    HttpScriptServer other = server(p -> {
      while (p.readRequest() != null) {
        p.write(OK);
      }
    });
    HttpScriptServer s = redirecting(302, other.url("/there"));
    HttpResponse r = client.sendBlocking(HttpRequest.newBuilder(s.url("/from"))
        .header("Authorization", "Bearer secret")
        .header("Cookie", "id=1")
        .header("X-Mine", "kept")
        .build());
    assertThat(r.uri()).isEqualTo(URI.create(other.url("/there")));
    assertThat(s.requests().get(0).header("Authorization")).isEqualTo("Bearer secret");
    HttpScriptServer.Request there = other.requests().get(0);
    assertThat(there.header("Authorization")).isNull();
    assertThat(there.header("Cookie")).isNull();
    assertThat(there.header("X-Mine")).isEqualTo("kept");
    assertThat(there.header("Host")).isEqualTo("127.0.0.1:" + other.port());

    // same origin: kept
    HttpScriptServer same = redirecting(302, "/to");
    client.sendBlocking(HttpRequest.newBuilder(same.url("/from"))
        .header("Authorization", "Bearer secret")
        .build());
    assertThat(same.requests().get(1).header("Authorization")).isEqualTo("Bearer secret");
  }

  @Test
  void neverReturnsTheRedirectItself() throws Exception {
    HttpClient never = closeLater(
        HttpClient.builder(manager).followRedirects(HttpClient.Redirect.NEVER).build());
    HttpScriptServer s = redirecting(302, "/to");
    HttpResponse r = never.sendBlocking(HttpRequest.get(s.url("/from")));
    assertThat(r.status()).isEqualTo(302);
    assertThat(text(r)).isEqualTo("moved");
    assertThat(r.redirects()).isEmpty();
    assertThat(s.requests()).hasSize(1);
    assertThatThrownBy(() -> HttpClient.builder(manager).followRedirects(null))
        .hasMessageContaining("policy");
  }

  @Test
  void withoutALocationOrForAnotherSchemeTheRedirectIsTheAnswer() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        p.write(
            r.target().equals("/none")
                ? "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"
                : "HTTP/1.1 302 Found\r\nLocation: ftp://example.org/\r\nContent-Length: 0\r\n\r\n");
      }
    });
    assertThat(get(s.url("/none")).status()).isEqualTo(302);
    assertThat(get(s.url("/ftp")).status()).isEqualTo(302);
    assertThat(s.requests()).hasSize(2);
  }

  @Test
  void aSloppyLocationIsEncoded() throws Exception {
    HttpScriptServer s = redirecting(302, "/a b/\u00e9");
    HttpResponse r = get(s.url("/from"));
    assertThat(r.status()).isEqualTo(200);
    assertThat(s.requests().get(1).target()).isEqualTo("/a%20b/%c3%a9");
  }

  @Test
  void httpsToHttpIsRefusedUnderNormalAndFollowedUnderAlways() throws Exception {
    TestCertificates certificates = TestCertificates.get();
    HttpScriptServer plain = server(p -> {
      while (p.readRequest() != null) {
        p.write(OK);
      }
    });
    AtomicReference<String> location = new AtomicReference<>(plain.url("/plain"));
    HttpScriptServer tls =
        closeLater(HttpScriptServer.overTls(certificates.serverContext(Identity.LOCALHOST), p -> {
          while (p.readRequest() != null) {
            p.write("HTTP/1.1 302 Found\r\nLocation: " + location.get()
                + "\r\nContent-Length: 0\r\n\r\n");
          }
        }));
    ConnectionManager tlsManager = closeLater(
        ConnectionManager.builder().sslContext(certificates.clientContext()).build());
    String url = "https://localhost:" + tls.port() + "/";

    HttpClient normal = closeLater(HttpClient.create(tlsManager));
    HttpResponse refused = normal.sendBlocking(HttpRequest.get(url));
    assertThat(refused.status()).isEqualTo(302);
    assertThat(refused.redirects()).isEmpty();
    assertThat(plain.requests()).isEmpty();

    HttpClient always = closeLater(HttpClient.builder(tlsManager)
        .followRedirects(HttpClient.Redirect.ALWAYS)
        .build());
    HttpResponse followed = always.sendBlocking(HttpRequest.get(url));
    assertThat(followed.status()).isEqualTo(200);
    assertThat(followed.redirects()).isEqualTo(List.of(URI.create(url)));
    assertThat(plain.requests()).hasSize(1);
  }
}
