package dev.keepalive.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keepalive.testkit.Loopback;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An HTTP/1.1 server on 127.0.0.1 for the tests (the JDK's), keeping connections alive:
 * {@code /missing} answers 404, {@code /big} 100,000 bytes, {@code /hang} nothing until the
 * server is closed, anything else 200 with {@link #BODY}. It counts requests and the distinct
 * client connections (remote address and port) it served. (For a server that does not speak TLS,
 * and for a refused port, see the kit's TlsServer.notTls() and Loopback.closedPort().)
 */
final class TestServer implements AutoCloseable, BeforeEachCallback, AfterEachCallback {
  static final byte[] BODY = "hello, world\n".getBytes(StandardCharsets.US_ASCII);
  static final int BIG = 100_000;

  private HttpServer server;
  private ExecutorService pool;
  private final Set<String> connections = ConcurrentHashMap.newKeySet();
  private final AtomicInteger requests = new AtomicInteger();
  private final CountDownLatch closed = new CountDownLatch(1);

  /**
   * A server started before each test and closed after it: a test class's
   * {@code @RegisterExtension final TestServer server = new TestServer();}.
   */
  TestServer() {}

  /** A server started now. */
  static TestServer start() throws IOException {
    TestServer s = new TestServer();
    s.open();
    return s;
  }

  private void open() throws IOException {
    // as EmbeddedServer does: without TCP_NODELAY the JDK server's small responses wait for
    // delayed ACKs (read once per JVM, when the server's configuration loads)
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = HttpServer.create(new InetSocketAddress(Loopback.ipv4(), 0), 256);
    pool = Executors.newFixedThreadPool(8, r -> {
      Thread t = new Thread(r, "test-server");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
  }

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    open();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    close();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange;
        InputStream in = exchange.getRequestBody()) {
      in.transferTo(OutputStream.nullOutputStream());
      requests.incrementAndGet();
      connections.add(exchange.getRemoteAddress().toString());
      String path = exchange.getRequestURI().getPath();
      byte[] body = BODY;
      int status = 200;
      if (path.equals("/missing")) {
        status = 404;
        body = "not found\n".getBytes(StandardCharsets.US_ASCII);
      } else if (path.equals("/big")) {
        body = new byte[BIG];
        Arrays.fill(body, (byte) 'x');
      } else if (path.equals("/hang")) {
        try {
          closed.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return;
      }
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.getResponseHeaders().set("X-Test", "yes");
      exchange.sendResponseHeaders(status, body.length);
      exchange.getResponseBody().write(body);
    }
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  int port() {
    return server.getAddress().getPort();
  }

  int requests() {
    return requests.get();
  }

  /** Distinct client connections served so far. */
  int connections() {
    return connections.size();
  }

  @Override
  public void close() {
    closed.countDown();
    server.stop(0);
    pool.shutdownNow();
  }
}
