package dev.keepalive.http;

import dev.keepalive.FromCache;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SSLSession;

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
  // the connection that served it, set before the response is published (see served(...))
  private long allocationId;
  private InetSocketAddress remoteAddress;
  private SSLSession sslSession;
  private byte[] sentHead;

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
   * The id of the connection manager's request (the id {@link
   * dev.keepalive.ConnectionManager#allocate(dev.keepalive.Allocation,
   * java.util.function.Consumer)} returned) that got the connection which served this response:
   * the {@code requestId} of that request's {@link dev.keepalive.ConnectionListener} events (its
   * {@code handedOut}, with its wait and the socket's idle time), to tie them to this response.
   * After a retry, the second request's; after redirects, the last one's.
   */
  public long allocationId() {
    return allocationId;
  }

  /**
   * The address the connection that served this response was connected to (the proxy's through
   * a proxy), as it was while the response was read; null over a Unix domain socket.
   */
  public InetSocketAddress remoteAddress() {
    return remoteAddress;
  }

  /**
   * The TLS session of the connection that served this response (protocol, cipher suite, peer
   * certificates), or null when it was not TLS (http, or http forwarded through a proxy).
   */
  public SSLSession sslSession() {
    return sslSession;
  }

  /**
   * The request's head as this client wrote it on the connection: the request line and every
   * header field, the ones the client added included (Host, User-Agent, Content-Length,
   * Accept-Encoding...), each line ending in CRLF, the empty line that ends the head included.
   * Decoded as ISO-8859-1, the bytes sent. The request body is not part of it.
   */
  public String requestHead() {
    byte[] h = sentHead;
    if (h == null) {
      return "";
    }
    int end = h.length;
    for (int i = 3; i < h.length; i++) { // a small body may follow the head in the same array
      if (h[i] == '\n' && h[i - 1] == '\r' && h[i - 2] == '\n' && h[i - 3] == '\r') {
        end = i + 1;
        break;
      }
    }
    return new String(h, 0, end, StandardCharsets.ISO_8859_1);
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

  /**
   * Records the connection that served this response; called once, before the response is
   * published (completing its future publishes it to the reader).
   */
  void served(long allocationId, InetSocketAddress remote, SSLSession session, byte[] head) {
    this.allocationId = allocationId;
    this.remoteAddress = remote;
    this.sslSession = session;
    this.sentHead = head;
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
