package dev.keepalive.cli;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import dev.keepalive.ProxyServer;
import dev.keepalive.http.HttpHeaders;
import dev.keepalive.http.HttpResponse;
import java.io.PrintWriter;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * What {@code keepalive get -v} prints on stderr for one response, as curl does: {@code * } lines
 * for what happened (the URL, the address connected to, how the connection was obtained, TLS),
 * {@code > } the request head as sent, {@code < } the response's status line and headers. Each
 * line starts with its marker and a label that does not change, so scripts can pick lines out.
 */
final class Verbose {
  private Verbose() {}

  /**
   * How one manager request got its connection, as {@link ConnectionListener#handedOut} told it.
   *
   * @param uses the socket's hand-outs, this one included
   */
  record HandOut(FromCache how, long waitNanos, long idleNanos, int uses) {}

  /**
   * Keeps each hand-out by its request id ({@link HttpResponse#allocationId()} names the one that
   * served a response). The events come on the manager's event loop; a get fetches a handful of
   * URLs, so one entry per request is kept until the command ends.
   */
  static final class HandOuts implements ConnectionListener {
    private final Map<Long, HandOut> byId = new ConcurrentHashMap<>();

    @Override
    public void handedOut(
        long requestId,
        Allocation request,
        ConnectionInfo socket,
        FromCache how,
        long waitNanos,
        long idleNanos) {
      byId.put(requestId, new HandOut(how, waitNanos, idleNanos, socket.uses()));
    }

    /** The hand-out of request {@code id}, or null when none was heard. */
    HandOut get(long id) {
      return byId.get(id);
    }
  }

  /** Prints what {@code -v} shows of {@code r}, fetched for {@code url}, on {@code err}. */
  static void print(
      PrintWriter err, String url, HttpResponse r, HandOut handOut, ClientOptions options) {
    err.println("* URL: " + url);
    int redirects = r.redirects().size();
    if (redirects > 0) {
      err.println("* Redirected to: " + r.uri() + " (" + redirects + " redirect"
          + (redirects == 1 ? "" : "s") + "; what follows is of the last request)");
    }
    ProxyServer proxy = options.proxies().select(r.uri());
    if (proxy != null) {
      err.println("* Proxy: " + proxy.type() + " " + hostPort(proxy.host(), proxy.port()));
    }
    InetSocketAddress remote = r.remoteAddress();
    if (remote != null) {
      err.println("* Connected to: " + address(remote) + (proxy != null ? " (the proxy)" : ""));
    } else if (options.unixSocket != null) {
      err.println("* Connected to: " + options.unixSocket + " (Unix domain socket)");
    }
    if (handOut != null) {
      err.println("* Connection obtained: " + handOut.how()
          + ", waited " + BenchReport.millis(handOut.waitNanos())
          + ", idle "
          + (handOut.how() == FromCache.NEW ? "-" : BenchReport.millis(handOut.idleNanos()))
          + ", use " + handOut.uses());
    } else {
      err.println("* Connection obtained: " + r.servedBy());
    }
    if (r.retried()) {
      err.println("* Retried: the reused connection failed before the response; sent again on a "
          + "new one");
    }
    SSLSession tls = r.sslSession();
    if (tls != null) {
      err.println("* TLS: " + tls.getProtocol() + ", " + tls.getCipherSuite());
      X509Certificate peer = peerCertificate(tls);
      if (peer != null) {
        err.println("* Certificate subject: " + peer.getSubjectX500Principal().getName());
        err.println("* Certificate issuer: " + peer.getIssuerX500Principal().getName());
        err.println("* Certificate expires: " + peer.getNotAfter().toInstant());
      }
    }
    for (String line : r.requestHead().split("\r\n", -1)) {
      if (!line.isEmpty()) {
        err.println("> " + line);
      }
    }
    err.println(">");
    err.println(
        "< " + r.version() + " " + r.status() + (r.reason().isEmpty() ? "" : " " + r.reason()));
    headers(err, "< ", r.headers());
    err.println("<");
    if (r.trailers() != null) {
      headers(err, "* Trailer: ", r.trailers());
    }
  }

  private static void headers(PrintWriter err, String prefix, HttpHeaders headers) {
    for (String name : headers.names()) {
      for (String value : headers.all(name)) {
        err.println(prefix + name + ": " + value);
      }
    }
  }

  private static X509Certificate peerCertificate(SSLSession tls) {
    try {
      Certificate[] chain = tls.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  /** "127.0.0.1:8080", "[::1]:8080": the address itself, without the name it was looked up by. */
  static String address(InetSocketAddress a) {
    if (a.getAddress() == null) {
      return hostPort(a.getHostString(), a.getPort());
    }
    String ip = a.getAddress().getHostAddress();
    return a.getAddress() instanceof Inet6Address
        ? "[" + ip + "]:" + a.getPort()
        : ip + ":" + a.getPort();
  }

  private static String hostPort(String host, int port) {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
