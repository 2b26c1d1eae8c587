package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.http.internal.ResponseDecoder;
import dev.keepalive.http.internal.ResponseDecoder.Framing;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The codec alone: framing, every input split, limits and malformed input. */
class ResponseDecoderTest {

  /** What one decode produced. */
  record Decoded(ResponseDecoder decoder, String body, boolean extra) {}

  /** Decodes {@code wire} fed in pieces of {@code piece} bytes; EOF after all input if asked. */
  static Decoded decode(String wire, int piece, boolean head, boolean eof) throws HttpException {
    byte[] bytes = wire.getBytes(StandardCharsets.ISO_8859_1);
    ResponseDecoder d = new ResponseDecoder(64 * 1024, head);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    boolean extra = false;
    for (int off = 0; off < bytes.length && !d.isComplete(); off += piece) {
      // a direct buffer, like the event loop's
      ByteBuffer in = ByteBuffer.allocateDirect(Math.min(piece, bytes.length - off));
      in.put(bytes, off, in.capacity()).flip();
      if (!d.headDone() && !d.parseHead(in)) {
        continue;
      }
      ByteBuffer s;
      while ((s = d.readBody(in, 7)) != null) {
        byte[] b = new byte[s.remaining()];
        s.get(b);
        body.writeBytes(b);
      }
      extra = in.hasRemaining();
    }
    if (eof && !d.isComplete()) {
      d.endOfInput();
    }
    return new Decoded(d, body.toString(StandardCharsets.ISO_8859_1), extra);
  }

  static HttpException failure(String wire) {
    try {
      decode(wire, wire.length(), false, true);
    } catch (HttpException e) {
      return e;
    }
    throw new AssertionError("no failure for " + wire);
  }

  static final String CHUNKED = "HTTP/1.1 200 OK\r\n"
      + "Transfer-Encoding: chunked\r\n"
      + "Trailer: X-Sum\r\n"
      + "\r\n"
      + "5;name=value\r\nhello\r\n"
      + "6\r\n world\r\n"
      + "A \t; ext\r\n0123456789\r\n"
      + "0\r\n"
      + "X-Sum: 42\r\n"
      + "X-Other:  two words  \r\n"
      + "\r\n";

  @Test
  void chunkedWithExtensionsAndTrailersDecodesAtEverySplit() throws Exception {
    for (int piece = 1; piece <= CHUNKED.length(); piece++) {
      Decoded r = decode(CHUNKED, piece, false, false);
      assertThat(r.decoder().isComplete()).as("piece %d", piece).isTrue();
      assertThat(r.body()).as("piece %d", piece).isEqualTo("hello world0123456789");
      assertThat(r.decoder().trailers()).containsExactly("X-Sum", "42", "X-Other", "two words");
      assertThat(r.decoder().reusable()).isTrue();
      assertThat(r.decoder().framing()).isEqualTo(Framing.CHUNKED);
    }
  }

  @Test
  void contentLengthAndInterimResponsesDecodeAtEverySplit() throws Exception {
    String wire = "HTTP/1.1 100 Continue\r\n\r\n"
        + "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        + "HTTP/1.1 201 Created\r\nContent-Length: 12\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
        + "hello world!";
    for (int piece = 1; piece <= wire.length(); piece++) {
      Decoded r = decode(wire, piece, false, false);
      ResponseDecoder d = r.decoder();
      assertThat(d.isComplete()).isTrue();
      assertThat(d.status()).isEqualTo(201);
      assertThat(d.reason()).isEqualTo("Created");
      assertThat(d.interimCount()).isEqualTo(2);
      assertThat(d.fields()).containsExactly("Content-Length", "12", "X-A", "1", "x-a", "2");
      assertThat(r.body()).isEqualTo("hello world!");
      assertThat(d.reusable()).isTrue();
      assertThat(r.extra()).isFalse();
    }
  }

  @Test
  void bytesBeyondTheMessageAreLeftInTheInput() throws Exception {
    Decoded r = decode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 100, false, false);
    assertThat(r.body()).isEqualTo("ok");
    assertThat(r.extra()).isTrue();
  }

  @Test
  void closeDelimitedBodyEndsAtEofAndIsNotReusable() throws Exception {
    Decoded r = decode("HTTP/1.1 200 OK\r\n\r\nall of it", 4, false, true);
    assertThat(r.body()).isEqualTo("all of it");
    assertThat(r.decoder().isComplete()).isTrue();
    assertThat(r.decoder().framing()).isEqualTo(Framing.UNTIL_CLOSE);
    assertThat(r.decoder().reusable()).isFalse();
  }

  @Test
  void noBodyForHead204And304() throws Exception {
    Decoded head = decode("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 5, true, false);
    assertThat(head.decoder().isComplete()).isTrue();
    assertThat(head.body()).isEmpty();
    assertThat(head.decoder().reusable()).isTrue();
    Decoded noContent = decode("HTTP/1.1 204 No Content\r\n\r\n", 3, false, false);
    assertThat(noContent.decoder().isComplete()).isTrue();
    Decoded notModified =
        decode("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 100, false, false);
    assertThat(notModified.decoder().isComplete()).isTrue();
    assertThat(notModified.decoder().framing()).isEqualTo(Framing.NONE);
  }

  @Test
  void connectionReuseFollowsVersionAndConnectionField() throws Exception {
    String body = "Content-Length: 0\r\n\r\n";
    assertThat(decode("HTTP/1.1 200 OK\r\n" + body, 99, false, false).decoder().reusable())
        .isTrue();
    assertThat(decode("HTTP/1.1 200 OK\r\nConnection: close\r\n" + body, 99, false, false)
            .decoder()
            .reusable())
        .isFalse();
    assertThat(decode("HTTP/1.1 200 OK\r\nConnection: x, Close\r\n" + body, 99, false, false)
            .decoder()
            .reusable())
        .isFalse();
    assertThat(decode("HTTP/1.0 200 OK\r\n" + body, 99, false, false).decoder().reusable())
        .isFalse();
    assertThat(decode("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" + body, 99, false, false)
            .decoder()
            .reusable())
        .isTrue();
  }

  @Test
  void transferEncodingOverridesContentLengthButForbidsReuse() throws Exception {
    Decoded r = decode(
        "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n"
            + "\r\n2\r\nok\r\n0\r\n\r\n",
        6,
        false,
        false);
    assertThat(r.body()).isEqualTo("ok");
    assertThat(r.decoder().isComplete()).isTrue();
    assertThat(r.decoder().reusable()).isFalse();
  }

  @Test
  void otherTransferCodingsAreCloseDelimited() throws Exception {
    Decoded r =
        decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw", 99, false, true);
    assertThat(r.decoder().framing()).isEqualTo(Framing.UNTIL_CLOSE);
    assertThat(r.body()).isEqualTo("raw");
  }

  @Test
  void repeatedEqualContentLengthsAreOneLength() throws Exception {
    Decoded r = decode(
        "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
        99,
        false,
        false);
    assertThat(r.body()).isEqualTo("abc");
  }

  @Test
  void obsFoldIsJoinedWithASpace() throws Exception {
    Decoded r = decode(
        "HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\n" + "Content-Length: 0\r\n\r\n",
        99,
        false,
        false);
    assertThat(r.decoder().fields())
        .containsExactly("X-Long", "one two three", "Content-Length", "0");
  }

  @Test
  void bareLineFeedsAndAnEmptyReasonAreAccepted() throws Exception {
    Decoded r = decode("HTTP/1.1 200\nContent-Length: 1\n\nx", 99, false, false);
    assertThat(r.decoder().status()).isEqualTo(200);
    assertThat(r.decoder().reason()).isEmpty();
    assertThat(r.body()).isEqualTo("x");
  }

  @Test
  void keepAliveTimeoutIsRead() throws Exception {
    Decoded r = decode(
        "HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=7\r\n" + "Content-Length: 0\r\n\r\n",
        99,
        false,
        false);
    assertThat(r.decoder().keepAliveTimeoutSeconds()).isEqualTo(7);
  }

  @Test
  void malformedStatusLines() {
    for (String bad : List.of(
        "HTTP/1.1 OK\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 O\0K\r\n\r\n")) {
      HttpException e = failure(bad);
      assertThat(e.stage()).as(bad).isEqualTo("parse");
      assertThat(e.getMessage()).as(bad).contains("status line");
    }
    assertThat(failure("HTTP/2.0 200 OK\r\n\r\n").getMessage())
        .contains("unsupported HTTP version");
  }

  @Test
  void malformedFields() {
    assertThat(failure("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n").getMessage())
        .contains("malformed header line");
    assertThat(failure("HTTP/1.1 200 OK\r\nName : x\r\n\r\n").getMessage())
        .contains("malformed header line");
    assertThat(failure("HTTP/1.1 200 OK\r\nno colon\r\n\r\n").getMessage())
        .contains("malformed header line");
    assertThat(failure("HTTP/1.1 200 OK\r\n folded first\r\n\r\n").getMessage())
        .contains("continuation");
    assertThat(failure("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n").getMessage())
        .contains("control character");
    assertThat(failure("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n").getMessage())
        .contains("invalid Content-Length");
    assertThat(failure("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")
            .getMessage())
        .contains("invalid Content-Length");
    assertThat(failure("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").getMessage())
        .contains("invalid Content-Length");
    assertThat(failure("HTTP/1.1 101 Switching Protocols\r\n\r\n").getMessage()).contains("101");
  }

  @Test
  void malformedChunks() {
    String head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (String bad : List.of(
        "zz\r\n", "-5\r\n", "+5\r\n", " 5\r\n", "5 x\r\n", "\r\n", "1234567890abcdef0\r\n")) {
      HttpException e = failure(head + bad);
      assertThat(e.stage()).as(bad).isEqualTo("parse");
      assertThat(e.getMessage()).as(bad).contains("chunk size");
    }
    assertThat(failure(head + "5\r\nhelloXX0\r\n\r\n").getMessage())
        .contains("CRLF expected after chunk data");
    assertThat(failure(head + "5;" + "e".repeat(5000) + "\r\n").getMessage())
        .contains("chunk size line longer than");
  }

  @Test
  void headerBlockLimitCountsTheWholeHead() throws Exception {
    String field = "X-Filler: " + "a".repeat(1000) + "\r\n";
    String big = "HTTP/1.1 200 OK\r\n" + field.repeat(70) + "Content-Length: 0\r\n\r\n";
    for (int piece : new int[] {1000, 70_000}) {
      ResponseDecoder d = new ResponseDecoder(64 * 1024, false);
      byte[] bytes = big.getBytes(StandardCharsets.ISO_8859_1);
      assertThatThrownBy(() -> {
            for (int off = 0; off < bytes.length; off += piece) {
              d.parseHead(ByteBuffer.wrap(bytes, off, Math.min(piece, bytes.length - off)));
            }
          })
          .isInstanceOf(HttpException.class)
          .hasMessageContaining("header block larger than 65536 bytes");
    }
    // exactly at the limit is fine
    String exact = "HTTP/1.1 200 OK\r\nX: ";
    String end = "\r\nContent-Length: 0\r\n\r\n";
    String fits = exact + "a".repeat(65536 - exact.length() - end.length()) + end;
    assertThat(fits).hasSize(65536);
    assertThat(decode(fits, 4096, false, false).decoder().isComplete()).isTrue();
    assertThatThrownBy(
            () -> decode(exact + "a" + fits.substring(exact.length()), 4096, false, false))
        .hasMessageContaining("larger than");
  }

  @Test
  void trailerBlockHasTheSameLimit() {
    String head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    String trailers = ("X-T: " + "b".repeat(1000) + "\r\n").repeat(70);
    assertThat(failure(head + trailers + "\r\n").getMessage())
        .contains("trailer block larger than 65536 bytes");
  }

  @Test
  void endOfInputTooEarlyIsAReceiveError() {
    HttpException head = failure("HTTP/1.1 200 OK\r\nContent-Le");
    assertThat(head.stage()).isEqualTo("receive");
    assertThat(head.getMessage()).contains("before the response head was complete");
    HttpException body = failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
    assertThat(body.stage()).isEqualTo("receive");
    assertThat(body.getMessage()).contains("after 5 of 10 body bytes");
    HttpException chunked =
        failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    assertThat(chunked.getMessage()).contains("chunked body");
  }
}
