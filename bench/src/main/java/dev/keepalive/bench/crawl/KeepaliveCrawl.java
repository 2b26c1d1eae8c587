package dev.keepalive.bench.crawl;

import dev.keepalive.CloseReason;
import dev.keepalive.ConnectionManager;
import dev.keepalive.PoolTotals;
import dev.keepalive.Resolver;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import java.net.InetAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * keepalive: one {@link ConnectionManager} (maxPerHost 2, maxOpen 1,000, names looked up by
 * {@link DnsjavaResolver}) under keepalive's {@link HttpClient}; {@link HttpClient#send} answers on
 * the manager's event loop, where the crawl sends its next request from.
 */
final class KeepaliveCrawl implements CrawlClient {
  private final ConnectionManager manager;
  private final HttpClient client;
  private final HttpRequest[] requests;
  private final DnsjavaResolver dns;
  private Map<String, Long> last = Map.of();

  /**
   * @param memo answer each host's first lookup from then on, without asking dnsmasq again (the
   *     diagnostic client {@code keepalive-memo}: how much the lookups on the request path cost)
   */
  KeepaliveCrawl(CrawlMain.Options o, DnsjavaResolver dns, boolean memo) {
    this.dns = dns;
    Map<String, CompletableFuture<List<InetAddress>>> answers = new ConcurrentHashMap<>();
    Resolver resolver = memo
        ? host -> answers.computeIfAbsent(host, h -> dns.resolve(h).toCompletableFuture())
        : dns;
    Duration timeout = Duration.ofSeconds(o.timeoutSeconds);
    manager = ConnectionManager.builder()
        .maxPerHost(o.maxPerHost)
        .maxOpen(o.maxOpen)
        .keepAlive(Duration.ofSeconds(60))
        .timeout(timeout)
        .resolver(resolver)
        .build();
    client =
        HttpClient.builder(manager).timeout(timeout).connectTimeout(timeout).build();
    requests = new HttpRequest[o.hosts];
    for (int i = 0; i < o.hosts; i++) {
      requests[i] = HttpRequest.newBuilder(o.url(i)).build();
    }
  }

  @Override
  public void get(int host, BiConsumer<Integer, Throwable> done) {
    client.send(requests[host]).whenComplete((r, t) -> {
      if (t != null) {
        done.accept(0, t);
      } else {
        done.accept(r.status(), null);
      }
    });
  }

  @Override
  public Map<String, Long> countersSinceLastCall() {
    PoolTotals t = manager.totals();
    Map<String, Long> now = new LinkedHashMap<>();
    now.put("new", t.newHandOuts());
    now.put("reused", t.immediateHandOuts() + t.deferredHandOuts());
    now.put("deferred", t.deferredHandOuts());
    now.put("evictedLru", t.closed(CloseReason.EVICTED_LRU));
    now.put("peerClosed", t.closed(CloseReason.PEER_CLOSED));
    now.put("dnsLookups", dns.lookups());
    Map<String, Long> d = CrawlClient.delta(now, last);
    last = now;
    return d;
  }

  @Override
  public void close() {
    client.close();
    manager.close();
  }
}
