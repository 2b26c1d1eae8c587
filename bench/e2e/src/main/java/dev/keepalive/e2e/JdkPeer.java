package dev.keepalive.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.BiConsumer;

/**
 * The JDK's java.net.http.HttpClient, HTTP/1.1, sendAsync() with BodyHandlers.ofByteArray();
 * its connection pool is unbounded (jdk.httpclient.connectionPoolSize 0). "Connection: close"
 * is a restricted header: Harness sets jdk.httpclient.allowRestrictedHeaders=connection before
 * the class loads.
 */
final class JdkPeer extends Peer {
  private final HttpClient client;
  private final HttpRequest request;

  JdkPeer(Config c) {
    super(true);
    HttpClient.Builder b = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofMillis(c.timeoutMillis()));
    if (c.ssl() != null) {
      b.sslContext(c.ssl());
    }
    client = b.build();
    HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(c.url()))
        .GET()
        .timeout(Duration.ofMillis(c.timeoutMillis()));
    if (!c.keepAlive()) {
      rb.header("Connection", "close");
    }
    request = rb.build();
  }

  @Override
  void sendAsync(BiConsumer<Long, Throwable> done) {
    complete(
        client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()),
        r -> result(r.statusCode(), r.body().length),
        done);
  }

  @Override
  public void close() {
    // java.net.http.HttpClient is AutoCloseable only from JDK 21; its threads are daemons
  }
}
