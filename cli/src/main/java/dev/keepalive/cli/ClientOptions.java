package dev.keepalive.cli;

import dev.keepalive.ConnectionListener;
import dev.keepalive.ConnectionManager;
import dev.keepalive.ProxyServer;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.ProxyConfig;
import dev.keepalive.http.RequestBody;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The connection manager's and the requests' settings, shared by every command. */
final class ClientOptions {
  @Option(
      names = "--max-per-host",
      paramLabel = "N",
      description = "Most connections to one host at once (bench: the concurrency; get: 4).")
  Integer maxPerHost;

  @Option(
      names = "--max-open",
      paramLabel = "N",
      description = "Most connections open at once, idle ones included (default: 128, or more "
          + "for a larger concurrency).")
  Integer maxOpen;

  @Option(
      names = "--keep-alive",
      paramLabel = "DURATION",
      description = "How long an idle connection is kept for reuse (default: 15s).")
  Duration keepAlive;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      description = "Time limit of one request: connecting and waiting for the response "
          + "(bench: 10s; get: 30s).")
  Duration timeout;

  @Option(
      names = {"-H", "--header"},
      paramLabel = "'NAME: VALUE'",
      description = "Adds a request header (repeatable).")
  List<String> headers = new ArrayList<>();

  @Option(
      names = {"-X", "--request"},
      paramLabel = "METHOD",
      description = "The request method (default: GET; get: POST with -d).")
  String method;

  @Option(
      names = {"-u", "--user"},
      paramLabel = "USER:PASSWORD",
      description = "Basic authentication (also from user:password@ in a URL).")
  String user;

  @Option(
      names = {"-x", "--proxy"},
      paramLabel = "URL",
      description = "Proxy: http://[user:password@]host[:port] (CONNECT tunnels for https, "
          + "forwarding for http) or socks5://... (default: the http_proxy, https_proxy, "
          + "all_proxy and no_proxy environment variables, as curl reads them).")
  String proxy;

  @Option(
      names = "--noproxy",
      paramLabel = "HOSTS",
      description = "Comma-separated hosts, domains, IPs or CIDR ranges reached without the "
          + "proxy ('*': none is).")
  String noProxy;

  @Option(
      names = "--unix-socket",
      paramLabel = "PATH",
      description = "Connect to this Unix domain socket instead of the URL's host and port.")
  Path unixSocket;

  @Option(
      names = {"-k", "--insecure"},
      description = "Accept any TLS certificate and host name (testing only).")
  boolean insecure;

  @Option(
      names = "--cacert",
      paramLabel = "FILE",
      description = "Trust the CA certificates in this PEM file instead of the JDK's.")
  Path caCert;

  @Option(names = "--debug", description = "Print the stack trace of every error.")
  boolean debug;

  /** Checks the values picocli cannot: throws a usage error (exit status 2) naming the option. */
  void validate(CommandSpec spec) {
    if (proxy != null) {
      try {
        ProxyServer.parse(proxy);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "-x '" + proxy + "': " + e.getMessage());
      }
    }
    try {
      proxies();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "proxy settings: " + e.getMessage());
    }
    if (caCert != null && !Files.isReadable(caCert)) {
      throw new ParameterException(spec.commandLine(), "--cacert " + caCert + ": not readable");
    }
    if (user != null && user.indexOf(':') < 0) {
      throw new ParameterException(spec.commandLine(), "-u must be USER:PASSWORD");
    }
    if (method != null) {
      try {
        HttpRequest.newBuilder("http://127.0.0.1/").method(method);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "-X '" + method + "': " + e.getMessage());
      }
    }
    if (maxPerHost != null && maxPerHost < 1) {
      throw new ParameterException(spec.commandLine(), "--max-per-host must be at least 1");
    }
    if (maxOpen != null && maxOpen < 1) {
      throw new ParameterException(spec.commandLine(), "--max-open must be at least 1");
    }
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0 || h.substring(0, colon).isBlank()) {
        throw new ParameterException(
            spec.commandLine(), "header '" + h + "' is not of the form 'NAME: VALUE'");
      }
      try {
        HttpRequest.newBuilder("http://127.0.0.1/")
            .header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "-H '" + h + "': " + e.getMessage());
      }
    }
  }

  ConnectionManager manager(int maxPerHost, int maxOpen, Duration timeout)
      throws IOException, GeneralSecurityException {
    return manager(maxPerHost, maxOpen, timeout, null);
  }

  /** The manager, with {@code listener} registered unless it is null. */
  ConnectionManager manager(
      int maxPerHost, int maxOpen, Duration timeout, ConnectionListener listener)
      throws IOException, GeneralSecurityException {
    ConnectionManager.Builder b = ConnectionManager.builder()
        .maxPerHost(maxPerHost)
        .maxOpen(maxOpen)
        .keepAlive(keepAlive == null ? Duration.ofSeconds(15) : keepAlive)
        .timeout(timeout);
    if (listener != null) {
      b.listener(listener);
    }
    if (insecure) {
      b.sslContext(trustingEverything());
      SSLParameters p = new SSLParameters();
      p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
      p.setEndpointIdentificationAlgorithm(null); // no host name check either
      b.sslParameters(p);
    } else if (caCert != null) {
      b.sslContext(trusting(caCert));
    }
    return b.build();
  }

  /** A client over {@code manager} with the proxy and socket options. */
  HttpClient client(ConnectionManager manager, boolean followRedirects, boolean decompress) {
    return HttpClient.builder(manager)
        .proxy(proxies())
        .unixSocket(unixSocket)
        .followRedirects(followRedirects ? HttpClient.Redirect.NORMAL : HttpClient.Redirect.NEVER)
        .decompress(decompress)
        .build();
  }

  /** The proxies: -x (with --noproxy), else the environment's (with --noproxy as no_proxy). */
  ProxyConfig proxies() {
    if (proxy != null) {
      return ProxyConfig.of(ProxyServer.parse(proxy), noProxy == null ? "" : noProxy);
    }
    Map<String, String> env = new HashMap<>(System.getenv());
    if (noProxy != null) {
      env.remove("NO_PROXY");
      env.put("no_proxy", noProxy);
    }
    return ProxyConfig.fromEnvironment(env);
  }

  private static SSLContext trusting(Path pem) throws IOException, GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca" + i++, c);
      }
      if (i == 0) {
        throw new GeneralSecurityException("no certificate in " + pem);
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  private static SSLContext trustingEverything() throws GeneralSecurityException {
    X509TrustManager all = new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {all}, new SecureRandom());
    return ctx;
  }

  Duration keepAliveOrDefault() {
    return keepAlive == null ? Duration.ofSeconds(15) : keepAlive;
  }

  /**
   * The request for {@code url}, with the headers, the timeout and, when {@code close}, a
   * "Connection: close" header (the server and the client then close the connection after it).
   *
   * @throws IllegalArgumentException if the URL is not a valid http or https URL
   */
  HttpRequest request(String url, String method, Duration timeout, boolean close) {
    return request(url, method, timeout, close, null);
  }

  /**
   * {@link #request(String, String, Duration, boolean)} with a body (null for none), the -X
   * method when given, and Basic authentication from -u or the URL's user:password@.
   */
  HttpRequest request(
      String url, String defaultMethod, Duration timeout, boolean close, RequestBody body) {
    String[] credentials = new String[1];
    String bare = withoutUserInfo(url, credentials);
    String m = method != null ? method : defaultMethod;
    HttpRequest.Builder b = body == null
        ? HttpRequest.newBuilder(bare).method(m)
        : HttpRequest.newBuilder(bare).method(m, body);
    b.timeout(timeout);
    String auth = user != null ? user : credentials[0];
    if (auth != null) {
      int colon = auth.indexOf(':');
      b.basicAuth(
          colon < 0 ? auth : auth.substring(0, colon), colon < 0 ? "" : auth.substring(colon + 1));
    }
    for (String h : headers) {
      int colon = h.indexOf(':');
      b.header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
    }
    if (close) {
      b.header("Connection", "close");
    }
    return b.build();
  }

  /** {@code url} without its user:password@ part, which goes (decoded) into {@code out[0]}. */
  static String withoutUserInfo(String url, String[] out) {
    URI u;
    try {
      u = new URI(url);
    } catch (URISyntaxException e) {
      return url; // the request builder says what is wrong with it
    }
    String info = u.getRawUserInfo();
    if (info == null || u.getRawAuthority() == null) {
      return url;
    }
    out[0] = URLDecoder.decode(info.replace("+", "%2B"), StandardCharsets.UTF_8);
    int at = url.indexOf(info + "@");
    return url.substring(0, at) + url.substring(at + info.length() + 1);
  }
}
