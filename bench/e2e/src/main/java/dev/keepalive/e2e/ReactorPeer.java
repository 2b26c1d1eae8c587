package dev.keepalive.e2e;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.time.Duration;
import java.util.function.BiConsumer;
import reactor.core.publisher.Mono;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * Reactor Netty's HttpClient: a ConnectionProvider with maxConnections = the concurrency,
 * HTTP/1.1, responseSingle() aggregating the body into a byte[], warmed up (event loops and
 * native transport loaded) before the run as its docs recommend.
 */
final class ReactorPeer extends Peer {
  private final ConnectionProvider provider;
  private final HttpClient client;
  private final String url;

  ReactorPeer(Config c) throws Exception {
    super(true);
    url = c.url();
    provider = ConnectionProvider.builder("e2e")
        .maxConnections(Math.max(1, c.concurrency()))
        .pendingAcquireMaxCount(-1)
        .pendingAcquireTimeout(Duration.ofMillis(c.timeoutMillis()))
        .build();
    HttpClient h = HttpClient.create(provider)
        .protocol(HttpProtocol.HTTP11)
        .responseTimeout(Duration.ofMillis(c.timeoutMillis()))
        .keepAlive(c.keepAlive());
    if (c.url().startsWith("https:")) {
      SslContext ssl =
          SslContextBuilder.forClient().trustManager(c.caFile().toFile()).build();
      h = h.secure(spec -> spec.sslContext(ssl));
    }
    client = h;
    client.warmup().block();
  }

  @Override
  void sendAsync(BiConsumer<Long, Throwable> done) {
    client
        .get()
        .uri(url)
        .responseSingle((r, body) -> body.asByteArray()
            .map(b -> result(r.status().code(), b.length))
            .switchIfEmpty(Mono.fromSupplier(() -> result(r.status().code(), 0))))
        .subscribe(v -> done.accept(v, null), t -> done.accept(null, t));
  }

  @Override
  public void close() {
    provider.disposeLater().block(Duration.ofSeconds(5));
  }
}
