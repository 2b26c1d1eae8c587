package dev.keepalive.http;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * A request body: text in a charset, bytes, a file, or a stream. Immutable, and sent again as it
 * was when the request is retried or redirected with its body (307, 308): a stream body is opened
 * anew from its supplier each time.
 *
 * <pre>{@code
 * HttpRequest r = HttpRequest.newBuilder(url)
 *     .method("PUT", RequestBody.ofFile(Path.of("data.bin")))
 *     .contentType("application/octet-stream").build();
 * }</pre>
 *
 * <p>A body of known {@link #length()} goes out with {@code Content-Length}; one of unknown
 * length (a stream without a length) with {@code Transfer-Encoding: chunked}. File and stream
 * bodies are read on a client thread as they are sent, never held in memory whole.
 */
public final class RequestBody {
  private final byte[] bytes;
  private final Path file;
  private final Supplier<? extends InputStream> stream;
  private final long length;
  private final Charset charset;

  private RequestBody(
      byte[] bytes,
      Path file,
      Supplier<? extends InputStream> stream,
      long length,
      Charset charset) {
    this.bytes = bytes;
    this.file = file;
    this.stream = stream;
    this.length = length;
    this.charset = charset;
  }

  /**
   * {@code text} in UTF-8; its default Content-Type is {@code text/plain; charset=UTF-8}.
   *
   * @throws IllegalArgumentException if text is null
   */
  public static RequestBody ofString(String text) {
    return ofString(text, StandardCharsets.UTF_8);
  }

  /**
   * {@code text} in {@code charset} (characters it cannot encode become its replacement, as in
   * {@link String#getBytes(Charset)}); its default Content-Type is {@code text/plain;
   * charset=NAME}, and {@link HttpRequest.Builder#contentType} adds the charset to a media type
   * that names none.
   *
   * @throws IllegalArgumentException if text or charset is null
   */
  public static RequestBody ofString(String text, Charset charset) {
    if (text == null) {
      throw new IllegalArgumentException("text must not be null");
    }
    if (charset == null) {
      throw new IllegalArgumentException("charset must not be null");
    }
    byte[] b = text.getBytes(charset);
    return new RequestBody(b, null, null, b.length, charset);
  }

  /**
   * A copy of {@code bytes}.
   *
   * @throws IllegalArgumentException if bytes is null
   */
  public static RequestBody ofBytes(byte[] bytes) {
    if (bytes == null) {
      throw new IllegalArgumentException("bytes must not be null");
    }
    return new RequestBody(bytes.clone(), null, null, bytes.length, null);
  }

  /**
   * The content of {@code file}, read as it is sent; its length is taken when each attempt
   * starts (Content-Length), and a file that shrank or grew meanwhile fails the exchange (stage
   * "send").
   *
   * @throws IllegalArgumentException if file is null or not a readable regular file
   */
  public static RequestBody ofFile(Path file) {
    if (file == null) {
      throw new IllegalArgumentException("file must not be null");
    }
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new IllegalArgumentException("file must be a readable regular file, was " + file);
    }
    return new RequestBody(null, file, null, -1, null);
  }

  /**
   * A stream of unknown length, sent chunked; {@code supplier} gives a new stream for each
   * attempt (the client closes it).
   *
   * @throws IllegalArgumentException if supplier is null
   */
  public static RequestBody ofInputStream(Supplier<? extends InputStream> supplier) {
    return ofInputStream(supplier, -1);
  }

  /**
   * A stream of {@code length} bytes (-1: unknown, sent chunked), sent with Content-Length; a
   * stream that ends before {@code length} bytes, or has more, fails the exchange (stage "send").
   *
   * @throws IllegalArgumentException if supplier is null or length is below -1
   */
  public static RequestBody ofInputStream(Supplier<? extends InputStream> supplier, long length) {
    if (supplier == null) {
      throw new IllegalArgumentException("supplier must not be null");
    }
    if (length < -1) {
      throw new IllegalArgumentException("length must be >= -1, was " + length);
    }
    return new RequestBody(null, null, supplier, length, null);
  }

  /**
   * The body's length in bytes: known for text and bytes, the file's current size for a file,
   * -1 for a stream of unknown length (sent chunked) or a file whose size cannot be read.
   */
  public long length() {
    if (file != null) {
      try {
        return Files.size(file);
      } catch (IOException e) {
        return -1;
      }
    }
    return length;
  }

  /** The charset of a text body, or null for any other. */
  public Charset charset() {
    return charset;
  }

  /** The Content-Type sent unless the request sets one: for text only, else null. */
  public String contentType() {
    return charset == null ? null : "text/plain; charset=" + charset.name();
  }

  @Override
  public String toString() {
    if (bytes != null) {
      return "RequestBody[" + bytes.length + " bytes" + (charset == null ? "" : ", " + charset)
          + "]";
    }
    if (file != null) {
      return "RequestBody[file " + file + "]";
    }
    return "RequestBody[stream" + (length < 0 ? "" : ", " + length + " bytes") + "]";
  }

  // ---- for the client ----

  /** The bytes themselves (not copied) of an in-memory body, else null. */
  byte[] bytes() {
    return bytes;
  }

  /** The length the next attempt sends, read now for a file; -1 for chunked. */
  long lengthForSending() throws IOException {
    return file != null ? Files.size(file) : length;
  }

  /** A new stream over the body. */
  InputStream open() throws IOException {
    if (bytes != null) {
      return new ByteArrayInputStream(bytes);
    }
    if (file != null) {
      return Files.newInputStream(file);
    }
    InputStream in = stream.get();
    if (in == null) {
      throw new IOException("the body's stream supplier returned null");
    }
    return in;
  }
}
