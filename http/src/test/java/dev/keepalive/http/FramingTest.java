package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Message framing against scripted servers, and what it means for reuse. */
class FramingTest extends HttpTestBase {

  @Test
  void contentLengthBodyThenTheSecondRequestReusesTheSocket() throws Exception {
    HttpScriptServer s =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: a\r\n\r\nhello");
    HttpResponse first = get(s.url("/one"));
    assertThat(first.status()).isEqualTo(200);
    assertThat(first.reason()).isEqualTo("OK");
    assertThat(first.version()).isEqualTo("HTTP/1.1");
    assertThat(text(first)).isEqualTo("hello");
    assertThat(first.bodySize()).isEqualTo(5);
    assertThat(first.headers().first("x-test")).isEqualTo("a");
    assertThat(first.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(first.retried()).isFalse();

    HttpResponse second = get(s.url("/two"));
    assertThat(text(second)).isEqualTo("hello");
    assertThat(second.servedBy()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(s.connections()).isEqualTo(1);
    assertThat(s.requests())
        .extracting(HttpScriptServer.Request::target)
        .containsExactly("/one", "/two");
  }

  @Test
  void requestHeadAsSent() throws Exception {
    HttpScriptServer s = answering("HTTP/1.1 204 No Content\r\n\r\n");
    client.sendBlocking(HttpRequest.newBuilder(s.url("/p/a%20th?q=1&r=%C3%A9#frag"))
        .header("X-Custom", "v1")
        .header("X-Custom", "v2")
        .build());
    client.sendBlocking(
        HttpRequest.post(s.url("/post"), "payload".getBytes(StandardCharsets.UTF_8)));
    client.sendBlocking(HttpRequest.post(s.url("/empty"), null));
    client.sendBlocking(HttpRequest.newBuilder("http://localhost:" + s.port() + "/h")
        .header("Host", "example.test")
        .header("User-Agent", "mine/1")
        .build());

    HttpScriptServer.Request get = s.requests().get(0);
    assertThat(get.method()).isEqualTo("GET");
    assertThat(get.target()).isEqualTo("/p/a%20th?q=1&r=%C3%A9");
    assertThat(get.header("Host")).isEqualTo("127.0.0.1:" + s.port());
    assertThat(get.header("User-Agent")).isEqualTo("keepalive/0.1");
    assertThat(get.headers().get("x-custom")).containsExactly("v1", "v2");
    assertThat(get.headers()).doesNotContainKey("content-length");

    HttpScriptServer.Request post = s.requests().get(1);
    assertThat(post.method()).isEqualTo("POST");
    assertThat(post.header("Content-Length")).isEqualTo("7");
    assertThat(new String(post.body(), StandardCharsets.UTF_8)).isEqualTo("payload");

    assertThat(s.requests().get(2).header("Content-Length")).isEqualTo("0");

    HttpScriptServer.Request own = s.requests().get(3);
    assertThat(own.headers().get("host")).containsExactly("example.test");
    assertThat(own.headers().get("user-agent")).containsExactly("mine/1");
  }

  /**
   * A request is encoded once and its bytes reused (a benchmark sends one request millions of
   * times): sent again, by another client with another User-Agent, and with a large body that
   * goes in two writes, each copy on the wire is still exactly right.
   */
  @Test
  void oneRequestSentAgainAndByAnotherClientIsEncodedForEach() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: " + r.body().length + "\r\n\r\n");
        p.write(r.body());
      }
    });
    byte[] big = new byte[40_000];
    Arrays.fill(big, (byte) 'x');
    HttpRequest small =
        HttpRequest.newBuilder(s.url("/small")).header("X-N", "1").build();
    HttpRequest large =
        HttpRequest.newBuilder(s.url("/large")).method("PUT").body(big).build();
    try (HttpClient other = HttpClient.builder(manager).userAgent("other/2").build()) {
      for (int i = 0; i < 3; i++) {
        assertThat(client.sendBlocking(small).status()).isEqualTo(200);
        assertThat(other.sendBlocking(small).status()).isEqualTo(200);
        assertThat(client.sendBlocking(large).body()).isEqualTo(big);
        assertThat(other.sendBlocking(large).body()).isEqualTo(big);
      }
    }
    assertThat(s.requests()).hasSize(12);
    for (int i = 0; i < 12; i++) {
      HttpScriptServer.Request r = s.requests().get(i);
      assertThat(r.header("User-Agent")).isEqualTo(i % 2 == 0 ? "keepalive/0.1" : "other/2");
      if (i % 4 < 2) {
        assertThat(r.target()).isEqualTo("/small");
        assertThat(r.header("X-N")).isEqualTo("1");
        assertThat(r.body()).isEmpty();
      } else {
        assertThat(r.target()).isEqualTo("/large");
        assertThat(r.header("Content-Length")).isEqualTo("40000");
        assertThat(r.body()).isEqualTo(big);
      }
    }
  }

  @Test
  void largeRequestAndResponseBodies() throws Exception {
    byte[] big = new byte[3 * 1024 * 1024 + 17];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31 + 7);
    }
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: " + r.body().length + "\r\n\r\n");
        p.write(r.body());
      }
    });
    HttpResponse r = client.sendBlocking(
        HttpRequest.newBuilder(s.url("/echo")).method("PUT").body(big).build());
    assertThat(Arrays.equals(r.body(), big)).isTrue();
    assertThat(get(s.url("/again")).servedBy()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void chunkedBodyWithTrailers() throws Exception {
    HttpResponse r = getThenReuse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        + "Trailer: X-Checksum\r\n\r\n"
        + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n");
    assertThat(text(r)).isEqualTo("hello world");
    assertThat(r.trailers().first("x-checksum")).isEqualTo("abc");
    assertThat(r.trailers().names()).containsExactly("X-Checksum", "X-More");
    assertThat(r.headers().contains("X-Checksum")).isFalse();
  }

  @Test
  void chunkedBodyDribbledByteByByte() throws Exception {
    String wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
    HttpScriptServer s = server(p -> {
      while (p.readRequest() != null) {
        for (byte b : wire.getBytes(StandardCharsets.ISO_8859_1)) {
          p.write(new byte[] {b});
        }
      }
    });
    assertThat(text(get(s.url("/")))).isEqualTo("abc0123456789abcdef");
    assertServed(s, FromCache.IMMEDIATE);
  }

  @Test
  void closeDelimitedBodyIsReadToEofAndTheSocketIsNotReused() throws Exception {
    HttpScriptServer s = answeringOnceThenClosing(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    HttpResponse r = get(s.url("/"));
    assertThat(text(r)).isEqualTo("until the end");
    HttpResponse again = get(s.url("/"));
    assertThat(again.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(s.connections()).isEqualTo(2);
  }

  @Test
  void headHasNoBodyWhateverContentLengthSays() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request r;
      while ((r = p.readRequest()) != null) {
        if (r.method().equals("HEAD")) {
          p.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        } else {
          p.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget");
        }
      }
    });
    HttpResponse head = client.sendBlocking(HttpRequest.head(s.url("/")));
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().first("Content-Length")).isEqualTo("1000");
    HttpResponse get = get(s.url("/"));
    assertThat(text(get)).isEqualTo("get");
    assertThat(get.servedBy()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void noBodyFor204And304() throws Exception {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
      p.readRequest();
      p.write("HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\nETag: \"x\"\r\n\r\n");
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
    });
    HttpResponse noContent = get(s.url("/"));
    assertThat(noContent.status()).isEqualTo(204);
    assertThat(noContent.body()).isEmpty();
    HttpResponse notModified = get(s.url("/"));
    assertThat(notModified.status()).isEqualTo(304);
    assertThat(notModified.body()).isEmpty();
    assertThat(notModified.servedBy()).isEqualTo(FromCache.IMMEDIATE);
    HttpResponse next = get(s.url("/"));
    assertThat(text(next)).isEqualTo("next");
    assertThat(next.servedBy()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void interimResponsesAreSkipped() throws Exception {
    HttpResponse r = getThenReuse("HTTP/1.1 100 Continue\r\n\r\n"
        + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assertThat(r.status()).isEqualTo(200);
    assertThat(text(r)).isEqualTo("ok");
    assertThat(r.headers().contains("Link")).isFalse();
  }

  @Test
  void http10ReusesOnlyWithKeepAlive() throws Exception {
    HttpScriptServer plain = answering("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assertThat(text(get(plain.url("/")))).isEqualTo("ok");
    assertServed(plain, FromCache.NEW);
    assertThat(plain.connections()).isEqualTo(2);

    HttpScriptServer keep =
        answering("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
    get(keep.url("/"));
    assertServed(keep, FromCache.IMMEDIATE);
  }

  @Test
  void bothTransferEncodingAndContentLengthMeansChunkedThenDiscard() throws Exception {
    HttpScriptServer s = answering("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    assertThat(text(get(s.url("/")))).isEqualTo("ok");
    assertServed(s, FromCache.NEW);
  }

  @Test
  void bytesAfterTheResponseMakeTheSocketUnfitForReuse() throws Exception {
    HttpScriptServer s = answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE");
    assertThat(text(get(s.url("/")))).isEqualTo("ok");
    HttpResponse second = get(s.url("/"));
    assertThat(second.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(text(second)).isEqualTo("ok");
  }
}
