package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.Loopback;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Request bodies: text, bytes, files, streams (chunked when their length is unknown), 100. */
class RequestBodyTest extends HttpTestBase {
  @TempDir
  Path dir;

  private HttpScriptServer recording() {
    return server(p -> {
      while (p.readRequest() != null) {
        p.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
  }

  /** A JDK server echoing the request body, with the request's Transfer-Encoding in a header. */
  private HttpServer echo() throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(Loopback.ipv4(), 0), 0);
    s.createContext("/", x -> {
      byte[] in = x.getRequestBody().readAllBytes();
      String te = x.getRequestHeaders().getFirst("Transfer-Encoding");
      String cl = x.getRequestHeaders().getFirst("Content-Length");
      x.getResponseHeaders().add("X-Request-Transfer-Encoding", String.valueOf(te));
      x.getResponseHeaders().add("X-Request-Content-Length", String.valueOf(cl));
      x.sendResponseHeaders(200, in.length == 0 ? -1 : in.length);
      try (OutputStream out = x.getResponseBody()) {
        out.write(in);
      }
    });
    s.start();
    closeLater(() -> s.stop(0));
    return s;
  }

  private static String url(HttpServer s, String path) {
    return "http://127.0.0.1:" + s.getAddress().getPort() + path;
  }

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  @Test
  void aPostOfAStringIsOneLine() throws Exception {
    HttpScriptServer s = recording();
    client.sendBlocking(HttpRequest.post(s.url("/"), "application/json", "{\"a\":\"\u00e9\"}"));
    HttpScriptServer.Request r = s.requests().get(0);
    assertThat(r.method()).isEqualTo("POST");
    assertThat(r.header("Content-Type")).isEqualTo("application/json; charset=UTF-8");
    assertThat(r.body()).isEqualTo("{\"a\":\"\u00e9\"}".getBytes(StandardCharsets.UTF_8));
    assertThat(r.header("Content-Length")).isEqualTo(String.valueOf(r.body().length));
  }

  @Test
  void theResponseShowsTheRequestHeadAsSentWithoutTheBody() throws Exception {
    HttpScriptServer s = recording();
    HttpResponse small = client.sendBlocking(HttpRequest.newBuilder(s.url("/in"))
        .method("POST", RequestBody.ofString("a=1"))
        .header("X-Mine", "yes")
        .build());
    Path f = Files.write(dir.resolve("up.txt"), "from a file".getBytes(StandardCharsets.UTF_8));
    HttpResponse file = client.sendBlocking(HttpRequest.newBuilder(s.url("/file"))
        .method("PUT", RequestBody.ofFile(f))
        .build());

    HttpScriptServer.Request got = s.requests().get(0);
    got.headers()
        .forEach((name, values) -> assertThat(small.requestHead().toLowerCase(Locale.ROOT))
            .as("every field the server read")
            .contains("\r\n" + name + ": " + values.get(0).toLowerCase(Locale.ROOT) + "\r\n"));
    assertThat(small.requestHead().split("\r\n", -1))
        .as("the request line, the fields, the empty line")
        .hasSize(1 + got.headers().size() + 2);
    assertThat(small.requestHead())
        .startsWith("POST /in HTTP/1.1\r\n")
        .contains("\r\nX-Mine: yes\r\n", "\r\nContent-Length: 3\r\n")
        .endsWith("\r\n\r\n");
    assertThat(file.requestHead())
        .startsWith("PUT /file HTTP/1.1\r\n")
        .contains("\r\nContent-Length: 11\r\n")
        .endsWith("\r\n\r\n");
    assertThat(small.sslSession()).isNull();
    assertThat(small.remoteAddress().getPort()).isEqualTo(s.port());
    assertThat(small.allocationId()).isPositive();
  }

  @Test
  void aStringBodyCarriesItsCharset() throws Exception {
    HttpScriptServer s = recording();
    client.sendBlocking(HttpRequest.newBuilder(s.url("/"))
        .method("PUT", RequestBody.ofString("caf\u00e9", StandardCharsets.ISO_8859_1))
        .build());
    client.sendBlocking(HttpRequest.newBuilder(s.url("/"))
        .method("PUT", RequestBody.ofString("x", StandardCharsets.UTF_16BE))
        .contentType("text/csv; charset=UTF-16BE")
        .build());
    HttpScriptServer.Request latin = s.requests().get(0);
    assertThat(latin.header("Content-Type")).isEqualTo("text/plain; charset=ISO-8859-1");
    assertThat(latin.body()).isEqualTo(new byte[] {'c', 'a', 'f', (byte) 0xe9});
    HttpScriptServer.Request utf16 = s.requests().get(1);
    assertThat(utf16.header("Content-Type")).isEqualTo("text/csv; charset=UTF-16BE");
    assertThat(utf16.body()).isEqualTo(new byte[] {0, 'x'});
  }

  @Test
  void bytesHaveNoContentTypeUnlessGivenAndAHeaderWins() throws Exception {
    HttpScriptServer s = recording();
    client.sendBlocking(HttpRequest.newBuilder(s.url("/"))
        .method("POST", RequestBody.ofBytes(new byte[] {1, 2, 3}))
        .build());
    client.sendBlocking(HttpRequest.newBuilder(s.url("/"))
        .method("POST", RequestBody.ofString("x"))
        .header("Content-Type", "application/x-mine")
        .contentType("ignored/here")
        .build());
    assertThat(s.requests().get(0).header("Content-Type")).isNull();
    assertThat(s.requests().get(0).body()).containsExactly(1, 2, 3);
    assertThat(s.requests().get(1).headers().get("content-type"))
        .containsExactly("application/x-mine");
  }

  @Test
  void aFileGoesOutWithItsLength() throws Exception {
    byte[] content = random(300_000);
    Path f = Files.write(dir.resolve("upload.bin"), content);
    HttpScriptServer s = recording();
    HttpResponse r = client.sendBlocking(
        HttpRequest.newBuilder(s.url("/")).method("PUT", RequestBody.ofFile(f)).build());
    assertThat(r.status()).isEqualTo(200);
    assertThat(s.requests().get(0).header("Content-Length")).isEqualTo("300000");
    assertThat(s.requests().get(0).body()).isEqualTo(content);
    assertThat(RequestBody.ofFile(f).length()).isEqualTo(300_000);
    assertThatThrownBy(() -> RequestBody.ofFile(dir.resolve("missing")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("file");
  }

  @Test
  void aStreamOfUnknownLengthGoesOutChunkedByteExact() throws Exception {
    byte[] content = random(1_000_003);
    HttpServer s = echo();
    HttpRequest req = HttpRequest.newBuilder(url(s, "/up"))
        .method("POST", RequestBody.ofInputStream(() -> new ByteArrayInputStream(content)))
        .build();
    HttpResponse r = client.sendBlocking(req);
    assertThat(r.headers().first("X-Request-Transfer-Encoding")).isEqualTo("chunked");
    assertThat(r.body()).isEqualTo(content);
    // again, streamed both ways, on the same connection
    HttpResponse again = client.sendStreaming(req).get();
    try (InputStream in = again.bodyStream()) {
      assertThat(in.readAllBytes()).isEqualTo(content);
    }
    assertThat(again.servedBy()).isNotEqualTo(dev.keepalive.FromCache.NEW);
  }

  @Test
  void aStreamOfKnownLengthGoesOutWithContentLength() throws Exception {
    byte[] content = random(70_000);
    HttpServer s = echo();
    HttpResponse r = client.sendBlocking(HttpRequest.newBuilder(url(s, "/"))
        .method("POST", RequestBody.ofInputStream(() -> new ByteArrayInputStream(content), 70_000))
        .build());
    assertThat(r.headers().first("X-Request-Content-Length")).isEqualTo("70000");
    assertThat(r.headers().first("X-Request-Transfer-Encoding")).isEqualTo("null");
    assertThat(r.body()).isEqualTo(content);
  }

  @Test
  void aStreamShorterOrLongerThanItsLengthFailsTheSend() {
    HttpScriptServer s = server(p -> p.awaitEof());
    for (int length : new int[] {10, 2}) {
      HttpRequest req = HttpRequest.newBuilder(s.url("/"))
          .method(
              "POST",
              RequestBody.ofInputStream(() -> new ByteArrayInputStream(new byte[5]), length))
          .build();
      assertThatThrownBy(() -> client.sendBlocking(req))
          .isInstanceOfSatisfying(HttpException.class, e -> {
            assertThat(e.stage()).isEqualTo("send");
            assertThat(e.getMessage()).contains(length == 10 ? "ended after 5" : "longer");
          });
    }
    await().until(() -> s.clientCloses() == 2);
  }

  @Test
  void aFailingStreamFailsTheSend() {
    HttpScriptServer s = server(p -> p.awaitEof());
    HttpRequest req = HttpRequest.newBuilder(s.url("/"))
        .method("POST", RequestBody.ofInputStream(() -> new InputStream() {
          @Override
          public int read() throws IOException {
            throw new IOException("disk on fire");
          }
        }))
        .build();
    assertThatThrownBy(() -> client.sendBlocking(req))
        .isInstanceOfSatisfying(HttpException.class, e -> {
          assertThat(e.stage()).isEqualTo("send");
          assertThat(e.getMessage()).contains("disk on fire");
        });
  }

  @Test
  void expectContinueWorksWithARealServer() throws Exception {
    byte[] content = random(100_000);
    HttpServer s = echo();
    HttpClient patient = closeLater(HttpClient.builder(manager)
        .expectContinueTimeout(Duration.ofSeconds(60))
        .build());
    HttpRequest req = HttpRequest.newBuilder(url(s, "/"))
        .method("PUT", RequestBody.ofBytes(content))
        .expectContinue(true)
        .build();
    assertThat(req.expectContinue()).isTrue();
    assertThat(patient.sendBlocking(req).body()).isEqualTo(content);
    HttpRequest streamed = HttpRequest.newBuilder(url(s, "/"))
        .method("PUT", RequestBody.ofInputStream(() -> new ByteArrayInputStream(content)))
        .expectContinue(true)
        .build();
    assertThat(patient.sendBlocking(streamed).body()).isEqualTo(content);
  }

  /** Reads a request head from {@code in}, byte by byte. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed in the head");
      }
      head.write(b);
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void withExpectContinueTheBodyWaitsForTheHundred() throws Exception {
    AtomicReference<String> head = new AtomicReference<>();
    AtomicReference<String> early = new AtomicReference<>();
    AtomicReference<byte[]> got = new AtomicReference<>();
    AcceptingServer s = closeLater(new AcceptingServer((Socket peer) -> {
      InputStream in = peer.getInputStream();
      head.set(readHead(in));
      peer.setSoTimeout(300);
      try {
        early.set("read " + in.read());
      } catch (SocketTimeoutException e) {
        early.set("nothing"); // the body did not come before the 100
      }
      peer.setSoTimeout(0);
      OutputStream out = peer.getOutputStream();
      out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      got.set(in.readNBytes(5));
      out.write(
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
      in.read();
    }));
    HttpClient patient = closeLater(HttpClient.builder(manager)
        .expectContinueTimeout(Duration.ofSeconds(60))
        .build());
    HttpResponse r = patient.sendBlocking(HttpRequest.newBuilder("http://127.0.0.1:" + s.port())
        .method("POST", RequestBody.ofString("hello"))
        .expectContinue(true)
        .build());
    assertThat(text(r)).isEqualTo("ok");
    assertThat(head.get()).contains("\r\nExpect: 100-continue\r\n", "\r\nContent-Length: 5\r\n");
    assertThat(early.get()).isEqualTo("nothing");
    assertThat(got.get()).isEqualTo("hello".getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void withExpectContinueAFinalStatusMeansTheBodyIsNeverSent() throws Exception {
    AtomicReference<byte[]> after = new AtomicReference<>();
    AcceptingServer s = closeLater(new AcceptingServer((Socket peer) -> {
      InputStream in = peer.getInputStream();
      readHead(in);
      peer.getOutputStream()
          .write("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      after.set(in.readAllBytes()); // until the client closes: it must not send the body
    }));
    HttpResponse r = client.sendBlocking(HttpRequest.newBuilder("http://127.0.0.1:" + s.port())
        .method("POST", RequestBody.ofBytes(random(50_000)))
        .expectContinue(true)
        .build());
    assertThat(r.status()).isEqualTo(413);
    await().until(() -> after.get() != null);
    assertThat(after.get()).isEmpty();
  }

  @Test
  void withoutAnAnswerTheBodyGoesAfterTheExpectContinueTimeout() throws Exception {
    HttpScriptServer s = recording(); // reads the body without sending a 100
    HttpClient quick = closeLater(
        HttpClient.builder(manager).expectContinueTimeout(Duration.ofMillis(50)).build());
    HttpResponse r = quick.sendBlocking(HttpRequest.newBuilder(s.url("/"))
        .method("POST", RequestBody.ofString("late"))
        .expectContinue(true)
        .build());
    assertThat(text(r)).isEqualTo("ok");
    assertThat(s.requests().get(0).body()).isEqualTo("late".getBytes(StandardCharsets.UTF_8));
    assertThat(s.requests().get(0).header("Expect")).isEqualTo("100-continue");
  }

  @Test
  void badArgumentsAreRefused() {
    assertThatThrownBy(() -> RequestBody.ofString(null)).hasMessageContaining("text");
    assertThatThrownBy(() -> RequestBody.ofBytes(null)).hasMessageContaining("bytes");
    assertThatThrownBy(() -> RequestBody.ofInputStream(null)).hasMessageContaining("supplier");
    assertThatThrownBy(() -> RequestBody.ofInputStream(InputStream::nullInputStream, -2))
        .hasMessageContaining("length");
    assertThatThrownBy(() -> HttpRequest.newBuilder("http://h/").contentType("a\r\nb"))
        .hasMessageContaining("contentType");
    HttpRequest streamed = HttpRequest.newBuilder("http://h/")
        .body(RequestBody.ofInputStream(InputStream::nullInputStream))
        .build();
    assertThat(streamed.hasBody()).isTrue();
    assertThatThrownBy(streamed::body).isInstanceOf(IllegalStateException.class);
  }
}
