package dev.keepalive.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server {@code keepalive bench} runs when given no URL: the JDK's own HTTP/1.1 server
 * ({@code com.sun.net.httpserver}, in every JDK, nothing to install) on 127.0.0.1 and a free
 * port, with a fixed pool of handler threads, answering every request with a small body and
 * keeping the connection alive unless the client asks to close it.
 */
final class EmbeddedServer implements AutoCloseable {
  static final byte[] BODY = "Hello from keepalive\n".getBytes(StandardCharsets.US_ASCII);

  private final HttpServer server;
  private final ExecutorService handlers;

  private EmbeddedServer(HttpServer server, ExecutorService handlers) {
    this.server = server;
    this.handlers = handlers;
  }

  /** Starts it on 127.0.0.1, port 0 (a free one), with {@code threads} handler threads. */
  static EmbeddedServer start(int threads) throws IOException {
    // The JDK server leaves Nagle on by default; small responses then wait for delayed ACKs.
    // Read once, when the server's configuration class loads: set it before the first create().
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    // It also closes every idle connection above 200 (bench -c 5000 then reconnects all the
    // time), and a short accept backlog drops SYNs that are only retried a second later.
    if (System.getProperty("sun.net.httpserver.maxIdleConnections") == null) {
      System.setProperty("sun.net.httpserver.maxIdleConnections", "1000000");
    }
    InetAddress loopback = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    HttpServer server = HttpServer.create(new InetSocketAddress(loopback, 0), 65535);
    AtomicInteger n = new AtomicInteger();
    ExecutorService handlers = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "embedded-server-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(handlers);
    server.createContext("/", EmbeddedServer::handle);
    server.start();
    return new EmbeddedServer(server, handlers);
  }

  static void handle(HttpExchange exchange) throws IOException {
    try (exchange;
        InputStream in = exchange.getRequestBody()) {
      in.transferTo(OutputStream.nullOutputStream());
      exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=us-ascii");
      boolean head = exchange.getRequestMethod().equals("HEAD");
      exchange.sendResponseHeaders(200, head ? -1 : BODY.length);
      if (!head) {
        exchange.getResponseBody().write(BODY);
      }
    }
  }

  int port() {
    return server.getAddress().getPort();
  }

  String url() {
    return "http://127.0.0.1:" + port() + "/";
  }

  @Override
  public void close() {
    server.stop(0);
    handlers.shutdownNow();
  }
}
