package dev.keepalive.http;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.LogCapture;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** When a socket goes back to the pool, and when it is discarded. */
class KeepAliveTest extends HttpTestBase {

  @Test
  void connectionCloseFromTheServerDiscardsTheSocket() throws Exception {
    HttpScriptServer s = server(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        p.awaitEof(); // keeps its side open: only the client's discard ends it
        return;
      }
    });
    try (LogCapture log = LogCapture.debug("dev.keepalive.http")) {
      assertThat(text(get(s.url("/")))).isEqualTo("ok");
      await().until(() -> s.clientCloses() == 1);
      assertThat(log.lines())
          .anySatisfy(l -> assertThat(l)
              .startsWith("discarding the connection to")
              .endsWith(
                  "the response ends the connection (Connection: close, HTTP/1.0 or read to EOF)"));
    }
    assertServed(s, FromCache.NEW);
    assertThat(s.connections()).isEqualTo(2);
  }

  @Test
  void connectionCloseFromTheRequestDiscardsTheSocket() throws Exception {
    HttpScriptServer s = server(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
    HttpResponse r = client.sendBlocking(
        HttpRequest.newBuilder(s.url("/")).header("Connection", "close").build());
    assertThat(text(r)).isEqualTo("ok");
    assertThat(s.requests().get(0).header("Connection")).isEqualTo("close");
    await().until(() -> s.clientCloses() == 1);
    assertServed(s, FromCache.NEW);
  }

  @Test
  void aSocketIsReusedWithinTheServersKeepAliveTimeout() throws Exception {
    HttpScriptServer s = answering(
        "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3600, max=100\r\nContent-Length: 2\r\n\r\nok");
    assertServed(s, FromCache.NEW, FromCache.IMMEDIATE);
    assertThat(s.connections()).isEqualTo(1);
  }

  @Test
  void aSocketPastTheServersKeepAliveTimeoutIsClosedNotReused() throws Exception {
    // timeout=1: reusable for 0.5 s (1 s less the margin of min(1 s, timeout / 2)); the pool
    // closes the socket when that passes, so the next request needs a new one
    HttpScriptServer s =
        answering("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok");
    assertServed(s, FromCache.NEW);
    await().until(() -> s.clientCloses() == 1);
    await().until(() -> manager.stats().idle() == 0);
    assertServed(s, FromCache.NEW);
    assertThat(s.connections()).isEqualTo(2);
  }

  @Test
  void keepAliveMaxOfTheServerIsHonoured() throws Exception {
    // max=1 after every response: one more request per connection, then it is closed
    HttpScriptServer s = answering(
        "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3600, max=1\r\nContent-Length: 2\r\n\r\nok");
    assertServed(s, FromCache.NEW, FromCache.IMMEDIATE);
    await().until(() -> s.clientCloses() == 1); // given back with no use left: closed
    assertServed(s, FromCache.NEW);
    assertThat(s.connections()).isEqualTo(2);
  }

  /** A keep-alive of no uses or no time: the socket is closed when given back. */
  @ParameterizedTest
  @ValueSource(strings = {"max=0", "timeout=0"})
  void aKeepAliveOfZeroMeansNoReuse(String keepAlive) throws Exception {
    HttpScriptServer s = answering(
        "HTTP/1.1 200 OK\r\nKeep-Alive: " + keepAlive + "\r\nContent-Length: 2\r\n\r\nok");
    get(s.url("/"));
    await().until(() -> s.clientCloses() == 1);
    assertServed(s, FromCache.NEW);
  }

  @Test
  void aStreamedBodyReadToItsEndGivesTheSocketBack() throws Exception {
    HttpScriptServer s = answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "4\r\nabcd\r\n0\r\nX-T: 1\r\n\r\n");
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    try (InputStream in = r.bodyStream()) {
      assertThat(new String(in.readAllBytes())).isEqualTo("abcd");
      assertThat(r.trailers().first("X-T")).isEqualTo("1");
      assertThat(r.bodySize()).isEqualTo(4);
    }
    assertServed(s, FromCache.IMMEDIATE);
  }

  @Test
  void aStreamedBodyClosedBeforeItsEndDiscardsTheSocket() throws Exception {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
      p.write(new byte[1000]);
      p.awaitEof();
    });
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    InputStream in = r.bodyStream();
    assertThat(in.read(new byte[10])).isPositive();
    in.close();
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void aStreamedResponseWithoutBodyGivesTheSocketBackAtOnce() throws Exception {
    HttpScriptServer s = answering("HTTP/1.1 204 No Content\r\n\r\n");
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    assertThat(r.status()).isEqualTo(204);
    // not even closed yet: there was nothing to read
    assertServed(s, FromCache.IMMEDIATE);
    assertThat(r.bodyStream().read()).isEqualTo(-1);
    r.bodyStream().close();
  }

  @Test
  void manyConcurrentRequestsShareTheHostsFewSockets() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        String body = r.target();
        p.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      }
    });
    List<CompletableFuture<HttpResponse>> collected = new ArrayList<>();
    List<CompletableFuture<HttpResponse>> streamed = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      collected.add(client.send(HttpRequest.get(s.url("/c" + i))));
      if (i % 10 == 0) {
        streamed.add(client.sendStreaming(HttpRequest.get(s.url("/s" + i))));
      }
    }
    // a streamed response holds its socket until its body is read: read them first, in order,
    // or the collected ones queued behind four unread streams would wait for ever
    for (int i = 0; i < streamed.size(); i++) {
      try (InputStream in = streamed.get(i).get(20, TimeUnit.SECONDS).bodyStream()) {
        assertThat(new String(in.readAllBytes())).isEqualTo("/s" + (i * 10));
      }
    }
    for (int i = 0; i < collected.size(); i++) {
      assertThat(text(collected.get(i).get(20, TimeUnit.SECONDS))).isEqualTo("/c" + i);
    }
    assertThat(s.connections()).isLessThanOrEqualTo(4); // maxPerHost: queued requests reuse them
    assertThat(s.requests()).hasSize(330);
  }
}
