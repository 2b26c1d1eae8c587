package dev.keepalive;

import static dev.keepalive.testing.Managers.assertReused;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testkit.AcceptingServer;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pool keys: which requests may share a socket. Host names compare case-insensitively; another
 * scheme, or another proxy target (for scheme, address or port), is another key and never
 * shares.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolKeysTest {
  @Test
  void hostNamesAreComparedCaseInsensitively() throws Exception {
    List<String> looked = new CopyOnWriteArrayList<>();
    Resolver resolver = host -> {
      looked.add(host);
      CompletionStage<List<InetAddress>> s = CompletableFuture.completedFuture(
          new ArrayList<>(List.of(InetAddress.getLoopbackAddress())));
      return s;
    };
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      Connection lower = get(m.allocate(Allocation.to("http", "localhost", server.port())));
      assertThat(lower.fromCache()).isEqualTo(FromCache.NEW);
      int port = lower.localAddress().getPort();
      lower.close();
      await().until(() -> m.stats().idle() == 1);
      Connection upper = get(m.allocate(Allocation.to("http", "LOCALHOST", server.port())));
      assertReused(upper, port);
      assertThat(upper.addr()).isEqualTo("LOCALHOST"); // the request's own words
      upper.close();
      await().until(() -> server.acceptedCount() == 1);
      assertThat(looked).hasSize(1);
      assertThat(looked.get(0)).isEqualToIgnoringCase("localhost");
    }
  }

  @Test
  void differentSchemesToOneAddressNeverShare() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Connection http = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      int httpPort = http.localAddress().getPort();
      http.close();
      await().until(() -> m.stats().idle() == 1);
      for (String scheme : List.of("ftp", "other")) {
        Connection c = get(m.allocate(Allocation.to(scheme, "127.0.0.1", server.port())));
        assertThat(c.fromCache()).as(scheme).isEqualTo(FromCache.NEW);
        assertThat(c.localAddress().getPort()).isNotEqualTo(httpPort);
        assertThat(c.scheme()).isEqualTo(scheme);
        c.close();
      }
      await().until(() -> m.stats().idle() == 3);
      Connection again = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      assertReused(again, httpPort);
      again.close();
    }
  }

  @Test
  void differentProxyTargetsNeverShare() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation proxy = Allocation.to("http", "127.0.0.1", server.port());
      Allocation forA = proxy.forTarget("http", "a.example", 80);
      Allocation forB = proxy.forTarget("http", "b.example", 80);
      Allocation forA443 = proxy.forTarget("http", "a.example", 443);
      Allocation forAs = proxy.forTarget("https", "a.example", 80);

      CompletableFuture<AllocationResult> first = new CompletableFuture<>();
      m.allocate(forA.context("ctx"), first::complete);
      AllocationResult r = first.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(r.forScheme()).isEqualTo("http");
      assertThat(r.forAddr()).isEqualTo("a.example");
      assertThat(r.forPort()).isEqualTo(80);
      assertThat(r.context()).isEqualTo("ctx");
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      int aPort = r.connection().localAddress().getPort();
      r.connection().close();
      await().until(() -> m.stats().idle() == 1);

      for (Allocation other : List.of(forB, forA443, forAs, proxy)) {
        Connection c = get(m.allocate(other));
        assertThat(c.fromCache()).as(other.toString()).isEqualTo(FromCache.NEW);
        assertThat(c.localAddress().getPort()).isNotEqualTo(aPort);
        c.close();
      }
      Connection again = get(m.allocate(forA));
      assertReused(again, aPort);
      again.close();

      // an unset target is the connection's own scheme/addr/port
      CompletableFuture<AllocationResult> plain = new CompletableFuture<>();
      m.allocate(proxy.forTarget("http", "127.0.0.1", server.port()), plain::complete);
      AllocationResult p = plain.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(p.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      p.connection().close();
    }
  }
}
