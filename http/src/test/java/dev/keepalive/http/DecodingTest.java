package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** Accept-Encoding: gzip, deflate by default, decoded transparently, collected or streamed. */
class DecodingTest extends HttpTestBase {
  private static final byte[] TEXT = text(200_000);

  private static byte[] text(int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; b.length() < n; i++) {
      b.append("line ").append(i).append(" of a compressible body\n");
    }
    return b.substring(0, n).getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] gzip(byte[] b) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(b);
    }
    return out.toByteArray();
  }

  static byte[] deflate(byte[] b, boolean raw) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (DeflaterOutputStream z = new DeflaterOutputStream(out, new Deflater(6, raw))) {
      z.write(b);
    }
    return out.toByteArray();
  }

  /** Answers every request with {@code body} in {@code coding}, length-framed. */
  private HttpScriptServer serving(String coding, byte[] body) {
    return server(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Encoding: " + coding + "\r\nContent-Length: "
            + body.length + "\r\nX-Other: kept\r\n\r\n");
        p.write(body);
      }
    });
  }

  /** The same, chunked in pieces of 1000 bytes. */
  private HttpScriptServer chunked(String coding, byte[] body) {
    return server(p -> {
      while (p.readRequest() != null) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Encoding: " + coding
                + "\r\nTransfer-Encoding: chunked\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < body.length; i += 1000) {
          int n = Math.min(1000, body.length - i);
          out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(body, i, n);
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        p.write(out.toByteArray());
      }
    });
  }

  @Test
  void gzipIsAskedForAndDecoded() throws Exception {
    HttpScriptServer s = serving("gzip", gzip(TEXT));
    HttpResponse r = get(s.url("/"));
    assertThat(r.body()).isEqualTo(TEXT);
    assertThat(s.requests().get(0).header("Accept-Encoding")).isEqualTo("gzip, deflate");
    assertThat(r.headers().contains("Content-Encoding")).isFalse();
    assertThat(r.headers().contains("Content-Length")).isFalse();
    assertThat(r.headers().first("X-Other")).isEqualTo("kept");
    assertThat(get(s.url("/")).servedBy()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void deflateIsDecodedZlibOrRaw() throws Exception {
    assertThat(get(serving("deflate", deflate(TEXT, false)).url("/")).body()).isEqualTo(TEXT);
    assertThat(get(serving("deflate", deflate(TEXT, true)).url("/")).body()).isEqualTo(TEXT);
    assertThat(get(serving("x-gzip", gzip(TEXT)).url("/")).body()).isEqualTo(TEXT);
  }

  @Test
  void streamedBodiesAreDecodedAndTheSocketGoesBack() throws Exception {
    for (String coding : new String[] {"gzip", "deflate"}) {
      byte[] wire = coding.equals("gzip") ? gzip(TEXT) : deflate(TEXT, false);
      HttpScriptServer s = chunked(coding, wire);
      HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
      assertThat(r.headers().contains("Content-Encoding")).isFalse();
      try (InputStream in = r.bodyStream()) {
        assertThat(in.readAllBytes()).isEqualTo(TEXT);
      }
      assertThat(r.bodySize()).isEqualTo(TEXT.length);
      assertThat(get(s.url("/")).servedBy()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(s.connections()).isEqualTo(1);
    }
  }

  @Test
  void aCorruptBodyIsAClearError() throws Exception {
    byte[] broken = gzip(TEXT);
    broken = Arrays.copyOf(broken, broken.length / 2); // cut short
    byte[] garbage = "this is not gzip at all".getBytes(StandardCharsets.US_ASCII);
    for (byte[] body : new byte[][] {broken, garbage}) {
      HttpScriptServer s = serving("gzip", body);
      assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
        assertThat(e.stage()).isEqualTo("parse");
        assertThat(e.getMessage()).contains("could not be decoded (Content-Encoding: gzip)");
      });
      HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
      assertThatThrownBy(() -> r.bodyStream().readAllBytes())
          .isInstanceOfSatisfying(HttpException.class, e -> {
            assertThat(e.stage()).isEqualTo("parse");
            assertThat(e.getMessage()).contains("could not be decoded (Content-Encoding: gzip)");
          });
    }
    HttpScriptServer d = serving("deflate", garbage);
    assertThatThrownBy(() -> get(d.url("/"))).hasMessageContaining("Content-Encoding: deflate");
  }

  @Test
  void theUsersOwnAcceptEncodingGetsTheRawBody() throws Exception {
    byte[] wire = gzip(TEXT);
    HttpScriptServer s = serving("gzip", wire);
    HttpResponse r = client.sendBlocking(
        HttpRequest.newBuilder(s.url("/")).header("Accept-Encoding", "gzip").build());
    assertThat(r.body()).isEqualTo(wire);
    assertThat(r.headers().first("Content-Encoding")).isEqualTo("gzip");
    assertThat(s.requests().get(0).headers().get("accept-encoding")).containsExactly("gzip");
  }

  @Test
  void askingForRawBytesSendsNoAcceptEncoding() throws Exception {
    byte[] wire = gzip(TEXT);
    HttpScriptServer s = serving("gzip", wire);
    HttpResponse raw =
        client.sendBlocking(HttpRequest.newBuilder(s.url("/")).decompress(false).build());
    assertThat(raw.body()).isEqualTo(wire);
    assertThat(raw.headers().first("Content-Length")).isEqualTo(String.valueOf(wire.length));
    HttpClient plain = closeLater(HttpClient.builder(manager).decompress(false).build());
    assertThat(plain.sendBlocking(HttpRequest.get(s.url("/"))).body()).isEqualTo(wire);
    assertThat(s.requests())
        .allSatisfy(q -> assertThat(q.header("Accept-Encoding")).isNull());
  }

  @Test
  void bodilessAndEmptyResponsesAreNotDecoded() throws Exception {
    HttpScriptServer s = server(p -> {
      HttpScriptServer.Request q;
      while ((q = p.readRequest()) != null) {
        p.write(
            q.method().equals("HEAD")
                ? "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 50\r\n\r\n"
                : "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n");
      }
    });
    assertThat(client.sendBlocking(HttpRequest.head(s.url("/"))).body()).isEmpty();
    assertThat(get(s.url("/")).body()).isEmpty();
    HttpResponse streamed = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    assertThat(streamed.bodyStream().readAllBytes()).isEmpty();
  }

  @Test
  void aBodyThatDecodesBeyondTheLimitFails() throws Exception {
    HttpClient small =
        closeLater(HttpClient.builder(manager).maxBodyBytes(100_000).build());
    HttpScriptServer s = serving("gzip", gzip(TEXT)); // 200,000 bytes decoded
    assertThatThrownBy(() -> small.sendBlocking(HttpRequest.get(s.url("/"))))
        .isInstanceOfSatisfying(
            HttpException.class,
            e -> assertThat(e.getMessage())
                .contains("decoded response body longer than maxBodyBytes"));
  }
}
