package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Bodies read through HttpResponse.bodyStream() as they arrive. */
class StreamingTest extends HttpTestBase {

  private static byte[] pattern(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 13 + i / 256);
    }
    return b;
  }

  @Test
  void aLargeContentLengthBodyStreamsInPieces() throws Exception {
    byte[] body = pattern(8 * 1024 * 1024 + 3);
    HttpScriptServer s = server(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n");
        p.write(body);
      }
    });
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/big"))).get();
    assertThat(r.status()).isEqualTo(200);
    MessageDigest got = MessageDigest.getInstance("SHA-256");
    try (InputStream in = r.bodyStream()) {
      byte[] buf = new byte[5000];
      for (int n; (n = in.read(buf)) >= 0; ) {
        got.update(buf, 0, n);
      }
      assertThat(in.read()).isEqualTo(-1);
    }
    assertThat(got.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(body));
    assertThat(r.bodySize()).isEqualTo(body.length);
    assertThat(get(s.url("/big")).servedBy()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void aChunkedBodyStreamsWithTrailersAtTheEnd() throws Exception {
    byte[] part = pattern(70_000);
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 3; i++) {
        p.write(Integer.toHexString(part.length) + "\r\n");
        p.write(part);
        p.write("\r\n");
      }
      p.write("0\r\nDigest: done\r\n\r\n");
      p.awaitEof();
    });
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    assertThat(r.trailers().isEmpty()).isTrue(); // not yet: the body was not read
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    try (InputStream in = r.bodyStream()) {
      int b = in.read(); // one byte, then the rest in bulk
      all.write(b);
      all.write(in.readAllBytes());
    }
    byte[] expected = new byte[part.length * 3];
    for (int i = 0; i < 3; i++) {
      System.arraycopy(part, 0, expected, i * part.length, part.length);
    }
    assertThat(Arrays.equals(all.toByteArray(), expected)).isTrue();
    assertThat(r.trailers().first("digest")).isEqualTo("done");
  }

  @Test
  void aCloseDelimitedBodyStreamsToEof() throws Exception {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\n\r\nfirst part, ");
      p.write("second part");
    });
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    try (InputStream in = r.bodyStream()) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII))
          .isEqualTo("first part, second part");
    }
    assertServed(s, FromCache.NEW);
  }

  @Test
  void headStreamsNothing() throws Exception {
    HttpScriptServer s = answering("HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n");
    HttpResponse r = client.sendStreaming(HttpRequest.head(s.url("/"))).get();
    try (InputStream in = r.bodyStream()) {
      assertThat(in.read()).isEqualTo(-1);
    }
    assertThat(r.bodySize()).isZero();
    assertThat(r.headers().first("content-length")).isEqualTo("12345");
  }

  @Test
  void aCollectedBodyOverTheLimitFails() {
    HttpClient small = closeLater(HttpClient.builder(manager).maxBodyBytes(10).build());
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n");
      p.write("8\r\n12345678\r\n0\r\n\r\n");
      p.awaitEof();
    });
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> small.sendBlocking(HttpRequest.get(s.url("/"))))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("receive");
          assertThat(e.getMessage()).contains("maxBodyBytes");
        });
  }
}
