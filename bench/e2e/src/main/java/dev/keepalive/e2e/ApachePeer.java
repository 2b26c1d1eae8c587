package dev.keepalive.e2e;

import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.apache.hc.client5.http.async.methods.SimpleHttpRequest;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.async.methods.SimpleRequestProducer;
import org.apache.hc.client5.http.async.methods.SimpleResponseConsumer;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.config.TlsConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManager;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.ClientTlsStrategyBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.HttpHeaders;
import org.apache.hc.core5.http2.HttpVersionPolicy;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.reactor.IOReactorConfig;
import org.apache.hc.core5.util.Timeout;

/**
 * Apache HttpClient 5, classic async client (HttpAsyncClients.custom()) over a
 * PoolingAsyncClientConnectionManager with max per route = max total = the concurrency, HTTP/1.1
 * only, one I/O reactor thread per core (the default), SimpleHttpRequest / SimpleResponseConsumer
 * (the whole body in memory, as the other clients).
 */
final class ApachePeer extends Peer {
  private final Config config;
  private final PoolingAsyncClientConnectionManager manager;
  private final CloseableHttpAsyncClient client;

  ApachePeer(Config c) {
    super(true);
    this.config = c;
    Timeout timeout = Timeout.ofMilliseconds(c.timeoutMillis());
    PoolingAsyncClientConnectionManagerBuilder mb =
        PoolingAsyncClientConnectionManagerBuilder.create()
            .setMaxConnTotal(Math.max(c.concurrency(), 20))
            .setMaxConnPerRoute(c.concurrency())
            .setDefaultConnectionConfig(ConnectionConfig.custom()
                .setConnectTimeout(timeout)
                .setSocketTimeout(timeout)
                .build())
            .setDefaultTlsConfig(TlsConfig.custom()
                .setVersionPolicy(HttpVersionPolicy.FORCE_HTTP_1)
                .build());
    if (c.ssl() != null) {
      mb.setTlsStrategy(ClientTlsStrategyBuilder.create().setSslContext(c.ssl()).buildAsync());
    }
    manager = mb.build();
    client = HttpAsyncClients.custom()
        .setConnectionManager(manager)
        .setIOReactorConfig(IOReactorConfig.custom().setSoTimeout(timeout).build())
        .setDefaultRequestConfig(RequestConfig.custom()
            .setConnectionRequestTimeout(timeout)
            .setResponseTimeout(timeout)
            .build())
        .disableAutomaticRetries()
        .build();
    client.start();
  }

  @Override
  void sendAsync(BiConsumer<Long, Throwable> done) {
    // a new request each time: the exec chain adds headers to the request object it is given
    SimpleRequestBuilder b = SimpleRequestBuilder.get(config.url());
    if (!config.keepAlive()) {
      b.addHeader(HttpHeaders.CONNECTION, "close");
    }
    SimpleHttpRequest request = b.build();
    client.execute(
        SimpleRequestProducer.create(request),
        SimpleResponseConsumer.create(),
        new FutureCallback<SimpleHttpResponse>() {
          @Override
          public void completed(SimpleHttpResponse r) {
            byte[] body = r.getBodyBytes();
            done.accept(result(r.getCode(), body == null ? 0 : body.length), null);
          }

          @Override
          public void failed(Exception e) {
            done.accept(null, e);
          }

          @Override
          public void cancelled() {
            done.accept(null, new java.util.concurrent.CancellationException());
          }
        });
  }

  @Override
  public void close() throws Exception {
    client.close(CloseMode.GRACEFUL);
    client.awaitShutdown(org.apache.hc.core5.util.TimeValue.of(5, TimeUnit.SECONDS));
  }
}
