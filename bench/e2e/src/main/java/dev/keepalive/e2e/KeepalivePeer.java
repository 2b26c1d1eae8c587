package dev.keepalive.e2e;

import dev.keepalive.ConnectionManager;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.time.Duration;

/**
 * keepalive's own HTTP client ({@code http/}) driven by this harness like the other Java peers,
 * as a cross-check of {@code keepalive bench} (which run-e2e.sh runs as the cli's own process):
 * one {@link ConnectionManager} with {@code keepalive bench}'s default settings (max per host =
 * the concurrency, max open = max(128, concurrency), keep-alive 15 s, the run's timeout) and the
 * harness's {@code SSLContext} (trusting the nginx CA), under one {@link HttpClient}. Two clients:
 *
 * <ul>
 *   <li>{@code keepalive-lib}: {@link HttpClient#sendBlocking} from one thread per worker, the
 *       way the harness drives the blocking peers (and the way {@code keepalive bench} worked
 *       before it moved to chains): every request crosses from its thread to the event loop and
 *       back.
 *   <li>{@code keepalive-async}: {@link HttpClient#send}, one chain per worker, each sending its
 *       next request from the previous one's completion, which runs on the manager's event loop:
 *       no worker threads, no hand-off. This is how {@code keepalive bench} runs its requests
 *       now (the cli's {@code Bench}), so it checks that the harness and {@code keepalive bench}
 *       measure the same thing.
 * </ul>
 *
 * Neither is in run-e2e.sh's default client list ({@code --clients} adds them).
 */
final class KeepalivePeer extends Peer {
  private final ConnectionManager manager;
  private final HttpClient client;
  private final HttpRequest request;

  KeepalivePeer(Config c, boolean async) {
    super(async);
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
  void sendAsync(java.util.function.BiConsumer<Long, Throwable> done) {
    complete(client.send(request), r -> result(r.status(), r.bodySize()), done);
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
