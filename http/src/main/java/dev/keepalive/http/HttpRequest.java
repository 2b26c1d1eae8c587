package dev.keepalive.http;

import dev.keepalive.Allocation;
import dev.keepalive.ProxyServer;
import dev.keepalive.http.internal.RequestEncoder;
import dev.keepalive.http.internal.Syntax;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * An HTTP request: method, http or https URL, header fields, an optional body and an optional
 * timeout. Immutable; make one with {@link #get}, {@link #head}, {@link #post} or
 * {@link #newBuilder}.
 *
 * <pre>{@code
 * HttpRequest r = HttpRequest.newBuilder("http://127.0.0.1:8080/items")
 *     .method("PUT").header("Content-Type", "application/json").body(json)
 *     .timeout(Duration.ofSeconds(5)).build();
 * }</pre>
 *
 * <p>The client adds Host (unless set here), User-Agent (unless set here) and Content-Length
 * (from the body; also "0" for an empty POST, PUT or PATCH). Content-Length and
 * Transfer-Encoding cannot be set by hand. Bad input throws {@link IllegalArgumentException}
 * naming the argument.
 */
public final class HttpRequest {
  private static final byte[] NO_BODY = new byte[0];

  private final String method;
  private final URI uri;
  private final HttpHeaders headers;
  private final RequestBody body;
  private final boolean expectContinue;
  private final boolean decompress;
  private final Duration timeout;
  private final Duration connectTimeout;
  private final Duration responseTimeout;
  // derived from the URL once
  private final String scheme;
  private final String host;
  private final int port;
  private final String target;
  private final String hostHeader;
  private final boolean connectionClose;
  private final boolean userAcceptEncoding;
  // Caches for a request sent again and again (a poll, a benchmark): the allocation (its pool
  // key parses and hashes the address once) and the encoded bytes, each for the last timeout or
  // User-Agent it was made with. Racing threads may each build one; any of them is right.
  private volatile Allocation allocation;
  private volatile Wire wire;

  /** The request's bytes as {@code userAgent}'s client sends them. */
  record Wire(
      String userAgent, boolean acceptEncoding, ProxyServer forward, byte[] head, byte[] body) {}

  private HttpRequest(Builder b) {
    this.method = b.method;
    this.uri = b.uri;
    List<String> fields = new ArrayList<>(b.headers);
    if (b.body != null && !HttpHeaders.wrap(fields).contains("Content-Type")) {
      String type = b.contentType != null ? b.contentType : b.body.contentType();
      if (type != null) {
        if (b.body.charset() != null && !type.toLowerCase(Locale.ROOT).contains("charset=")) {
          type = type + "; charset=" + b.body.charset().name();
        }
        fields.add("Content-Type");
        fields.add(type);
      }
    } else if (b.body == null && b.contentType != null) {
      fields.add("Content-Type");
      fields.add(b.contentType);
    }
    if (b.basicAuth != null && !HttpHeaders.wrap(fields).contains("Authorization")) {
      fields.add("Authorization");
      fields.add(b.basicAuth);
    }
    this.headers = HttpHeaders.wrap(fields);
    this.body = b.body;
    this.expectContinue = b.expectContinue;
    this.decompress = b.decompress;
    this.timeout = b.timeout;
    this.connectTimeout = b.connectTimeout;
    this.responseTimeout = b.responseTimeout;
    this.scheme = b.scheme;
    this.host = b.host;
    this.port = b.port;
    this.target = b.target;
    this.hostHeader = b.hostHeader;
    boolean close = false;
    for (int i = 0; i < headers.size(); i++) {
      if (headers.nameAt(i).equalsIgnoreCase("Connection")
          && Syntax.hasToken(headers.valueAt(i), "close")) {
        close = true;
      }
    }
    this.connectionClose = close;
    this.userAcceptEncoding = headers.contains("Accept-Encoding");
  }

  /** A GET of {@code url}. */
  public static HttpRequest get(String url) {
    return newBuilder(url).build();
  }

  /** A HEAD of {@code url}. */
  public static HttpRequest head(String url) {
    return newBuilder(url).method("HEAD").build();
  }

  /** A POST of {@code body} (may be null: empty) to {@code url}. */
  public static HttpRequest post(String url, byte[] body) {
    return newBuilder(url).method("POST").body(body).build();
  }

  /**
   * A POST of {@code text} in UTF-8 to {@code url} with Content-Type {@code contentType} (the
   * charset is added when it names none): {@code post(url, "application/json", json)}.
   *
   * @throws IllegalArgumentException if text or contentType is null or invalid, or url is bad
   */
  public static HttpRequest post(String url, String contentType, String text) {
    return newBuilder(url)
        .method("POST", RequestBody.ofString(text))
        .contentType(contentType)
        .build();
  }

  /**
   * A builder for a request to {@code url} (method GET until changed).
   *
   * @throws IllegalArgumentException if url is null, not a URI, not http or https, has no host,
   *     or carries user info
   */
  public static Builder newBuilder(String url) {
    return new Builder(url);
  }

  public String method() {
    return method;
  }

  public URI uri() {
    return uri;
  }

  /** The fields set on the builder (not those the client adds). */
  public HttpHeaders headers() {
    return headers;
  }

  /**
   * A copy of the body; empty when there is none.
   *
   * @throws IllegalStateException for a file or stream body (see {@link #requestBody()})
   */
  public byte[] body() {
    if (body == null) {
      return NO_BODY;
    }
    byte[] b = body.bytes();
    if (b == null) {
      throw new IllegalStateException("the body is a file or a stream: see requestBody()");
    }
    return b.clone();
  }

  /** True when a body was set (even an empty one). */
  public boolean hasBody() {
    return body != null;
  }

  /** The body as set, or null when there is none. */
  public RequestBody requestBody() {
    return body;
  }

  /**
   * False when the response is wanted as sent, without the client's transparent decoding (see
   * {@link Builder#decompress}).
   */
  public boolean decompress() {
    return decompress;
  }

  /** True when the request asks for {@code Expect: 100-continue} before its body. */
  public boolean expectContinue() {
    return expectContinue;
  }

  /** The request's own timeout, or null when the client's default applies. */
  public Duration timeout() {
    return timeout;
  }

  /** The request's own connect timeout, or null when the client's applies. */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  /** The request's own response timeout, or null when the client's applies. */
  public Duration responseTimeout() {
    return responseTimeout;
  }

  // ---- for the client ----

  /** "http" or "https". */
  String scheme() {
    return scheme;
  }

  /** The host as the manager takes it (IPv6 without brackets). */
  String host() {
    return host;
  }

  int port() {
    return port;
  }

  /** origin-form request-target: absolute path (at least "/") and query, ASCII. */
  String target() {
    return target;
  }

  /** The Host field the client sends when none was set. */
  String hostHeader() {
    return hostHeader;
  }

  /** True when the client should ask for, and undo, gzip or deflate. */
  boolean wantsDecoding(boolean clientDecompresses) {
    return clientDecompresses && decompress && !userAcceptEncoding;
  }

  /** True when a Connection field says close: the connection is not reused after. */
  boolean connectionClose() {
    return connectionClose;
  }

  /** The allocation for this request's origin with {@code timeout} (may be null). */
  Allocation allocation(Duration timeout) {
    Allocation a = allocation;
    if (a == null || !Objects.equals(a.timeout(), timeout)) {
      a = Allocation.to(scheme, host, port);
      if (timeout != null) {
        a = a.timeout(timeout);
      }
      allocation = a;
    }
    return a;
  }

  /**
   * The encoded request of an in-memory body (or none): the head, with the body when it is small
   * enough for one write ({@code body} null then), or the head and the body apart. Callers must
   * not change the arrays. Null for a file or stream body (see {@link #head}).
   */
  Wire wire(String userAgent, boolean acceptEncoding, ProxyServer forward, int smallBody) {
    Wire w = wire;
    if (w != null
        && w.userAgent().equals(userAgent)
        && w.acceptEncoding() == acceptEncoding
        && Objects.equals(w.forward(), forward)) {
      return w;
    }
    byte[] b = body == null ? null : body.bytes();
    if (body != null && b == null) {
      return null;
    }
    byte[] h = head(userAgent, acceptEncoding, forward, b == null ? -2 : b.length);
    if (b == null || b.length == 0) {
      w = new Wire(userAgent, acceptEncoding, forward, h, null);
    } else if (b.length <= smallBody && !expectContinue) {
      byte[] all = Arrays.copyOf(h, h.length + b.length);
      System.arraycopy(b, 0, all, h.length, b.length);
      w = new Wire(userAgent, acceptEncoding, forward, all, null);
    } else {
      w = new Wire(userAgent, acceptEncoding, forward, h, b);
    }
    wire = w;
    return w;
  }

  /** The value of a Basic Authorization (or Proxy-Authorization) field, RFC 7617 in UTF-8. */
  static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The request head for a body of {@code length} bytes: -1 for chunked, -2 for no body.
   * Expect: 100-continue is added when asked for and the body is not empty, Accept-Encoding when
   * {@code acceptEncoding}. Forwarded through the HTTP proxy {@code forward} (null: none): the
   * target in absolute form, and the proxy's credentials as Proxy-Authorization.
   */
  byte[] head(String userAgent, boolean acceptEncoding, ProxyServer forward, long length) {
    RequestEncoder head =
        new RequestEncoder(method, forward == null ? target : scheme + "://" + hostHeader + target);
    if (forward != null && forward.user() != null && !headers.contains("Proxy-Authorization")) {
      head.field("Proxy-Authorization", basic(forward.user(), forward.password()));
    }
    if (!headers.contains("Host")) {
      head.field("Host", hostHeader);
    }
    if (!headers.contains("User-Agent")) {
      head.field("User-Agent", userAgent);
    }
    for (int i = 0; i < headers.size(); i++) {
      head.field(headers.nameAt(i), headers.valueAt(i));
    }
    if (acceptEncoding) {
      head.field("Accept-Encoding", ContentDecoding.ACCEPT);
    }
    if (length >= 0) {
      head.field("Content-Length", Long.toString(length));
    } else if (length == -1) {
      head.field("Transfer-Encoding", "chunked");
    } else if (Syntax.expectsContent(method)) {
      head.field("Content-Length", "0");
    }
    if (expectContinue && length != 0 && length != -2 && !headers.contains("Expect")) {
      head.field("Expect", "100-continue");
    }
    return head.end();
  }

  /**
   * The request a redirect to {@code to} makes of this one: a GET without body (and without
   * Content-* fields) when {@code toGet}, else the same method and body; Authorization and Cookie
   * dropped when the origin changes, Host recomputed then.
   */
  HttpRequest redirect(URI to, boolean toGet) {
    Builder b = new Builder(to.toString());
    boolean sameOrigin = b.scheme.equals(scheme) && b.host.equalsIgnoreCase(host) && b.port == port;
    b.method(toGet && !method.equals("HEAD") ? "GET" : method);
    for (int i = 0; i < headers.size(); i++) {
      String name = headers.nameAt(i);
      String lower = name.toLowerCase(Locale.ROOT);
      if (toGet && lower.startsWith("content-")) {
        continue;
      }
      if (!sameOrigin
          && (lower.equals("authorization") || lower.equals("cookie") || lower.equals("host"))) {
        continue;
      }
      b.headers.add(name);
      b.headers.add(headers.valueAt(i));
    }
    if (!toGet) {
      b.body = body;
      b.expectContinue = expectContinue;
    }
    b.decompress = decompress;
    b.timeout = timeout;
    b.connectTimeout = connectTimeout;
    b.responseTimeout = responseTimeout;
    return new HttpRequest(b);
  }

  /** The in-memory body itself (not copied), or null. */
  byte[] bodyRef() {
    return body == null ? null : body.bytes();
  }

  @Override
  public String toString() {
    return method + " " + uri;
  }

  /** Builds a request; each setter checks its argument at once. */
  public static final class Builder {
    private final URI uri;
    private final String scheme;
    private final String host;
    private final int port;
    private final String target;
    private final String hostHeader;
    private String method = "GET";
    private final List<String> headers = new ArrayList<>();
    private RequestBody body;
    private String contentType;
    private boolean expectContinue;
    private boolean decompress = true;
    private String basicAuth;
    private Duration timeout;
    private Duration connectTimeout;
    private Duration responseTimeout;

    private Builder(String url) {
      if (url == null) {
        throw new IllegalArgumentException("url must not be null");
      }
      URI u;
      try {
        u = new URI(url);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("url is not a valid URI: " + e.getMessage(), e);
      }
      String s = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
      if (!"http".equals(s) && !"https".equals(s)) {
        throw new IllegalArgumentException(
            "url must start with http:// or https://, was \"" + url + "\"");
      }
      if (u.isOpaque() || u.getHost() == null || u.getHost().isEmpty()) {
        throw new IllegalArgumentException("url must name a host, was \"" + url + "\"");
      }
      if (u.getRawUserInfo() != null) {
        throw new IllegalArgumentException("url must not carry user info, was \"" + url + "\"");
      }
      URI ascii = URI.create(u.toASCIIString()); // non-ASCII path or query: UTF-8, %-encoded
      String rawPath = ascii.getRawPath();
      String rawQuery = ascii.getRawQuery();
      String t = rawPath == null || rawPath.isEmpty() ? "/" : rawPath;
      if (!t.startsWith("/")) {
        throw new IllegalArgumentException("url path must be absolute, was \"" + url + "\"");
      }
      if (rawQuery != null) {
        t = t + "?" + rawQuery;
      }
      int defaultPort = s.equals("https") ? 443 : 80;
      int p = u.getPort() == -1 ? defaultPort : u.getPort();
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("url port must be in 1..65535, was \"" + url + "\"");
      }
      String h = u.getHost(); // IPv6 literals come bracketed
      this.uri = u;
      this.scheme = s;
      this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
      this.port = p;
      this.target = t;
      this.hostHeader = p == defaultPort ? h : h + ":" + p;
    }

    /**
     * The method, a token ("GET", "POST", "PATCH", ...; case matters). CONNECT is not supported.
     *
     * @throws IllegalArgumentException if null, empty, not a token, or CONNECT
     */
    public Builder method(String method) {
      if (method == null) {
        throw new IllegalArgumentException("method must not be null");
      }
      if (!Syntax.isToken(method)) {
        throw new IllegalArgumentException("method must be a token (letters, digits, "
            + "!#$%&'*+-.^_`|~), was \"" + method + "\"");
      }
      if (method.equalsIgnoreCase("CONNECT")) {
        throw new IllegalArgumentException("method CONNECT is not supported");
      }
      this.method = method;
      return this;
    }

    /**
     * Adds a header field (a repeated name adds another field). Host and User-Agent set here
     * replace the client's.
     *
     * @throws IllegalArgumentException if the name is not a token, the value has control
     *     characters (CR, LF, NUL, ...), characters beyond ISO-8859-1 or surrounding whitespace,
     *     or the name is Content-Length or Transfer-Encoding (the client frames the body)
     */
    public Builder header(String name, String value) {
      if (name == null) {
        throw new IllegalArgumentException("header name must not be null");
      }
      if (!Syntax.isToken(name)) {
        throw new IllegalArgumentException("header name must be a token, was \"" + name + "\"");
      }
      if (value == null) {
        throw new IllegalArgumentException("header value of " + name + " must not be null");
      }
      if (!Syntax.isFieldValue(value)) {
        throw new IllegalArgumentException("header value of " + name + " has invalid characters "
            + "(control characters, beyond ISO-8859-1, or leading/trailing whitespace)");
      }
      if (name.equalsIgnoreCase("Content-Length") || name.equalsIgnoreCase("Transfer-Encoding")) {
        throw new IllegalArgumentException("header " + name + ": Content-Length and "
            + "Transfer-Encoding are set by the client from the body");
      }
      headers.add(name);
      headers.add(value);
      return this;
    }

    /** The body (copied); null for none. Sent with Content-Length. */
    public Builder body(byte[] body) {
      this.body = body == null ? null : RequestBody.ofBytes(body);
      return this;
    }

    /**
     * The body: text, bytes, a file or a stream (see {@link RequestBody}); null for none. A text
     * body brings its Content-Type unless one is set.
     */
    public Builder body(RequestBody body) {
      this.body = body;
      return this;
    }

    /** The method and the body at once: {@code .method("PUT", RequestBody.ofFile(path))}. */
    public Builder method(String method, RequestBody body) {
      return method(method).body(body);
    }

    /**
     * The Content-Type, a media type such as {@code "application/json"}; for a text body the
     * charset is appended when the media type names none. A Content-Type set with
     * {@link #header} wins.
     *
     * @throws IllegalArgumentException if null or not a valid field value
     */
    public Builder contentType(String mediaType) {
      if (mediaType == null || mediaType.isEmpty() || !Syntax.isFieldValue(mediaType)) {
        throw new IllegalArgumentException("contentType must be a non-empty field value, was "
            + (mediaType == null ? "null" : "\"" + mediaType + "\""));
      }
      this.contentType = mediaType;
      return this;
    }

    /**
     * Asks for {@code Expect: 100-continue} (default false): the head goes out alone, and the
     * body only after the server's 100 (Continue), or after the client's
     * {@link HttpClient.Builder#expectContinueTimeout} without an answer; a final status first
     * (401, 413, ...) means the body is never sent (the connection is then not reused). For
     * large uploads the server may refuse. Ignored for an empty body.
     */
    public Builder expectContinue(boolean expect) {
      this.expectContinue = expect;
      return this;
    }

    /**
     * How long the whole exchange may take: getting a connection, sending, and receiving the
     * response (for a streamed response: its head, then each read of the body); null for the
     * client's default.
     *
     * @throws IllegalArgumentException if zero or negative
     */
    public Builder timeout(Duration timeout) {
      this.timeout = checkTimeout(timeout);
      return this;
    }

    /**
     * How long this request may wait for a connection (see
     * {@link HttpClient.Builder#connectTimeout}); null for the client's.
     *
     * @throws IllegalArgumentException if zero or negative
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = checkTimeout(timeout);
      return this;
    }

    /**
     * How long this request waits for its response, and between two reads of it (see
     * {@link HttpClient.Builder#responseTimeout}); null for the client's.
     *
     * @throws IllegalArgumentException if zero or negative
     */
    public Builder responseTimeout(Duration timeout) {
      this.responseTimeout = checkTimeout(timeout);
      return this;
    }

    /**
     * Whether the client may ask for a compressed response and decode it (default true, when the
     * client's {@link HttpClient.Builder#decompress} allows it too): false gets the raw bytes, and
     * no Accept-Encoding is sent. An Accept-Encoding set with {@link #header} also turns it off:
     * the response then comes as the server sent it.
     */
    public Builder decompress(boolean decompress) {
      this.decompress = decompress;
      return this;
    }

    /**
     * Sends {@code Authorization: Basic} with {@code user} and {@code password} (RFC 7617, in
     * UTF-8), as given: no challenge is waited for. An Authorization set with {@link #header}
     * wins. Like any Authorization field it is not sent on when a redirect leaves the origin.
     * Basic credentials are only encoded, not encrypted: use https.
     *
     * @throws IllegalArgumentException if user or password is null, the user contains ':', or
     *     either contains control characters
     */
    public Builder basicAuth(String user, String password) {
      if (user == null) {
        throw new IllegalArgumentException("user must not be null");
      }
      if (password == null) {
        throw new IllegalArgumentException("password must not be null");
      }
      if (user.indexOf(':') >= 0) {
        throw new IllegalArgumentException("user must not contain ':' (RFC 7617)");
      }
      if (hasControl(user) || hasControl(password)) {
        throw new IllegalArgumentException("user and password must not contain control characters");
      }
      this.basicAuth = basic(user, password);
      return this;
    }

    private static boolean hasControl(String s) {
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c < 0x20 || c == 0x7f) {
          return true;
        }
      }
      return false;
    }

    public HttpRequest build() {
      return new HttpRequest(this);
    }
  }

  /** A request's or a client's timeout: null (none given) or positive; else throws. */
  static Duration checkTimeout(Duration timeout) {
    if (timeout != null && (timeout.isZero() || timeout.isNegative())) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    return timeout;
  }
}
