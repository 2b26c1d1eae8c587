package dev.keepalive.bench.crawl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
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
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http2.HttpVersionPolicy;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * Apache HttpClient 5 async ({@code HttpAsyncClients.custom()}) over a
 * {@link PoolingAsyncClientConnectionManager} with max per route 2 and max total 1,000 (its default
 * STRICT pool, which closes the least recently used idle connection of another route to make room
 * at the total limit), HTTP/1.1 only, names looked up through {@link DnsjavaResolver#blocking()},
 * the default I/O reactor (one thread per core), whole bodies in memory. It shows no pool counts:
 * its connections opened are its DNS lookups (one per connect).
 */
final class ApacheCrawl implements CrawlClient {
  private final CloseableHttpAsyncClient client;
  private final PoolingAsyncClientConnectionManager manager;
  private final String[] urls;
  private final DnsjavaResolver dns;
  private long lastLookups;

  ApacheCrawl(CrawlMain.Options o, DnsjavaResolver dns) {
    this.dns = dns;
    Timeout timeout = Timeout.ofSeconds(o.timeoutSeconds);
    manager = PoolingAsyncClientConnectionManagerBuilder.create()
        .setMaxConnPerRoute(o.maxPerHost)
        .setMaxConnTotal(o.maxOpen)
        .setDnsResolver(dns.blocking())
        .setDefaultConnectionConfig(ConnectionConfig.custom()
            .setConnectTimeout(timeout)
            .setSocketTimeout(timeout)
            .setTimeToLive(TimeValue.ofMinutes(10))
            .build())
        .setDefaultTlsConfig(
            TlsConfig.custom().setVersionPolicy(HttpVersionPolicy.FORCE_HTTP_1).build())
        .build();
    client = HttpAsyncClients.custom()
        .setConnectionManager(manager)
        .setDefaultRequestConfig(RequestConfig.custom()
            .setConnectionRequestTimeout(timeout)
            .setResponseTimeout(timeout)
            .build())
        .disableAutomaticRetries()
        .build();
    client.start();
    urls = new String[o.hosts];
    for (int i = 0; i < o.hosts; i++) {
      urls[i] = o.url(i);
    }
  }

  @Override
  public void get(int host, BiConsumer<Integer, Throwable> done) {
    // a new request each time: the exec chain adds headers to the request object it is given
    client.execute(
        SimpleRequestProducer.create(SimpleRequestBuilder.get(urls[host]).build()),
        SimpleResponseConsumer.create(),
        new FutureCallback<SimpleHttpResponse>() {
          @Override
          public void completed(SimpleHttpResponse r) {
            done.accept(r.getCode(), null);
          }

          @Override
          public void failed(Exception e) {
            done.accept(0, e);
          }

          @Override
          public void cancelled() {
            done.accept(0, new CancellationException());
          }
        });
  }

  @Override
  public Map<String, Long> countersSinceLastCall() {
    long lookups = dns.lookups();
    Map<String, Long> d = new LinkedHashMap<>();
    d.put("new", lookups - lastLookups);
    d.put("dnsLookups", lookups - lastLookups);
    lastLookups = lookups;
    return d;
  }

  @Override
  public void close() {
    client.close(CloseMode.GRACEFUL);
    try {
      client.awaitShutdown(TimeValue.of(5, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
