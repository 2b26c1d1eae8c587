package dev.keepalive;

import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Name resolution: host names go through the manager's resolver (the system's by default), IP
 * literals (IPv4 and IPv6, with or without brackets) never do, and each manager uses its own
 * resolver.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsTest {
  @Test
  void hostNamesConnectThroughTheSystemResolver() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m =
            ConnectionManager.builder().timeout(Duration.ofSeconds(5)).build()) {
      Connection c = get(m.allocate(Allocation.to("http", "localhost", server.port())));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c.remoteAddress().getPort()).isEqualTo(server.port());
      c.close();
    }
  }

  @Test
  void aResolverMayAnswerWithAnImmutableList() throws Exception {
    Resolver resolver =
        host -> CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .resolver(resolver)
            .timeout(Duration.ofSeconds(5))
            .build()) {
      assertNextServed(m, Allocation.to("http", "service.test", server.port()), FromCache.NEW);
    }
  }

  /** Two managers, each with its own resolver, work side by side. */
  @Test
  void twoManagersWithTheirOwnResolversWorkSideBySide() {
    TestResolver resolver1 = TestResolver.answering(Map.of("alpha.test", List.of(Loopback.ipv4())));
    TestResolver resolver2 = TestResolver.answering(Map.of("beta.test", List.of(Loopback.ipv4())));
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m1 = ConnectionManager.builder().resolver(resolver1).build();
        ConnectionManager m2 = ConnectionManager.builder().resolver(resolver2).build()) {
      ResultRecorder rec1 = new ResultRecorder();
      ResultRecorder rec2 = new ResultRecorder();
      Allocation alpha = Allocation.to("http", "alpha.test", server.port());
      Allocation beta = Allocation.to("http", "beta.test", server.port());
      m1.allocate(alpha, rec1);
      m2.allocate(beta, rec2);
      AllocationResult r1 = rec1.next();
      AllocationResult r2 = rec2.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r1.connection().addr()).isEqualTo("alpha.test");
      assertThat(r2.connection().addr()).isEqualTo("beta.test");
      assertThat(resolver1.hosts()).containsExactly("alpha.test");
      assertThat(resolver2.hosts()).containsExactly("beta.test");
      // each manager answers on its own loop thread
      assertThat(rec1.threads().get(0)).isNotSameAs(rec2.threads().get(0));

      r1.connection().close();
      r2.connection().close();
      awaitStats(m1, 1, 1, 0, 0, 0);
      awaitStats(m2, 1, 1, 0, 0, 0);
      m1.allocate(alpha, rec1);
      m2.allocate(beta, rec2);
      assertThat(rec1.next().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(rec2.next().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(resolver1.callCount()).isEqualTo(1);
      assertThat(resolver2.callCount()).isEqualTo(1);
      await().until(() -> server.acceptedCount() == 2);

      // one manager's shutdown does not touch the other
      m1.close();
      assertThat(m1.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
      awaitStats(m2, 1, 0, 1, 0, 0);
    }
  }

  /**
   * The original sent IPv6 literals through DNS; here "::1" and "[::1]" never reach the
   * resolver.
   */
  @Test
  void ipv6LiteralsSkipTheResolver() throws Exception {
    InetAddress v6 = InetAddress.getByName("::1");
    AcceptingServer server = AcceptingServer.tryBind(v6);
    assumeTrue(server != null, "::1 cannot be bound on this machine");
    TestResolver forbidden = TestResolver.forbidden();
    try (server;
        ConnectionManager m = ConnectionManager.builder().resolver(forbidden).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", "[::1]", server.port()), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.isSuccess()).as("%s", r1).isTrue();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r1.addr()).isEqualTo("[::1]");
      assertThat(r1.connection().remoteAddress())
          .isEqualTo(new InetSocketAddress(v6, server.port()));
      r1.connection().discard();
      awaitStats(m, 0, 0, 0, 0, 0);

      m.allocate(Allocation.to("http", "::1", server.port()), rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.isSuccess()).as("%s", r2).isTrue();
      assertThat(r2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r2.connection().remoteAddress())
          .isEqualTo(new InetSocketAddress(v6, server.port()));
      int port2 = r2.connection().localAddress().getPort();
      r2.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);

      // with or without brackets, one key
      m.allocate(Allocation.to("http", "[::1]", server.port()), rec);
      AllocationResult r3 = rec.next();
      assertThat(r3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(r3.connection().localAddress().getPort()).isEqualTo(port2);
      r3.connection().close();

      assertThat(forbidden.hosts()).isEmpty();
      await().until(() -> server.acceptedCount() == 2);
    }
  }

  /** Dotted-quad IPv4 skips the resolver too, while a host name does go through it. */
  @Test
  void ipv4LiteralSkipsTheResolver() {
    TestResolver forbidden = TestResolver.forbidden();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(forbidden).build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      AllocationResult r1 = rec.next();
      assertThat(r1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(forbidden.hosts()).isEmpty();

      // the resolver is wired in: a name is looked up, and its failure answers "resolve"
      m.allocate(Allocation.to("http", "not-a-literal.test", server.port()), rec);
      AllocationResult r2 = rec.next();
      assertThat(r2.isSuccess()).isFalse();
      assertThat(r2.function()).isEqualTo("resolve");
      assertThat(r2.errorStr()).isNotBlank();
      assertThat(forbidden.hosts()).containsExactly("not-a-literal.test");
      r1.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }
}
