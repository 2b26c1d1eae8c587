package dev.keepalive.http;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipException;

/**
 * Transparent content decoding (gzip and deflate, with the JDK's java.util.zip): the client
 * asks for it with {@code Accept-Encoding: gzip, deflate} and undoes the one coding the server
 * applied. A decoded response loses its Content-Encoding and Content-Length fields (they
 * describe the bytes on the wire), as in OkHttp. "deflate" is the zlib format (RFC 9110 8.4.1.2);
 * raw deflate, which some servers send instead, is recognised too.
 */
final class ContentDecoding {
  /** The Accept-Encoding the client sends. */
  static final String ACCEPT = "gzip, deflate";

  private ContentDecoding() {}

  /** "gzip" or "deflate" when the response's one coding is one of those, else null. */
  static String coding(HttpHeaders headers) {
    List<String> all = headers.all("Content-Encoding");
    if (all.size() != 1) {
      return null;
    }
    String v = all.get(0).trim().toLowerCase(Locale.ROOT);
    if (v.equals("gzip") || v.equals("x-gzip")) {
      return "gzip";
    }
    if (v.equals("deflate")) {
      return "deflate";
    }
    return null;
  }

  /** The response fields without Content-Encoding and Content-Length. */
  static HttpHeaders decodedHeaders(HttpHeaders headers) {
    List<String> kept = new ArrayList<>(headers.size() * 2);
    for (int i = 0; i < headers.size(); i++) {
      String n = headers.nameAt(i);
      if (!n.equalsIgnoreCase("Content-Encoding") && !n.equalsIgnoreCase("Content-Length")) {
        kept.add(n);
        kept.add(headers.valueAt(i));
      }
    }
    return HttpHeaders.wrap(kept);
  }

  /** A stream decoding {@code raw} (built lazily: gzip reads its header at once). */
  static InputStream decoder(InputStream raw, String coding) throws IOException {
    PushbackInputStream in = new PushbackInputStream(raw, 2);
    int b0 = in.read();
    if (b0 < 0) {
      return InputStream.nullInputStream(); // an empty body stays empty
    }
    if (coding.equals("gzip")) {
      in.unread(b0);
      return new GZIPInputStream(in, 8192);
    }
    int b1 = in.read();
    if (b1 >= 0) {
      in.unread(b1);
    }
    in.unread(b0);
    boolean zlib = b1 >= 0 && (b0 & 0x0f) == 8 && ((b0 << 8) | b1) % 31 == 0;
    return new InflaterInputStream(in, new Inflater(!zlib), 8192);
  }

  /**
   * Decodes a collected body, at most {@code max} bytes.
   *
   * @throws HttpException stage "parse" when the body is not valid, stage "receive" when it
   *     decodes to more than {@code max} bytes
   */
  static byte[] decode(byte[] body, String coding, int max) throws HttpException {
    if (body.length == 0) {
      return body;
    }
    try (InputStream in = decoder(new ByteArrayInputStream(body), coding)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(body.length * 4, 1 << 20));
      byte[] buf = new byte[16 * 1024];
      int n;
      while ((n = in.read(buf)) >= 0) {
        if (n > max - out.size()) {
          throw new HttpException(
              "receive",
              "decoded response body longer than maxBodyBytes (" + max
                  + "); use sendStreaming for large bodies");
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    } catch (HttpException e) {
      throw e;
    } catch (IOException e) {
      throw failed(coding, e);
    }
  }

  static HttpException failed(String coding, IOException e) {
    String why =
        e instanceof ZipException || e instanceof EOFException ? e.getMessage() : e.toString();
    return new HttpException(
        "parse",
        "the response body could not be decoded (Content-Encoding: " + coding + "): " + why,
        e);
  }

  /** A streamed body, decoded as it is read; its end gives the connection back. */
  static final class Stream extends BodyStream {
    private final StreamingBody raw;
    private final String coding;
    private InputStream in;

    Stream(StreamingBody raw, String coding) {
      this.raw = raw;
      this.coding = coding;
    }

    @Override
    int readBody(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      int n;
      try {
        if (in == null) {
          in = decoder(raw, coding);
        }
        n = in.read(b, off, len);
      } catch (HttpException e) {
        throw e; // the transfer failed, not the decoding
      } catch (IOException e) {
        raw.close(); // not read to its end: the connection is discarded
        throw failed(coding, e);
      }
      if (n < 0) {
        // decoded to its end: read what is left of the body (a gzip trailer's remains, chunk
        // framing) so the connection can go back
        byte[] sink = new byte[512];
        while (raw.read(sink, 0, sink.length) >= 0) {
          // drain
        }
        return -1;
      }
      return n;
    }

    @Override
    void onClose() {
      raw.close();
    }
  }
}
