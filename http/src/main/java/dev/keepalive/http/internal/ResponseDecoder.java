package dev.keepalive.http.internal;

import dev.keepalive.http.HttpException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An incremental HTTP/1.1 response decoder (RFC 9112) for one request: feed it whatever bytes
 * arrived, in any split, and it tells when the head is complete, hands out the body as slices of
 * the input (no copy), and tells when the message is complete and whether its framing lets the
 * connection be reused.
 *
 * <pre>{@code
 * if (!d.headDone() && !d.parseHead(in)) return;          // need more input
 * for (ByteBuffer s; (s = d.readBody(in, max)) != null; ) consume(s);
 * if (d.isComplete()) ... d.reusable(), in.hasRemaining() (extra bytes: not reusable)
 * }</pre>
 *
 * <p>Interim (1xx) responses are skipped (101 is an error: no upgrade is ever asked for). Body
 * framing follows RFC 9112 6.3: none for HEAD, 204 and 304; Transfer-Encoding with chunked last
 * is chunked (trailers kept), any other Transfer-Encoding is close-delimited; else
 * Content-Length; else close-delimited. Chunk lines are strict (RFC 9112 7.1): CRLF only, only
 * whitespace before a ';' after the size, extension grammar checked. Tolerated where the RFC
 * allows: a bare LF ending the status line or a field (2.2), obs-fold (5.2), empty lines between
 * an interim response and the next status line. Limits: the head (status line and fields, each 1xx head
 * counted on its own) and the trailer block each at most {@code maxHeaderBytes}. Malformed input
 * throws {@link HttpException} stage "parse"; input that ends early, stage "receive". Not
 * thread-safe: one reader at a time.
 */
public final class ResponseDecoder {
  /** The body's framing, known once the head is complete. */
  public enum Framing {
    NONE,
    LENGTH,
    CHUNKED,
    UNTIL_CLOSE
  }

  private static final int STATUS = 0;
  private static final int FIELDS = 1;
  private static final int BODY = 2;
  private static final int CHUNK_SIZE = 3;
  private static final int CHUNK_DATA = 4;
  private static final int CHUNK_END = 5;
  private static final int TRAILERS = 6;
  private static final int DONE = 7;

  private static final int MAX_INTERIM = 100;
  /** Longest chunk-size line (size and extensions). */
  private static final int MAX_CHUNK_LINE = 4096;

  private final int maxHeaderBytes;
  private final boolean headRequest;

  private int state = STATUS;
  private byte[] line = new byte[128];
  private int lineLen;
  /** Whether the last complete line ended with CRLF (not a bare LF). */
  private boolean lineHadCr;
  /** Bytes of the current head (or trailer block), line ends included. */
  private int blockBytes;

  private int interim;
  private boolean sawContinue;

  private int minorVersion;
  private int status;
  private String reason;
  private List<String> fields = new ArrayList<>(32);
  private List<String> trailers;
  private Framing framing;
  private long contentLength = -1;
  /** Body bytes left: of the Content-Length, or of the current chunk. */
  private long remaining;

  private long bodyBytes;
  private boolean reusable;
  private long keepAliveTimeoutSeconds = -1;
  private long keepAliveMax = -1;

  /**
   * @param maxHeaderBytes most bytes of one response head, and of the trailer block
   * @param headRequest true when the request was HEAD (the response then has no body)
   */
  public ResponseDecoder(int maxHeaderBytes, boolean headRequest) {
    if (maxHeaderBytes < 16) {
      throw new IllegalArgumentException("maxHeaderBytes must be >= 16, was " + maxHeaderBytes);
    }
    this.maxHeaderBytes = maxHeaderBytes;
    this.headRequest = headRequest;
  }

  // ---- results ----

  public boolean headDone() {
    return state >= BODY;
  }

  public boolean isComplete() {
    return state == DONE;
  }

  /** Status of the final response (after the head). */
  public int status() {
    return status;
  }

  /** The reason phrase, possibly empty. */
  public String reason() {
    return reason;
  }

  /** "HTTP/1.1" or "HTTP/1.0". */
  public String version() {
    return minorVersion == 0 ? "HTTP/1.0" : "HTTP/1.1";
  }

  /** The final response's fields as alternating names and values; the caller may keep it. */
  public List<String> fields() {
    return fields;
  }

  /** The trailer fields as alternating names and values (empty when none). */
  public List<String> trailers() {
    return trailers == null ? List.of() : trailers;
  }

  public Framing framing() {
    return framing;
  }

  /** The Content-Length when the body is framed by it, else -1. */
  public long contentLength() {
    return framing == Framing.LENGTH ? contentLength : -1;
  }

  /** Body bytes handed out so far. */
  public long bodyBytes() {
    return bodyBytes;
  }

  /** True once a 100 (Continue) interim response was read. */
  public boolean sawContinue() {
    return sawContinue;
  }

  /** How many interim (1xx) responses were skipped. */
  public int interimCount() {
    return interim;
  }

  /**
   * True when the response is complete and nothing in its framing or fields forbids reusing the
   * connection: HTTP/1.1 without "Connection: close", or HTTP/1.0 with "Connection: keep-alive";
   * a length-framed or chunked body (not close-delimited); not both Transfer-Encoding and
   * Content-Length. The caller still checks for bytes beyond the message.
   */
  public boolean reusable() {
    return state == DONE && reusable;
  }

  /** The server's "Keep-Alive: timeout=N" in seconds, or -1 when it sent none. */
  public long keepAliveTimeoutSeconds() {
    return keepAliveTimeoutSeconds;
  }

  /** The server's "Keep-Alive: max=N" (requests it still takes on the connection), or -1. */
  public long keepAliveMax() {
    return keepAliveMax;
  }

  // ---- head ----

  /**
   * Consumes head bytes from {@code in}; true once the final response's head is complete (the
   * rest of {@code in} is then body), false when more input is needed (all of {@code in} was
   * consumed).
   */
  public boolean parseHead(ByteBuffer in) throws HttpException {
    while (state < BODY) {
      if (!readHeadLine(in)) {
        return false;
      }
      if (state == STATUS) {
        if (lineLen == 0 && interim > 0) {
          continue; // an empty line after an interim response: tolerated (RFC 9112 2.2)
        }
        parseStatusLine();
        state = FIELDS;
      } else if (lineLen == 0) {
        endOfHead();
      } else {
        parseField(fields, "header");
      }
      lineLen = 0;
    }
    return true;
  }

  private boolean readHeadLine(ByteBuffer in) throws HttpException {
    int before = in.remaining();
    int r = readLine(in, maxHeaderBytes - blockBytes);
    blockBytes += before - in.remaining();
    if (r < 0 || (r == 0 && blockBytes >= maxHeaderBytes)) {
      throw tooLarge();
    }
    return r > 0;
  }

  private HttpException tooLarge() {
    return new HttpException(
        "parse",
        "response " + (state == TRAILERS ? "trailer" : "header") + " block larger than "
            + maxHeaderBytes + " bytes");
  }

  /**
   * Appends input up to and including the next LF to the line buffer, consuming at most
   * {@code maxConsume} bytes. 1 when the line is complete (its LF and an optional CR before it
   * are dropped from the buffer), 0 when {@code in} ran out first (all of it consumed), -1 when
   * the line does not end within {@code maxConsume} bytes (nothing consumed).
   */
  private int readLine(ByteBuffer in, int maxConsume) {
    int pos = in.position();
    int lim = in.limit();
    int scanEnd = (int) Math.min(lim, (long) pos + Math.max(0, maxConsume));
    int i = pos;
    while (i < scanEnd && in.get(i) != '\n') {
      i++;
    }
    boolean found = i < scanEnd;
    if (!found && scanEnd < lim) {
      return -1;
    }
    int n = i - pos;
    if (lineLen + n > line.length) {
      line = Arrays.copyOf(line, Math.max(line.length * 2, lineLen + n));
    }
    in.get(line, lineLen, n);
    lineLen += n;
    if (!found) {
      return 0;
    }
    in.get(); // the LF
    lineHadCr = lineLen > 0 && line[lineLen - 1] == '\r';
    if (lineHadCr) {
      lineLen--;
    }
    return 1;
  }

  private void parseStatusLine() throws HttpException {
    byte[] b = line;
    int n = lineLen;
    // HTTP-version SP status-code SP [ reason-phrase ]; a missing SP after the code is tolerated
    if (n < 12
        || b[0] != 'H'
        || b[1] != 'T'
        || b[2] != 'T'
        || b[3] != 'P'
        || b[4] != '/'
        || !digit(b[5])
        || b[6] != '.'
        || !digit(b[7])
        || b[8] != ' ') {
      throw badStatusLine();
    }
    if (b[5] != '1') {
      throw new HttpException(
          "parse", "unsupported HTTP version in status line " + Syntax.show(b, 0, n));
    }
    if (!digit(b[9]) || !digit(b[10]) || !digit(b[11]) || (n > 12 && b[12] != ' ')) {
      throw badStatusLine();
    }
    for (int i = 13; i < n; i++) {
      int c = b[i] & 0xff;
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        throw badStatusLine();
      }
    }
    minorVersion = b[7] - '0';
    status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    if (status < 100) {
      throw badStatusLine();
    }
    reason = n > 13 ? new String(b, 13, n - 13, StandardCharsets.ISO_8859_1) : "";
  }

  private HttpException badStatusLine() {
    return new HttpException("parse", "malformed status line " + Syntax.show(line, 0, lineLen));
  }

  private static boolean digit(byte c) {
    return c >= '0' && c <= '9';
  }

  /** Parses the line as "name: value" into {@code into}; a line starting with SP/HTAB folds. */
  private void parseField(List<String> into, String what) throws HttpException {
    byte[] b = line;
    int n = lineLen;
    if (b[0] == ' ' || b[0] == '\t') {
      // obs-fold (RFC 9112 5.2): replace with SP and join to the previous value
      if (into.isEmpty()) {
        throw new HttpException(
            "parse",
            "malformed " + what + " line (continuation of nothing) " + Syntax.show(b, 0, n));
      }
      String more = value(b, 0, n, what);
      int last = into.size() - 1;
      String prev = into.get(last);
      into.set(last, more.isEmpty() ? prev : prev.isEmpty() ? more : prev + ' ' + more);
      return;
    }
    int colon = 0;
    while (colon < n && Syntax.isTchar(b[colon])) {
      colon++;
    }
    if (colon == 0 || colon == n || b[colon] != ':') {
      throw new HttpException("parse", "malformed " + what + " line " + Syntax.show(b, 0, n));
    }
    into.add(new String(b, 0, colon, StandardCharsets.ISO_8859_1));
    into.add(value(b, colon + 1, n, what));
  }

  /** The field value in b[from, to), without surrounding whitespace; no control characters. */
  private String value(byte[] b, int from, int to, String what) throws HttpException {
    int s = from;
    int e = to;
    while (s < e && (b[s] == ' ' || b[s] == '\t')) {
      s++;
    }
    while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t')) {
      e--;
    }
    for (int i = s; i < e; i++) {
      int c = b[i] & 0xff;
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        throw new HttpException(
            "parse", "control character in " + what + " field " + Syntax.show(b, 0, lineLen));
      }
    }
    return new String(b, s, e - s, StandardCharsets.ISO_8859_1);
  }

  /** The empty line after the fields: skip an interim response, or decide the body's framing. */
  private void endOfHead() throws HttpException {
    if (status < 200) {
      if (status == 101) {
        throw new HttpException(
            "parse", "unexpected 101 Switching Protocols (no upgrade was " + "requested)");
      }
      if (status == 100) {
        sawContinue = true;
      }
      if (++interim > MAX_INTERIM) {
        throw new HttpException("parse", "more than " + MAX_INTERIM + " interim (1xx) responses");
      }
      fields.clear();
      blockBytes = 0;
      state = STATUS;
      return;
    }
    String transferEncoding = null;
    String contentLengthValue = null;
    boolean close = false;
    boolean keepAlive = false;
    for (int i = 0; i < fields.size(); i += 2) {
      String name = fields.get(i);
      String value = fields.get(i + 1);
      if (name.equalsIgnoreCase("Transfer-Encoding")) {
        transferEncoding = transferEncoding == null ? value : transferEncoding + ", " + value;
      } else if (name.equalsIgnoreCase("Content-Length")) {
        contentLengthValue = contentLengthValue == null ? value : contentLengthValue + "," + value;
      } else if (name.equalsIgnoreCase("Connection")) {
        close |= Syntax.hasToken(value, "close");
        keepAlive |= Syntax.hasToken(value, "keep-alive");
      } else if (name.equalsIgnoreCase("Keep-Alive")) {
        keepAliveTimeoutSeconds = keepAliveParameter(value, "timeout", keepAliveTimeoutSeconds);
        keepAliveMax = keepAliveParameter(value, "max", keepAliveMax);
      }
    }
    reusable = !close && (minorVersion >= 1 || keepAlive);
    if (headRequest || status == 204 || status == 304) {
      framing = Framing.NONE;
    } else if (transferEncoding != null) {
      if (lastCodingIsChunked(transferEncoding)) {
        framing = Framing.CHUNKED;
        // both framings, or chunked in HTTP/1.0: possible smuggling, never reuse (RFC 9112 6.1)
        if (contentLengthValue != null || minorVersion == 0) {
          reusable = false;
        }
      } else {
        framing = Framing.UNTIL_CLOSE;
        reusable = false;
      }
    } else if (contentLengthValue != null) {
      framing = Framing.LENGTH;
      contentLength = parseContentLength(contentLengthValue);
      remaining = contentLength;
    } else {
      framing = Framing.UNTIL_CLOSE;
      reusable = false;
    }
    switch (framing) {
      case NONE:
        state = DONE;
        break;
      case LENGTH:
        state = contentLength == 0 ? DONE : BODY;
        break;
      case CHUNKED:
        state = CHUNK_SIZE;
        break;
      default:
        state = BODY;
    }
  }

  private static boolean lastCodingIsChunked(String te) {
    int end = te.length();
    while (end > 0
        && (te.charAt(end - 1) == ' ' || te.charAt(end - 1) == '\t' || te.charAt(end - 1) == ',')) {
      end--;
    }
    int start = te.lastIndexOf(',', end - 1) + 1;
    String last = te.substring(start, end).trim();
    return last.equalsIgnoreCase("chunked");
  }

  /** One length from a (possibly repeated or listed) Content-Length: all values must agree. */
  private static long parseContentLength(String value) throws HttpException {
    long result = -1;
    for (String part : value.split(",", -1)) {
      String v = part.trim();
      if (v.isEmpty() || v.length() > 18) {
        throw badLength(value);
      }
      long n = 0;
      for (int i = 0; i < v.length(); i++) {
        char c = v.charAt(i);
        if (c < '0' || c > '9') {
          throw badLength(value);
        }
        n = n * 10 + (c - '0');
      }
      if (result >= 0 && n != result) {
        throw badLength(value);
      }
      result = n;
    }
    return result;
  }

  private static HttpException badLength(String value) {
    return new HttpException("parse", "invalid Content-Length \"" + value + "\"");
  }

  /**
   * A numeric parameter ("timeout" or "max") of a Keep-Alive field ("timeout=5, max=100");
   * {@code otherwise} if absent or not a number.
   */
  static long keepAliveParameter(String value, String name, long otherwise) {
    for (String part : value.split(",")) {
      String p = part.trim();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase(name)) {
        String v = p.substring(eq + 1).trim();
        if (v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') {
          v = v.substring(1, v.length() - 1);
        }
        if (!v.isEmpty() && v.length() <= 9 && v.chars().allMatch(c -> c >= '0' && c <= '9')) {
          return Long.parseLong(v);
        }
      }
    }
    return otherwise;
  }

  // ---- body ----

  /**
   * The next body bytes from {@code in}, at most {@code max}: a slice of {@code in} (valid as
   * long as its content is), {@code in} advanced past them; chunk framing and trailers are
   * consumed on the way. Null when {@code in} has no more body bytes for now or the message is
   * complete ({@link #isComplete()}).
   */
  public ByteBuffer readBody(ByteBuffer in, int max) throws HttpException {
    if (max <= 0) {
      throw new IllegalArgumentException("max must be positive");
    }
    while (true) {
      switch (state) {
        case BODY: {
          int n = Math.min(in.remaining(), max);
          if (framing == Framing.LENGTH) {
            n = (int) Math.min(n, remaining);
          }
          if (n == 0) {
            return null;
          }
          ByteBuffer slice = take(in, n);
          if (framing == Framing.LENGTH && (remaining -= n) == 0) {
            state = DONE;
          }
          return slice;
        }
        case CHUNK_SIZE:
          if (!readChunkLine(in, MAX_CHUNK_LINE, "chunk size line")) {
            return null;
          }
          remaining = parseChunkSize();
          lineLen = 0;
          if (remaining == 0) {
            state = TRAILERS;
            blockBytes = 0;
          } else {
            state = CHUNK_DATA;
          }
          break;
        case CHUNK_DATA: {
          int n = (int) Math.min(Math.min(in.remaining(), max), remaining);
          if (n == 0) {
            return null;
          }
          ByteBuffer slice = take(in, n);
          if ((remaining -= n) == 0) {
            state = CHUNK_END;
          }
          return slice;
        }
        case CHUNK_END:
          if (!readChunkLine(in, 2, "CRLF after chunk data")) {
            return null;
          }
          if (lineLen != 0) {
            throw new HttpException(
                "parse", "CRLF expected after chunk data, got " + Syntax.show(line, 0, lineLen));
          }
          state = CHUNK_SIZE;
          break;
        case TRAILERS:
          if (!readHeadLine(in)) {
            return null;
          }
          if (lineLen == 0) {
            state = DONE;
          } else {
            if (trailers == null) {
              trailers = new ArrayList<>(4);
            }
            parseField(trailers, "trailer");
          }
          lineLen = 0;
          break;
        default:
          return null;
      }
    }
  }

  private ByteBuffer take(ByteBuffer in, int n) {
    int p = in.position();
    ByteBuffer slice = in.slice(p, n);
    in.position(p + n);
    bodyBytes += n;
    return slice;
  }

  /** Reads a chunk-size line or the CRLF after chunk data, at most {@code budget} bytes in all. */
  private boolean readChunkLine(ByteBuffer in, int budget, String what) throws HttpException {
    int r = readLine(in, budget - lineLen); // lineLen: this line's bytes consumed so far
    if (r < 0) {
      if (state == CHUNK_END) {
        byte[] got = Arrays.copyOf(line, lineLen + Math.min(in.remaining(), 8));
        in.get(in.position(), got, lineLen, got.length - lineLen);
        throw new HttpException(
            "parse", "CRLF expected after chunk data, got " + Syntax.show(got, 0, got.length));
      }
      throw new HttpException("parse", what + " longer than " + budget + " bytes");
    }
    if (r > 0 && !lineHadCr) {
      // RFC 9112 7.1 frames chunks with CRLF; the bare-LF leniency of 2.2 is for the start line
      // and fields only (a lenient chunk parser is a request-smuggling vector)
      throw new HttpException(
          "parse", what + " ends with a bare LF, not CRLF: " + Syntax.show(line, 0, lineLen));
    }
    return r > 0;
  }

  /**
   * chunk-size [ chunk-ext ] (RFC 9112 7.1): 1*HEXDIG (leading zeros aside, at most 15 digits),
   * then {@code *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )} with a token
   * name and a token or quoted-string value. Whitespace may follow the size only before a ';'.
   * Extensions are checked, then ignored.
   */
  private long parseChunkSize() throws HttpException {
    byte[] b = line;
    int n = lineLen;
    int i = 0;
    long size = 0;
    int digits = 0;
    while (i < n && hex(b[i]) >= 0) {
      if (size != 0 || hex(b[i]) != 0) {
        if (++digits > 15) {
          throw new HttpException("parse", "chunk size too large " + Syntax.show(b, 0, n));
        }
      }
      size = size * 16 + hex(b[i]);
      i++;
    }
    if (i == 0) {
      throw new HttpException("parse", "bad chunk size " + Syntax.show(b, 0, n));
    }
    if (i < n) {
      int semi = skipWhite(b, i, n);
      if (semi == n || b[semi] != ';') {
        throw new HttpException(
            "parse",
            "bad chunk size " + Syntax.show(b, 0, n)
                + " (only whitespace before ';' and an extension may follow the size)");
      }
      parseChunkExtensions(b, i, n);
    }
    return size;
  }

  private void parseChunkExtensions(byte[] b, int from, int n) throws HttpException {
    int i = from;
    while (i < n) {
      i = skipWhite(b, i, n);
      if (i == n || b[i] != ';') {
        throw badExtension(b, n, "';' expected");
      }
      i = skipWhite(b, i + 1, n);
      int name = i;
      while (i < n && Syntax.isTchar(b[i])) {
        i++;
      }
      if (i == name) {
        throw badExtension(b, n, "extension name (a token) expected");
      }
      int eq = skipWhite(b, i, n);
      if (eq < n && b[eq] == '=') {
        i = skipWhite(b, eq + 1, n);
        if (i < n && b[i] == '"') {
          i = endOfQuoted(b, i, n);
        } else {
          int value = i;
          while (i < n && Syntax.isTchar(b[i])) {
            i++;
          }
          if (i == value) {
            throw badExtension(b, n, "extension value (a token or quoted string) expected");
          }
        }
      }
    }
  }

  /** The index after the quoted-string starting at {@code b[from]} (a DQUOTE). */
  private int endOfQuoted(byte[] b, int from, int n) throws HttpException {
    int i = from + 1;
    while (i < n) {
      int c = b[i] & 0xff;
      if (c == '"') {
        return i + 1;
      }
      if (c == '\\') {
        int q = i + 1 < n ? b[i + 1] & 0xff : -1;
        if (q == '\t' || (q >= 0x20 && q != 0x7f)) {
          i += 2;
          continue;
        }
        throw badExtension(b, n, "bad quoted-pair");
      }
      if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
        i++;
        continue;
      }
      throw badExtension(b, n, "control character in a quoted string");
    }
    throw badExtension(b, n, "unterminated quoted string");
  }

  private static int skipWhite(byte[] b, int i, int n) {
    while (i < n && (b[i] == ' ' || b[i] == '\t')) {
      i++;
    }
    return i;
  }

  private static HttpException badExtension(byte[] b, int n, String why) {
    return new HttpException(
        "parse", "bad chunk extension in " + Syntax.show(b, 0, n) + ": " + why);
  }

  private static int hex(byte c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  // ---- end of input ----

  /**
   * The peer closed the connection. Completes a close-delimited body; otherwise throws
   * HttpException stage "receive" (the response was cut short).
   */
  public void endOfInput() throws HttpException {
    if (state == DONE) {
      return;
    }
    if (state == BODY && framing == Framing.UNTIL_CLOSE) {
      state = DONE;
      return;
    }
    String where;
    if (state < BODY) {
      where = "before the response head was complete";
    } else if (framing == Framing.LENGTH) {
      where = "after " + (contentLength - remaining) + " of " + contentLength + " body bytes";
    } else if (state == TRAILERS) {
      where = "in the trailers of a chunked body";
    } else {
      where = "in the middle of a chunked body, after " + bodyBytes + " body bytes";
    }
    throw new HttpException("receive", "connection closed " + where);
  }
}
