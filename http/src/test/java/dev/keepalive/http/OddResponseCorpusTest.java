package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testkit.HttpScriptServer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A corpus of odd responses: each is fed to the decoder at every split (1 byte at a time up to
 * the whole), and over a real socket through the client; the strict rules of RFC 9112 7.1 for
 * chunk lines reject, the robustness the RFC allows accepts.
 */
class OddResponseCorpusTest extends HttpTestBase {
  private static final String CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

  /** A chunked response whose one chunk, "hello", has the chunk line {@code line}. */
  private static String helloAfter(String line) {
    return CHUNKED + line + "\r\nhello\r\n0\r\n\r\n";
  }

  /** Accepted: the wire and the body it must give. */
  static Stream<Arguments> accepted() {
    return Stream.of(
        Arguments.of("extension, token value", helloAfter("5;name=value"), "hello"),
        Arguments.of("extension, no value", helloAfter("5;flag"), "hello"),
        Arguments.of(
            "several extensions", CHUNKED + "5;a=1;b;c=x\r\nhello\r\n0;d\r\n\r\n", "hello"),
        Arguments.of("whitespace before ';' and around '='", helloAfter("5 \t; a = 1 ;b"), "hello"),
        Arguments.of(
            "quoted extension value with quoted-pairs and ';'",
            helloAfter("5;q=\"a \\\"quoted\\\" ;value\""),
            "hello"),
        Arguments.of("quoted empty value", helloAfter("5;q=\"\""), "hello"),
        Arguments.of(
            "leading zeros in sizes",
            CHUNKED + "00000000000000005\r\nhello\r\n000\r\n\r\n",
            "hello"),
        Arguments.of(
            "upper- and lower-case hex",
            CHUNKED + "a\r\n0123456789\r\nA\r\n0123456789\r\n" + "0\r\n\r\n",
            "01234567890123456789"),
        Arguments.of("trailers", CHUNKED + "2\r\nok\r\n0\r\nX-T: 1\r\n\r\n", "ok"),
        Arguments.of(
            "empty line after a 100",
            "HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "ok"),
        Arguments.of(
            "empty lines after a 103",
            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "ok"),
        Arguments.of(
            "bare LF line ends in the head (RFC 9112 2.2)",
            "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
            "ok"),
        Arguments.of(
            "status line without reason", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", "ok"),
        Arguments.of(
            "obs-fold in a field",
            "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n" + "Content-Length: 2\r\n\r\nok",
            "ok"),
        Arguments.of("obs-text in an extension", helloAfter("5;q=\"\u00e9\""), "hello"));
  }

  /** Rejected: the wire and words of the error. */
  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of(
            "whitespace after the size, no ';'", helloAfter("5 "), "only whitespace before ';'"),
        Arguments.of("junk after the size", helloAfter("5x"), "bad chunk size"),
        Arguments.of("0x prefix", helloAfter("0x5"), "bad chunk size"),
        Arguments.of("empty extension name", helloAfter("5;"), "extension name"),
        Arguments.of("'=' without a name", helloAfter("5;=x"), "extension name"),
        Arguments.of("name without a value after '='", helloAfter("5;a="), "extension value"),
        Arguments.of("value with a space", helloAfter("5;a=b c"), "';' expected"),
        Arguments.of("whitespace after the last extension", helloAfter("5;a "), "';' expected"),
        Arguments.of(
            "unterminated quoted value", helloAfter("5;a=\"open"), "unterminated quoted string"),
        Arguments.of("bad name character", helloAfter("5;a(b)=1"), "';' expected"),
        Arguments.of(
            "control character in a quoted value",
            helloAfter("5;a=\"x\u0001\""),
            "control character"),
        Arguments.of("bare LF after the size", CHUNKED + "5\nhello\r\n0\r\n\r\n", "bare LF"),
        Arguments.of("bare LF after the chunk data", CHUNKED + "5\r\nhello\n0\r\n\r\n", "bare LF"),
        Arguments.of("bare CR after the size", CHUNKED + "5\rhello\r\n0\r\n\r\n", "bad chunk size"),
        Arguments.of("size too large", CHUNKED + "1000000000000000\r\n", "chunk size too large"),
        Arguments.of(
            "empty line before the first status line",
            "\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "malformed status line"),
        Arguments.of(
            "space before the colon",
            "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
            "malformed header line"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("accepted")
  void acceptedByTheDecoderAtEverySplit(String name, String wire, String body) throws Exception {
    for (int piece = 1; piece <= wire.length(); piece++) {
      ResponseDecoderTest.Decoded r = ResponseDecoderTest.decode(wire, piece, false, false);
      assertThat(r.decoder().isComplete()).as("%s, piece %d", name, piece).isTrue();
      assertThat(r.body()).as("%s, piece %d", name, piece).isEqualTo(body);
      assertThat(r.decoder().status()).isEqualTo(200);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void rejectedByTheDecoderAtEverySplit(String name, String wire, String words) {
    for (int piece = 1; piece <= wire.length(); piece++) {
      int p = piece;
      assertThatThrownBy(() -> ResponseDecoderTest.decode(wire, p, false, false))
          .as("%s, piece %d", name, piece)
          .isInstanceOfSatisfying(HttpException.class, e -> {
            assertThat(e.stage()).isEqualTo("parse");
            assertThat(e.getMessage()).contains(words);
          });
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("accepted")
  void acceptedOverASocket(String name, String wire, String body) throws Exception {
    HttpScriptServer s = answering(wire);
    assertThat(text(get(s.url("/")))).isEqualTo(body);
    HttpResponse streamed = client.sendStreaming(HttpRequest.get(s.url("/"))).get();
    assertThat(new String(
            streamed.bodyStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1))
        .isEqualTo(body);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void rejectedOverASocket(String name, String wire, String words) {
    HttpScriptServer s = answering(wire);
    assertThatThrownBy(() -> get(s.url("/"))).isInstanceOfSatisfying(HttpException.class, e -> {
      assertThat(e.stage()).isEqualTo("parse");
      assertThat(e.getMessage()).contains(words);
    });
    assertThat(s.connections()).isEqualTo(1);
  }
}
