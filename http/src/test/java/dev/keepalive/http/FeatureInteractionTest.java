package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The new features together: retries of file bodies, cancelled redirects, streamed 100s. */
class FeatureInteractionTest extends HttpTestBase {
  @TempDir
  Path dir;

  @Test
  void aFileBodyIsSentWholeAgainWhenAPutIsRetried() throws Exception {
    byte[] content = new byte[100_000];
    new java.util.Random(7).nextBytes(content);
    Path f = Files.write(dir.resolve("body"), content);
    HttpScriptServer s = server(p -> {
      if (p.index() == 1) {
        p.readRequest();
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
        p.readRequest();
        return; // closes without an answer: the reused socket was dead
      }
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nretry");
      }
    });
    get(s.url("/a"));
    HttpResponse put = client.sendBlocking(
        HttpRequest.newBuilder(s.url("/b")).method("PUT", RequestBody.ofFile(f)).build());
    assertThat(put.retried()).isTrue();
    assertThat(put.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(s.requests()).hasSize(3);
    assertThat(s.requests().get(2).body()).isEqualTo(content);
  }

  @Test
  void cancellingARedirectedRequestCancelsTheHopUnderWay() {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        if (r.target().equals("/from")) {
          p.write("HTTP/1.1 302 Found\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n");
        } else {
          p.awaitEof(); // never answers /to
          return;
        }
      }
    });
    CompletableFuture<HttpResponse> f = client.send(HttpRequest.get(s.url("/from")));
    await().until(() -> s.requests().size() == 2);
    assertThat(f.cancel(true)).isTrue();
    assertThat(f.isCancelled()).isTrue();
    await().until(() -> s.clientCloses() == 1); // the hop's connection was discarded
  }

  @Test
  void aRedirectedResponseTimesOutLikeAnyOther() {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        if (r.target().equals("/from")) {
          p.write("HTTP/1.1 307 Temporary\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n");
        } else {
          p.awaitEof();
          return;
        }
      }
    });
    HttpRequest req = HttpRequest.newBuilder(s.url("/from"))
        .responseTimeout(Duration.ofMillis(200))
        .build();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.sendBlocking(req))
        .isInstanceOfSatisfying(
            HttpException.class, e -> assertThat(e.getMessage()).contains("timed out"));
  }

  @Test
  void aStreamedExchangeWaitsForTheHundredToo() throws Exception {
    HttpScriptServer s = server(p -> {
      // readRequest would wait for the body: answer 100 first, from the head alone
      p.write("HTTP/1.1 100 Continue\r\n\r\n");
      HttpScriptServer.Request r = p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: " + r.body().length + "\r\n\r\n");
      p.write(r.body());
      p.awaitEof();
    });
    HttpClient patient = closeLater(HttpClient.builder(manager)
        .expectContinueTimeout(Duration.ofSeconds(60))
        .build());
    HttpResponse r = patient
        .sendStreaming(HttpRequest.newBuilder(s.url("/"))
            .method("POST", RequestBody.ofString("continued"))
            .expectContinue(true)
            .build())
        .get();
    try (InputStream in = r.bodyStream()) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("continued");
    }
  }
}
