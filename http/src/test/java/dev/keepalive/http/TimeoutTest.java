package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.HttpScriptServer;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** Default connect and response timeouts, per client and per request. */
class TimeoutTest extends HttpTestBase {

  @Test
  void theDefaultsAreFinite() {
    assertThat(HttpClient.DEFAULT_CONNECT_TIMEOUT).isEqualTo(Duration.ofSeconds(10));
    assertThat(HttpClient.DEFAULT_RESPONSE_TIMEOUT).isEqualTo(Duration.ofSeconds(30));
    HttpRequest r = HttpRequest.get("http://127.0.0.1/");
    assertThat(r.connectTimeout()).isNull();
    assertThat(r.responseTimeout()).isNull();
  }

  @Test
  void badTimeoutsAreRefused() {
    HttpClient.Builder b = HttpClient.builder(manager);
    assertThatThrownBy(() -> b.connectTimeout(null)).hasMessageContaining("connectTimeout");
    assertThatThrownBy(() -> b.connectTimeout(Duration.ZERO)).hasMessageContaining("timeout");
    assertThatThrownBy(() -> b.responseTimeout(Duration.ofSeconds(-1)))
        .hasMessageContaining("timeout");
    HttpRequest.Builder rb = HttpRequest.newBuilder("http://127.0.0.1/");
    assertThatThrownBy(() -> rb.responseTimeout(Duration.ZERO)).hasMessageContaining("timeout");
    assertThatThrownBy(() -> rb.connectTimeout(Duration.ZERO)).hasMessageContaining("timeout");
  }

  @Test
  void aRequestsResponseTimeoutFailsASilentServer() {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.awaitEof();
    });
    HttpRequest r = HttpRequest.newBuilder(s.url("/"))
        .responseTimeout(Duration.ofMillis(200))
        .build();
    assertThatThrownBy(() -> client.sendBlocking(r))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage()).contains("response timeout of PT0.2S");
        });
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void theClientsResponseTimeoutFailsAStalledResponse() {
    HttpClient timed = closeLater(
        HttpClient.builder(manager).responseTimeout(Duration.ofMillis(200)).build());
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
      p.awaitEof();
    });
    assertThatThrownBy(() -> timed.sendBlocking(HttpRequest.get(s.url("/"))))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage()).contains("response timeout", "stalled");
        });
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void aRequestsResponseTimeoutWinsOverTheClients() throws Exception {
    HttpClient timed = closeLater(
        HttpClient.builder(manager).responseTimeout(Duration.ofMillis(100)).build());
    CountDownLatch go = new CountDownLatch(1);
    HttpScriptServer s = server(p -> {
      p.readRequest();
      go.await(); // the client's 100 ms pass; the request's 60 s do not
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      p.awaitEof();
    });
    var f = timed.send(HttpRequest.newBuilder(s.url("/"))
        .responseTimeout(Duration.ofSeconds(60))
        .build());
    await().pollDelay(Duration.ofMillis(300)).until(() -> true);
    assertThat(f).isNotDone();
    go.countDown();
    assertThat(text(f.get())).isEqualTo("ok");
  }

  @Test
  void aShortResponseTimeoutSetAfterALongerOneStillFires() throws Exception {
    // the client sweeps response deadlines: the 60 s request plans a sweep in 60 s, and the
    // 200 ms one sent after it must bring that sweep forward, failing itself alone
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.awaitEof();
    });
    var slow = client.send(HttpRequest.newBuilder(s.url("/"))
        .responseTimeout(Duration.ofSeconds(60))
        .build());
    await().until(() -> s.requests().size() == 1); // sent: its deadline is (about to be) set
    var quick = client.send(HttpRequest.newBuilder(s.url("/"))
        .responseTimeout(Duration.ofMillis(200))
        .build());
    // bounded only so that a broken sweep fails here instead of hanging for 60 s
    assertThatThrownBy(() -> quick.get(30, java.util.concurrent.TimeUnit.SECONDS))
        .hasCauseInstanceOf(HttpException.class)
        .hasMessageContaining("response timeout of PT0.2S");
    assertThat(slow).isNotDone();
    slow.cancel(true);
    await().until(() -> s.clientCloses() == 2);
  }

  @Test
  void aBodyThatKeepsArrivingDoesNotTimeOut() throws Exception {
    // the response timeout bounds each wait, not the whole body: 12 pieces 250 ms apart take
    // 3 s in all, half again the 2 s timeout, while each gap leaves it a margin of 1.75 s (for a
    // loaded machine)
    HttpClient timed = closeLater(
        HttpClient.builder(manager).responseTimeout(Duration.ofSeconds(2)).build());
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
      for (int i = 0; i < 12; i++) {
        Thread.sleep(250); // pacing the server, not a wait for the client
        p.write("x");
      }
      p.awaitEof();
    });
    HttpResponse r = timed.sendBlocking(HttpRequest.get(s.url("/")));
    assertThat(r.body()).hasSize(12);
  }

  @Test
  void aStreamedBodyReadWaitsAtMostTheResponseTimeout() throws Exception {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
      p.awaitEof();
    });
    HttpRequest req = HttpRequest.newBuilder(s.url("/"))
        .responseTimeout(Duration.ofMillis(200))
        .build();
    HttpResponse r = client.sendStreaming(req).get();
    InputStream in = r.bodyStream();
    assertThat(in.readNBytes(5)).hasSize(5);
    assertThatThrownBy(in::read).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("receive");
      assertThat(e.getMessage()).contains("timed out after PT0.2S");
    });
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void theConnectTimeoutGoesToTheManager() throws Exception {
    // one slot per host, held by a streamed response: the next request waits for a connection
    ConnectionManager one = closeLater(ConnectionManager.builder().maxPerHost(1).build());
    HttpClient c = closeLater(
        HttpClient.builder(one).connectTimeout(Duration.ofSeconds(60)).build());
    HttpScriptServer s = server(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
    HttpResponse held = c.sendStreaming(HttpRequest.get(s.url("/"))).get();
    HttpRequest r = HttpRequest.newBuilder(s.url("/"))
        .connectTimeout(Duration.ofMillis(200))
        .build();
    assertThatThrownBy(() -> c.sendBlocking(r))
        .isInstanceOfSatisfying(
            HttpException.class, e -> assertThat(e.stage()).isEqualTo("connect"));
    held.bodyStream().close();
  }
}
