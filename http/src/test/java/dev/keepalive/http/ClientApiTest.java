package dev.keepalive.http;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.AllocationException;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.Loopback;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Argument checks, headers, connect failures, timeouts, cancellation and closing. */
class ClientApiTest extends HttpTestBase {

  @Test
  void badUrlsNameTheArgument() {
    for (String bad : new String[] {
      null,
      "ftp://host/",
      "127.0.0.1:80/",
      "http:///path",
      "http://",
      "not a url",
      "http:opaque",
      "https://user:pw@host/",
      "http://host:0/",
      "mailto:x@y"
    }) {
      assertThatThrownBy(() -> HttpRequest.get(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("url");
    }
  }

  @Test
  void badMethodsHeadersAndTimeoutsNameTheArgument() {
    HttpRequest.Builder b = HttpRequest.newBuilder("http://127.0.0.1/");
    assertThatThrownBy(() -> b.method(null)).hasMessageContaining("method");
    assertThatThrownBy(() -> b.method("GE T")).hasMessageContaining("method");
    assertThatThrownBy(() -> b.method("")).hasMessageContaining("method");
    assertThatThrownBy(() -> b.method("CONNECT")).hasMessageContaining("CONNECT");
    assertThatThrownBy(() -> b.header("Bad Name", "v")).hasMessageContaining("header name");
    assertThatThrownBy(() -> b.header("X:y", "v")).hasMessageContaining("header name");
    assertThatThrownBy(() -> b.header(null, "v")).hasMessageContaining("header name");
    assertThatThrownBy(() -> b.header("X", "a\r\nInjected: 1"))
        .hasMessageContaining("header value");
    assertThatThrownBy(() -> b.header("X", "a\0")).hasMessageContaining("header value");
    assertThatThrownBy(() -> b.header("X", " padded")).hasMessageContaining("header value");
    assertThatThrownBy(() -> b.header("X", "\u20ac")).hasMessageContaining("header value");
    assertThatThrownBy(() -> b.header("X", null)).hasMessageContaining("header value");
    assertThatThrownBy(() -> b.header("content-length", "1"))
        .hasMessageContaining("Content-Length")
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.header("Transfer-Encoding", "chunked"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.timeout(Duration.ZERO)).hasMessageContaining("timeout");
    assertThatThrownBy(() -> b.timeout(Duration.ofSeconds(-1))).hasMessageContaining("timeout");
    assertThatThrownBy(() -> HttpClient.create(null)).hasMessageContaining("manager");
    assertThatThrownBy(() -> HttpClient.builder(manager).maxHeaderBytes(10))
        .hasMessageContaining("maxHeaderBytes");
    assertThatThrownBy(() -> HttpClient.builder(manager).userAgent("a\nb"))
        .hasMessageContaining("userAgent");
    assertThatThrownBy(() -> client.send(null)).hasMessageContaining("request");
  }

  @Test
  void requestsKeepWhatTheyWereGiven() {
    byte[] body = {1, 2, 3};
    HttpRequest r = HttpRequest.newBuilder("HTTPS://[::1]:8443/a?b=c")
        .method("DELETE")
        .header("X-A", "1")
        .body(body)
        .timeout(Duration.ofSeconds(2))
        .build();
    body[0] = 9;
    assertThat(r.method()).isEqualTo("DELETE");
    assertThat(r.uri().toString()).isEqualTo("HTTPS://[::1]:8443/a?b=c");
    assertThat(r.scheme()).isEqualTo("https");
    assertThat(r.host()).isEqualTo("::1");
    assertThat(r.port()).isEqualTo(8443);
    assertThat(r.hostHeader()).isEqualTo("[::1]:8443");
    assertThat(r.target()).isEqualTo("/a?b=c");
    assertThat(r.body()).containsExactly(1, 2, 3);
    assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(r.headers().first("x-a")).isEqualTo("1");
    HttpRequest plain = HttpRequest.get("http://example.org");
    assertThat(plain.port()).isEqualTo(80);
    assertThat(plain.target()).isEqualTo("/");
    assertThat(plain.hostHeader()).isEqualTo("example.org");
    assertThat(plain.body()).isEmpty();
    assertThat(plain.hasBody()).isFalse();
    assertThat(HttpRequest.get("https://example.org/").port()).isEqualTo(443);
  }

  @Test
  void headersLookUpNamesIgnoringCase() {
    HttpHeaders h =
        HttpHeaders.of("Content-Type", "text/plain", "Set-Cookie", "a=1", "set-cookie", "b=2");
    assertThat(h.first("content-type")).isEqualTo("text/plain");
    assertThat(h.first("missing")).isNull();
    assertThat(h.all("SET-COOKIE")).containsExactly("a=1", "b=2");
    assertThat(h.all("missing")).isEmpty();
    assertThat(h.names()).containsExactly("Content-Type", "Set-Cookie");
    assertThat(h.map().get("set-cookie")).containsExactly("a=1", "b=2");
    assertThat(h.map()).hasSize(2);
    assertThat(h.size()).isEqualTo(3);
    assertThatThrownBy(() -> h.map().put("x", List.of()))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> HttpHeaders.of("odd")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aRefusedConnectionIsAConnectFailureWithTheManagersFields() throws Exception {
    String url = "http://127.0.0.1:" + Loopback.closedPort() + "/";
    assertThatThrownBy(() -> get(url)).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("connect");
      assertThat(e.function()).isEqualTo("connect");
      assertThat(e.errorNum()).isEqualTo(111);
      assertThat(e.errorStr()).isEqualTo("Connection refused");
      assertThat(e.getCause()).isInstanceOf(AllocationException.class);
    });
    assertThatThrownBy(() -> client.send(HttpRequest.get(url)).join())
        .hasCauseInstanceOf(HttpException.class);
  }

  @Test
  void aShutDownManagerIsAConnectFailure() {
    ConnectionManager m = ConnectionManager.create();
    HttpClient c = closeLater(HttpClient.create(m));
    m.close();
    assertThatThrownBy(() -> c.sendBlocking(HttpRequest.get("http://127.0.0.1:9/")))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("connect");
          assertThat(e.function()).isEqualTo("shutdown");
        });
  }

  @Test
  void aSilentServerTimesOutAndTheSocketIsDiscarded() {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.awaitEof();
    });
    HttpRequest r =
        HttpRequest.newBuilder(s.url("/")).timeout(Duration.ofMillis(200)).build();
    assertThatThrownBy(() -> client.sendBlocking(r))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage()).contains("timed out after PT0.2S waiting for the response");
        });
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void theClientsDefaultTimeoutAppliesToStreamedBodies() throws Exception {
    HttpClient timed =
        closeLater(HttpClient.builder(manager).timeout(Duration.ofMillis(200)).build());
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
      p.awaitEof();
    });
    HttpResponse r = timed.sendStreaming(HttpRequest.get(s.url("/"))).get();
    byte[] five = r.bodyStream().readNBytes(5);
    assertThat(five).hasSize(5);
    assertThatThrownBy(() -> r.bodyStream().read())
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage()).contains("timed out");
        });
    await().until(() -> s.clientCloses() == 1);
    assertThat(r.bodySize()).isEqualTo(5);
  }

  @Test
  void cancellingTheFutureDiscardsTheConnection() {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.awaitEof();
    });
    CompletableFuture<HttpResponse> f = client.send(HttpRequest.get(s.url("/")));
    await().until(() -> s.requests().size() == 1);
    assertThat(f.cancel(true)).isTrue();
    assertThat(f.isCancelled()).isTrue();
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void closingTheClientFailsWhatIsInFlightButNotTheManager() throws Exception {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.awaitEof();
    });
    HttpClient c = HttpClient.create(manager);
    CompletableFuture<HttpResponse> f = c.send(HttpRequest.get(s.url("/")));
    await().until(() -> s.requests().size() == 1);
    c.close();
    assertThatThrownBy(f::join)
        .hasCauseInstanceOf(HttpException.class)
        .hasMessageContaining("client was closed");
    await().until(() -> s.clientCloses() == 1);
    assertThatThrownBy(() -> c.send(HttpRequest.get(s.url("/"))))
        .isInstanceOf(IllegalStateException.class);
    assertThat(c.isClosed()).isTrue();
    HttpScriptServer ok = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assertThat(get(ok.url("/")).status()).isEqualTo(200); // the manager still works
  }

  @Test
  void sendBlockingRefusesTheEventLoopThread() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    HttpScriptServer s = server(p -> {
      p.readRequest();
      answer.await(10, TimeUnit.SECONDS);
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      p.readRequest();
    });
    CompletableFuture<Throwable> onLoop = client
        .send(HttpRequest.get(s.url("/")))
        .handle((r, e) -> {
          try {
            client.sendBlocking(HttpRequest.get(s.url("/")));
            return null;
          } catch (Throwable t) {
            return t;
          }
        });
    answer.countDown();
    assertThat(onLoop.get(10, TimeUnit.SECONDS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("event loop");
  }

  @Test
  void responsesShowWhatArrived() throws Exception {
    HttpScriptServer s =
        answering("HTTP/1.1 418 I'm a teapot\r\nA: 1\r\nB: 2\r\nContent-Length: 3" + "\r\n\r\ntea");
    HttpResponse r = get(s.url("/"));
    assertThat(r.status()).isEqualTo(418);
    assertThat(r.reason()).isEqualTo("I'm a teapot");
    assertThat(r.headers().names()).containsExactly("A", "B", "Content-Length");
    assertThat(r.trailers().isEmpty()).isTrue();
    assertThat(r.bodyStream().readAllBytes()).isEqualTo(r.body());
    assertThat(r.request().uri().getPath()).isEqualTo("/");
    assertThat(r.toString()).contains("418");
    HttpResponse streamed = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    assertThatThrownBy(streamed::body).isInstanceOf(IllegalStateException.class);
    streamed.bodyStream().close();
  }
}
