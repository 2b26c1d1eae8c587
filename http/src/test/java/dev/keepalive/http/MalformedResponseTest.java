package dev.keepalive.http;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testkit.HttpScriptServer;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * Servers that answer badly on purpose: each failure is a clear HttpException, and the socket
 * is discarded (the server sees the client close it; nothing is pooled).
 */
class MalformedResponseTest extends HttpTestBase {

  /** A server that answers the first request with {@code response} and waits for the close. */
  private HttpScriptServer once(String response) {
    return server(p -> {
      p.readRequest();
      p.write(response);
      p.awaitEof();
    });
  }

  private HttpException failsWith(String response, String stage, String message) {
    HttpScriptServer s = once(response);
    HttpException[] caught = new HttpException[1];
    assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo(stage);
      assertThat(e.getMessage()).contains(message);
      caught[0] = e;
    });
    await().until(() -> s.clientCloses() == 1); // discarded
    await().until(() -> manager.stats().open() == 0);
    return caught[0];
  }

  @Test
  void badStatusLine() {
    failsWith("HTTP/1.1 OK\r\n\r\n", "parse", "malformed status line \"HTTP/1.1 OK\"");
    failsWith("SSH-2.0-OpenSSH_9.2\r\n", "parse", "malformed status line");
    failsWith("HTTP/2 200\r\n\r\n", "parse", "malformed status line");
  }

  @Test
  void badChunkSize() {
    String head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    failsWith(head + "5\r\nhello\r\nzz\r\n", "parse", "bad chunk size \"zz\"");
    failsWith(head + "-5\r\nhello\r\n", "parse", "bad chunk size");
    failsWith(head + "5\r\nhelloX\r\n", "parse", "CRLF expected after chunk data");
  }

  @Test
  void oversizedHeaders() {
    String filler = ("X-Filler: " + "f".repeat(1000) + "\r\n").repeat(70);
    failsWith(
        "HTTP/1.1 200 OK\r\n" + filler + "Content-Length: 0\r\n\r\n",
        "parse",
        "response header block larger than 65536 bytes");
  }

  @Test
  void theHeaderLimitIsConfigurable() throws Exception {
    HttpClient small =
        closeLater(HttpClient.builder(manager).maxHeaderBytes(1024).build());
    HttpScriptServer s = once("HTTP/1.1 200 OK\r\nX: " + "x".repeat(1100) + "\r\n\r\n");
    assertThatThrownBy(() -> small.sendBlocking(HttpRequest.get(s.url("/"))))
        .isInstanceOf(HttpException.class)
        .hasMessageContaining("larger than 1024 bytes");
  }

  @Test
  void badFieldsAndLengths() {
    failsWith("HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", "parse", "malformed header line");
    failsWith(
        "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", "parse", "invalid Content-Length");
    failsWith("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "parse", "101");
  }

  @Test
  void theServerClosingMidBodyIsAReceiveError() {
    HttpScriptServer s = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
    });
    assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("receive");
      assertThat(e.getMessage()).contains("after 5 of 10 body bytes");
    });
    HttpScriptServer c = server(p -> {
      p.readRequest();
      p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    });
    assertThatThrownBy(() -> get(c.url("/")))
        .isInstanceOf(HttpException.class)
        .hasMessageContaining("in the middle of a chunked body");
  }

  @Test
  void aStreamedBodyReportsMalformedChunksOnRead() throws Exception {
    HttpScriptServer s =
        once("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "3\r\nabc\r\nnot-hex\r\n");
    HttpResponse r = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    InputStream in = r.bodyStream();
    assertThat(in.readNBytes(3)).containsExactly('a', 'b', 'c');
    assertThatThrownBy(in::read).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("parse");
      assertThat(e.getMessage()).contains("bad chunk size");
    });
    in.close();
    await().until(() -> s.clientCloses() == 1);
  }

  @Test
  void aStreamedHeadThatIsMalformedFailsTheFuture() {
    HttpScriptServer s = once("HTTP/1.1 200 OK\r\n\0\r\n\r\n");
    assertThatThrownBy(() -> client.sendStreaming(HttpRequest.get(s.url("/"))).join())
        .hasCauseInstanceOf(HttpException.class)
        .hasMessageContaining("malformed header line");
    await().until(() -> s.clientCloses() == 1);
  }
}
