package dev.keepalive.bench.crawl;

import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.NoopDnsQueryLifecycleObserverFactory;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import reactor.netty.ConnectionObserver;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * Reactor Netty's HttpClient over a {@link ConnectionProvider} with 2 connections per host
 * ({@code maxConnections} is per remote address: Reactor Netty has no limit across hosts, so it
 * keeps up to 2 per host, up to 20,000 at 10,000 hosts, and never evicts), HTTP/1.1,
 * {@code responseSingle()} aggregating the body, names looked up by Netty's own
 * {@link DnsAddressResolverGroup} asking only the crawl's dnsmasq (A records only; its cache keeps
 * an answer for the TTL dnsmasq gives, 0 by default: then every connect asks, as the others'
 * lookups do), default event loops (native epoll where available), warmed up
 * before the run as its docs recommend.
 */
final class ReactorCrawl implements CrawlClient {
  private final ConnectionProvider provider;
  private final HttpClient client;
  private final String[] urls;
  private final LongAdder connected = new LongAdder();
  private final LongAdder acquired = new LongAdder();
  private final LongAdder queries = new LongAdder();
  private Map<String, Long> last = Map.of();

  ReactorCrawl(CrawlMain.Options o, InetSocketAddress dnsServer) {
    Duration timeout = Duration.ofSeconds(o.timeoutSeconds);
    provider = ConnectionProvider.builder("crawl")
        .maxConnections(o.maxPerHost)
        .pendingAcquireMaxCount(-1)
        .pendingAcquireTimeout(timeout)
        .build();
    client = HttpClient.create(provider)
        .protocol(HttpProtocol.HTTP11)
        .responseTimeout(timeout)
        .resolver(spec -> spec.resolvedAddressTypes(ResolvedAddressTypes.IPV4_ONLY)
            .dnsAddressResolverGroupProvider(b -> new DnsAddressResolverGroup(
                b.nameServerProvider(new SingletonDnsServerAddressStreamProvider(dnsServer))
                    .dnsQueryLifecycleObserverFactory(question -> {
                      queries.increment();
                      return NoopDnsQueryLifecycleObserverFactory.INSTANCE
                          .newDnsQueryLifecycleObserver(question);
                    }))))
        .observe((connection, state) -> {
          if (state == ConnectionObserver.State.CONNECTED) {
            connected.increment();
          } else if (state == ConnectionObserver.State.ACQUIRED) {
            acquired.increment();
          }
        });
    client.warmup().block();
    urls = new String[o.hosts];
    for (int i = 0; i < o.hosts; i++) {
      urls[i] = o.url(i);
    }
  }

  @Override
  public void get(int host, BiConsumer<Integer, Throwable> done) {
    client
        .get()
        .uri(urls[host])
        .responseSingle((r, body) -> body.asByteArray()
            .map(b -> r.status().code())
            .defaultIfEmpty(r.status().code()))
        .subscribe(status -> done.accept(status, null), t -> done.accept(0, t));
  }

  @Override
  public Map<String, Long> countersSinceLastCall() {
    Map<String, Long> now = new LinkedHashMap<>();
    now.put("new", connected.sum());
    now.put("reused", acquired.sum());
    now.put("dnsLookups", queries.sum());
    Map<String, Long> d = CrawlClient.delta(now, last);
    last = now;
    return d;
  }

  @Override
  public void close() {
    provider.disposeLater().block(Duration.ofSeconds(10));
  }
}
