package dev.keepalive.e2e;

import dev.keepalive.ConnectionManager;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.time.Duration;

/**
 * keepalive's own client driven by this harness (a check that the harness and
 * {@code keepalive bench} measure the same thing): one ConnectionManager with max per host = the
 * concurrency, sendBlocking() from one thread per worker, as {@code keepalive bench} does
 * ("keepalive-lib"); or ("keepalive-async") send() with one chain per worker, each sending its
 * next request from the previous one's completion, on the manager's event loop: no worker
 * threads, no hand-off between threads.
 */
final class KeepalivePeer extends Peer {
  private final ConnectionManager manager;
  private final HttpClient client;
  private final HttpRequest request;
  private final boolean async;

  KeepalivePeer(Config c, boolean async) {
    this.async = async;
    Duration timeout = Duration.ofMillis(c.timeoutMillis());
    ConnectionManager.Builder b = ConnectionManager.builder()
        .maxPerHost(c.concurrency())
        .maxOpen(Math.max(128, c.concurrency()))
        .keepAlive(Duration.ofSeconds(15))
        .timeout(timeout);
    if (c.ssl() != null) {
      b.sslContext(c.ssl());
    }
    manager = b.build();
    client = HttpClient.create(manager);
    HttpRequest.Builder rb = HttpRequest.newBuilder(c.url()).timeout(timeout);
    if (!c.keepAlive()) {
      rb.header("Connection", "close");
    }
    request = rb.build();
  }

  @Override
  boolean async() {
    return async;
  }

  @Override
  void sendAsync(java.util.function.BiConsumer<Long, Throwable> done) {
    client.send(request).whenComplete((r, t) -> {
      if (t != null) {
        done.accept(null, t);
      } else {
        done.accept(result(r.status(), r.bodySize()), null);
      }
    });
  }

  @Override
  long send() throws Exception {
    HttpResponse r = client.sendBlocking(request);
    return result(r.status(), r.bodySize());
  }

  @Override
  public void close() {
    client.close();
    manager.close();
  }
}
