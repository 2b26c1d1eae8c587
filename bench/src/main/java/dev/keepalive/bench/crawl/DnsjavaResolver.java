package dev.keepalive.bench.crawl;

import dev.keepalive.Resolver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import org.apache.hc.client5.http.DnsResolver;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A-record lookups against one DNS server (the crawl's dnsmasq on a loopback port) with dnsjava's
 * asynchronous {@link SimpleResolver#sendAsync}: one UDP query per call, no cache here (the server's
 * TTL decides nothing: every call asks the server). It is keepalive's {@link Resolver} (returns at
 * once, completes later) and, through {@link #blocking()}, Apache HttpClient's {@link DnsResolver}
 * (the same query, waited for: that interface is blocking). Counts the lookups it made.
 */
final class DnsjavaResolver implements Resolver {
  private final SimpleResolver dns;
  private final LongAdder lookups = new LongAdder();

  DnsjavaResolver(InetSocketAddress server) {
    dns = new SimpleResolver(server);
    dns.setTimeout(Duration.ofSeconds(5));
  }

  /** Lookups started so far. */
  long lookups() {
    return lookups.sum();
  }

  @Override
  public CompletionStage<List<InetAddress>> resolve(String host) {
    lookups.increment();
    Message query;
    try {
      query =
          Message.newQuery(Record.newRecord(Name.fromString(host, Name.root), Type.A, DClass.IN));
    } catch (TextParseException e) {
      return CompletableFuture.failedFuture(e);
    }
    // completed on dnsjava's I/O thread: keepalive only posts a task to its loop from there
    return dns.sendAsync(query, Runnable::run).thenApply(answer -> addresses(host, answer));
  }

  private static List<InetAddress> addresses(String host, Message answer) {
    if (answer.getRcode() != Rcode.NOERROR) {
      throw new IllegalStateException(
          new UnknownHostException(host + ": " + Rcode.string(answer.getRcode())));
    }
    List<InetAddress> out = new ArrayList<>(1);
    for (Record r : answer.getSection(Section.ANSWER)) {
      if (r instanceof ARecord a) {
        try {
          out.add(InetAddress.getByAddress(host, a.getAddress().getAddress()));
        } catch (UnknownHostException e) {
          throw new IllegalStateException(e); // 4 bytes: cannot happen
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalStateException(new UnknownHostException(host + ": no A record"));
    }
    return out;
  }

  /**
   * The same lookups for Apache HttpClient, whose {@link DnsResolver} is blocking: the query is
   * sent as above and waited for on the calling thread.
   */
  DnsResolver blocking() {
    return new DnsResolver() {
      @Override
      public InetAddress[] resolve(String host) throws UnknownHostException {
        try {
          return DnsjavaResolver.this
              .resolve(host)
              .toCompletableFuture()
              .get()
              .toArray(new InetAddress[0]);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new UnknownHostException(host + ": interrupted");
        } catch (ExecutionException e) {
          UnknownHostException u = new UnknownHostException(host + ": " + e.getCause());
          u.initCause(e.getCause());
          throw u;
        }
      }

      @Override
      public String resolveCanonicalHostname(String host) {
        return host;
      }
    };
  }
}
