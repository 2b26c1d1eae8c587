package dev.keepalive.http;

import dev.keepalive.FromCache;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.util.List;

/**
 * A final (non-1xx) response. From {@link HttpClient#send} and {@link HttpClient#sendBlocking}
 * its body is collected in memory ({@link #body()}); from {@link HttpClient#sendStreaming} it is
 * read through {@link #bodyStream()}, which the user must close.
 */
public final class HttpResponse {
  private final HttpRequest request;
  private final String version;
  private final int status;
  private final String reason;
  private final HttpHeaders headers;
  private volatile HttpHeaders trailers;
  private final byte[] body;
  private final StreamingBody stream;
  private final ContentDecoding.Stream decoded;
  private final FromCache servedBy;
  private final boolean retried;
  private volatile List<URI> redirects = List.of();

  HttpResponse(
      HttpRequest request,
      String version,
      int status,
      String reason,
      HttpHeaders headers,
      HttpHeaders trailers,
      byte[] body,
      StreamingBody stream,
      ContentDecoding.Stream decoded,
      FromCache servedBy,
      boolean retried) {
    this.request = request;
    this.version = version;
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.trailers = trailers;
    this.body = body;
    this.stream = stream;
    this.decoded = decoded;
    this.servedBy = servedBy;
    this.retried = retried;
  }

  /** The request this answers (after redirects: the last one, to {@link #uri()}). */
  public HttpRequest request() {
    return request;
  }

  /** Where the response came from: the URI of the last request, after any redirect. */
  public URI uri() {
    return request.uri();
  }

  /**
   * The URIs redirected from, in order (the first is the original request's); empty when no
   * redirect was followed.
   */
  public List<URI> redirects() {
    return redirects;
  }

  /** "HTTP/1.1" or "HTTP/1.0". */
  public String version() {
    return version;
  }

  public int status() {
    return status;
  }

  /** The reason phrase as sent (may be empty). */
  public String reason() {
    return reason;
  }

  public HttpHeaders headers() {
    return headers;
  }

  /**
   * Trailer fields of a chunked body; empty when there were none. For a streamed response they
   * are known once {@link #bodyStream()} reached its end (empty before).
   */
  public HttpHeaders trailers() {
    return trailers;
  }

  /**
   * The whole body (the array itself, not a copy); empty when there is none (HEAD, 204, 304).
   *
   * @throws IllegalStateException for a streamed response: read {@link #bodyStream()}
   */
  public byte[] body() {
    if (stream != null) {
      throw new IllegalStateException("the body of a streamed response is read from bodyStream()");
    }
    return body;
  }

  /**
   * The body as a stream. For a streamed response: the one stream over the connection; close it
   * when done (a stream closed before its end discards the connection, one read to its end has
   * already given the connection back). For a collected response: a new stream over
   * {@link #body()} each time.
   */
  public InputStream bodyStream() {
    if (decoded != null) {
      return decoded;
    }
    return stream != null ? stream : new ByteArrayInputStream(body);
  }

  /** How the connection that served this response was obtained: NEW, IMMEDIATE or DEFERRED. */
  public FromCache servedBy() {
    return servedBy;
  }

  /**
   * True when the first attempt failed on a reused connection before any response byte and the
   * (idempotent) request was sent again on a new connection, which served this response.
   */
  public boolean retried() {
    return retried;
  }

  /**
   * Body bytes: the collected body's length; for a streamed response the bytes read from
   * {@link #bodyStream()} so far (the whole body's length once it reached its end). Decoded
   * bytes when the client undid a gzip or deflate coding.
   */
  public long bodySize() {
    if (decoded != null) {
      return decoded.delivered();
    }
    return stream != null ? stream.delivered() : body.length;
  }

  void redirects(List<URI> from) {
    this.redirects = List.copyOf(from);
  }

  void trailers(HttpHeaders t) {
    this.trailers = t;
  }

  @Override
  public String toString() {
    return "HttpResponse[" + version + " " + status + (reason.isEmpty() ? "" : " " + reason) + ", "
        + request + ", " + servedBy + (retried ? ", retried" : "")
        + (redirects.isEmpty() ? "" : ", " + redirects.size() + " redirects") + "]";
  }
}
