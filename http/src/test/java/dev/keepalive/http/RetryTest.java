package dev.keepalive.http;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.LogCapture;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A request on a reused socket that dies before any response byte is sent again once, on a new
 * connection, when its method is idempotent; never for POST or PATCH.
 */
class RetryTest extends HttpTestBase {

  /**
   * Connection 1 answers its first request, then reads the next one and closes (with a reset
   * if asked) without a byte of answer; later connections answer everything.
   */
  private HttpScriptServer dropsSecondRequest(boolean reset) {
    return server(p -> {
      if (p.index() == 1) {
        p.readRequest();
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
        p.readRequest();
        if (reset) {
          p.reset();
        }
        return; // closes
      }
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nretry");
      }
    });
  }

  @Test
  void getOnADeadReusedSocketIsRetriedOnceOnANewConnection() throws Exception {
    HttpScriptServer s = dropsSecondRequest(false);
    HttpResponse first = get(s.url("/a"));
    assertThat(first.retried()).isFalse();

    HttpResponse second = get(s.url("/b"));
    assertThat(text(second)).isEqualTo("retry");
    assertThat(second.retried()).isTrue();
    assertThat(second.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(s.connections()).isEqualTo(2);
    assertThat(s.requests())
        .extracting(r -> r.connection() + r.target())
        .containsExactly("1/a", "1/b", "2/b");
  }

  @Test
  void theRetryIsLoggedAtDebugWithItsCause() throws Exception {
    HttpScriptServer s = dropsSecondRequest(false);
    try (LogCapture log = LogCapture.debug("dev.keepalive.http")) {
      get(s.url("/a"));
      get(s.url("/b"));
      assertThat(log.lines())
          .anySatisfy(l -> assertThat(l)
              .startsWith("retrying GET " + s.url("/b")
                  + " on a new connection: the reused (IMMEDIATE) one to"));
    }
  }

  @Test
  void aResetCountsAsWellAndPutIsIdempotent() throws Exception {
    HttpScriptServer s = dropsSecondRequest(true);
    get(s.url("/a"));
    HttpResponse put = client.sendBlocking(
        HttpRequest.newBuilder(s.url("/b")).method("PUT").body("x".getBytes()).build());
    assertThat(put.retried()).isTrue();
    assertThat(text(put)).isEqualTo("retry");
    assertThat(s.requests()).hasSize(3);
    assertThat(s.requests().get(2).body()).containsExactly('x');
  }

  @Test
  void postOnADeadReusedSocketFailsAndIsNotRetried() throws Exception {
    HttpScriptServer s = dropsSecondRequest(false);
    get(s.url("/a"));
    assertThatThrownBy(() -> client.sendBlocking(HttpRequest.post(s.url("/b"), "data".getBytes())))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage())
              .contains("IMMEDIATE")
              .contains("POST is not idempotent")
              .contains("not retried");
        });
    assertThat(s.connections()).isEqualTo(1);
    assertThat(s.requests()).hasSize(2);
  }

  @Test
  void patchIsNotRetriedEither() throws Exception {
    HttpScriptServer s = dropsSecondRequest(true);
    get(s.url("/a"));
    assertThatThrownBy(() -> client.sendBlocking(HttpRequest.newBuilder(s.url("/b"))
            .method("PATCH")
            .body(new byte[] {1})
            .build()))
        .isInstanceOf(HttpException.class)
        .hasMessageContaining("PATCH is not idempotent");
    assertThat(s.connections()).isEqualTo(1);
  }

  @Test
  void aNewConnectionThatDiesIsNotRetried() throws Exception {
    HttpScriptServer s = server(p -> p.readRequest()); // reads, then closes without a byte
    assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("receive");
      assertThat(e.getMessage()).contains("before any response byte");
    });
    assertThat(s.connections()).isEqualTo(1);
  }

  @Test
  void theRetryIsTheOnlyOne() throws Exception {
    HttpScriptServer s = server(p -> {
      if (p.index() == 1) {
        p.readRequest();
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
      p.readRequest(); // then close, every time
    });
    get(s.url("/"));
    assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("receive");
      assertThat(e.getMessage()).contains("already the retry");
    });
    assertThat(s.connections()).isEqualTo(2);
  }

  @Test
  void aFailureAfterTheFirstResponseByteIsNotRetried() throws Exception {
    HttpScriptServer s = server(p -> {
      if (p.index() == 1) {
        p.readRequest();
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        p.readRequest();
        p.write("HTTP/1.1 200 OK\r\nContent-Len"); // then close
        return;
      }
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
    get(s.url("/"));
    assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("receive");
      assertThat(e.getMessage()).contains("before the response head was complete");
    });
    assertThat(s.connections()).isEqualTo(1);
  }

  @Test
  void aDeferredSocketIsRetriedToo() throws Exception {
    ConnectionManager one = closeLater(ConnectionManager.builder().maxPerHost(1).build());
    HttpClient c = closeLater(HttpClient.create(one));
    CountDownLatch answerFirst = new CountDownLatch(1);
    HttpScriptServer s = server(p -> {
      if (p.index() == 1) {
        p.readRequest();
        answerFirst.await(10, TimeUnit.SECONDS);
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
        p.readRequest();
        return; // dies under the second request, which waited for this socket
      }
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nretry");
      }
    });
    CompletableFuture<HttpResponse> first = c.send(HttpRequest.get(s.url("/1")));
    await().until(() -> s.requests().size() == 1);
    CompletableFuture<HttpResponse> second = c.send(HttpRequest.get(s.url("/2")));
    await().until(() -> one.stats().pending() == 1); // queued behind the first
    answerFirst.countDown();
    assertThat(text(first.get())).isEqualTo("first");
    HttpResponse r = second.get();
    assertThat(text(r)).isEqualTo("retry");
    assertThat(r.retried()).isTrue();
    assertThat(r.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(s.requests())
        .extracting(q -> q.connection() + q.target())
        .containsExactly("1/1", "1/2", "2/2");
  }

  @Test
  void streamedRequestsAreRetriedTheSameWay() throws Exception {
    HttpScriptServer s = dropsSecondRequest(false);
    get(s.url("/a"));
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/b"))).get();
    try (var in = r.bodyStream()) {
      assertThat(new String(in.readAllBytes())).isEqualTo("retry");
    }
    assertThat(r.retried()).isTrue();
    assertThat(r.servedBy()).isEqualTo(FromCache.NEW);

    HttpScriptServer t = dropsSecondRequest(false);
    get(t.url("/a"));
    assertThatThrownBy(
            () -> client.sendStreaming(HttpRequest.post(t.url("/b"), null)).join())
        .hasCauseInstanceOf(HttpException.class)
        .hasMessageContaining("not idempotent");
  }
}
