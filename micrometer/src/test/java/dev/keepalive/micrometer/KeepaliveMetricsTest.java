package dev.keepalive.micrometer;

import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.CloseReason;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.PoolTotals;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * KeepaliveMetrics with real sockets on 127.0.0.1 and a SimpleMeterRegistry: the gauges follow
 * stats(), the timers and counters follow each hand-out, close and failure (checked against the
 * manager's own totals()), the per-key tag stays within its bound, close() removes every meter.
 */
class KeepaliveMetricsTest {
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final AcceptingServer server = new AcceptingServer();
  private final Allocation a = Allocation.to("http", "127.0.0.1", server.port());
  private KeepaliveMetrics metrics;
  private ConnectionManager m;

  private void start(
      UnaryOperator<KeepaliveMetrics.Builder> settings, ConnectionManager.Builder b) {
    metrics = settings.apply(KeepaliveMetrics.builder(registry).name("test")).build();
    m = b.listener(metrics).build();
    metrics.bindTo(m);
  }

  private void start(ConnectionManager.Builder b) {
    start(s -> s, b);
  }

  @AfterEach
  void tearDown() {
    try {
      if (m != null) {
        m.close();
      }
      if (metrics != null) {
        metrics.close();
      }
    } finally {
      server.close();
    }
  }

  private double gauge(String name, String... tags) {
    return registry.get(name).tag("name", "test").tags(tags).gauge().value();
  }

  private long timerCount(String name, String... tags) {
    return registry.get(name).tag("name", "test").tags(tags).timer().count();
  }

  private double counter(String name, String... tags) {
    return registry.get(name).tag("name", "test").tags(tags).counter().count();
  }

  private Connection connect(Allocation to) throws Exception {
    return within(m.allocate(to));
  }

  @Test
  void theGaugesFollowTheManagersStats() throws Exception {
    start(ConnectionManager.builder().maxPerHost(1));
    assertThat(gauge("keepalive.connections.open")).isZero();

    Connection c = connect(a);
    await().until(() -> gauge("keepalive.connections", "state", "leased") == 1);
    assertThat(gauge("keepalive.connections.open")).isEqualTo(1);
    assertThat(gauge("keepalive.connections", "state", "idle")).isZero();

    CompletableFuture<Connection> waiting = m.allocate(a);
    await().until(() -> gauge("keepalive.requests.pending") == 1);

    c.close();
    within(waiting).close();
    await().until(() -> gauge("keepalive.connections", "state", "idle") == 1);
    assertThat(gauge("keepalive.connections", "state", "leased")).isZero();
    assertThat(gauge("keepalive.connections", "state", "connecting")).isZero();
    assertThat(gauge("keepalive.requests.pending")).isZero();
    assertThat(gauge("keepalive.connections.open")).isEqualTo(1);
  }

  @Test
  void handOutsAreTimedAndCountedByKind() throws Exception {
    start(ConnectionManager.builder().maxPerHost(1));
    Connection first = connect(a); // new
    first.close();
    await().until(() -> m.stats().idle() == 1);
    Connection again = connect(a); // immediate
    CompletableFuture<Connection> waiting = m.allocate(a);
    await().until(() -> m.stats().pending() == 1);
    again.close();
    within(waiting).close(); // deferred

    for (String kind : new String[] {"new", "immediate", "deferred"}) {
      assertThat(timerCount("keepalive.acquire", "kind", kind)).as(kind).isEqualTo(1);
      assertThat(counter("keepalive.handouts", "kind", kind)).as(kind).isEqualTo(1);
    }
    Timer deferred = registry.get("keepalive.acquire").tag("kind", "deferred").timer();
    assertThat(deferred.totalTime(TimeUnit.NANOSECONDS)).isPositive();
    assertThat(timerCount("keepalive.connect", "outcome", "success")).isEqualTo(1);
    assertThat(timerCount("keepalive.connect", "outcome", "failure")).isZero();
    PoolTotals totals = m.totals();
    assertThat(totals.handOuts()).isEqualTo(3);
  }

  @Test
  void closesAreCountedByReasonAsTheManagerCountsThem() throws Exception {
    start(ConnectionManager.builder());
    connect(a).discard();
    Connection kept = connect(a);
    kept.close();
    await().until(() -> m.stats().idle() == 1);
    assertThat(m.retireAll()).isEqualTo(1);
    await().until(() -> m.stats().open() == 0);

    assertThat(counter("keepalive.closes", "reason", "discarded")).isEqualTo(1);
    assertThat(counter("keepalive.closes", "reason", "retired")).isEqualTo(1);
    PoolTotals totals = m.totals();
    for (CloseReason reason : CloseReason.values()) {
      String tag = reason.name().toLowerCase(Locale.ROOT);
      assertThat(counter("keepalive.closes", "reason", tag))
          .as(tag)
          .isEqualTo(totals.closed(reason));
    }
  }

  @Test
  void failuresTimeoutsAndCancellationsAreCounted() throws Exception {
    start(ConnectionManager.builder().maxPerHost(1));
    Allocation refused = Allocation.to("http", "127.0.0.1", Loopback.closedPort());
    Await.failureOf(m.allocate(refused), AllocationException.class);
    assertThat(counter("keepalive.failures", "function", "connect")).isEqualTo(1);
    assertThat(timerCount("keepalive.connect", "outcome", "failure")).isEqualTo(1);
    await().until(() -> counter("keepalive.closes", "reason", "connect_failed") == 1);

    Connection held = connect(a);
    long id = m.allocate(a, r -> {});
    await().until(() -> m.stats().pending() == 1);
    assertThat(m.deallocate(id)).isTrue();
    await().until(() -> counter("keepalive.cancellations") == 1);
    Await.failureOf(m.allocate(a.timeout(Duration.ofMillis(50))), AllocationException.class);
    assertThat(counter("keepalive.timeouts")).isEqualTo(1);
    held.close();

    PoolTotals totals = m.totals();
    for (String function : totals.failures().keySet()) {
      // the manager counts a timeout as a "connect" failure; the metrics count it apart
      long expected = totals.failed(function) - ("connect".equals(function) ? 1 : 0);
      assertThat(counter("keepalive.failures", "function", function))
          .as(function)
          .isEqualTo(expected);
    }
  }

  @Test
  void aTlsHandshakeIsTimed() throws Exception {
    TestCertificates fix = TestCertificates.get();
    try (TlsServer tls = TlsServer.echo()) {
      start(ConnectionManager.builder().sslContext(fix.clientContext()));
      connect(Allocation.to("https", "127.0.0.1", tls.port())).close();
      assertThat(timerCount("keepalive.tls.handshake", "outcome", "success")).isEqualTo(1);
      assertThat(timerCount("keepalive.tls.handshake", "outcome", "failure")).isZero();
    }
  }

  @Test
  void withoutPerKeyTagsNoMeterHasAKeyTag() throws Exception {
    start(ConnectionManager.builder());
    connect(a).close();
    assertThat(registry.getMeters())
        .isNotEmpty()
        .allSatisfy(meter -> assertThat(meter.getId().getTag("key")).isNull())
        .allSatisfy(meter -> assertThat(meter.getId().getTag("name")).isEqualTo("test"));
  }

  @Test
  void perKeyTagsAreBoundedFiveKeysTwoTagsThreeSeries() throws Exception {
    start(s -> s.perKeyTags(2), ConnectionManager.builder());
    for (int i = 0; i < 5; i++) {
      // five pool keys to one server: the target is part of the key
      connect(a.forTarget("http", "h" + i + ".test", 80)).close();
    }
    await().until(() -> m.stats().idle() == 5);

    var handouts = registry.find("keepalive.handouts").tag("kind", "new").counters();
    assertThat(handouts).hasSize(3);
    assertThat(handouts.stream()
            .collect(Collectors.toMap(c -> c.getId().getTag("key"), Counter::count)))
        .containsOnly(
            Map.entry("http://h0.test:80", 1.0),
            Map.entry("http://h1.test:80", 1.0),
            Map.entry(KeepaliveMetrics.OTHER_KEY, 3.0));
    // every event meter stays within 3 series per tag combination; the gauges have no key tag
    for (String name :
        new String[] {"keepalive.acquire", "keepalive.connect", "keepalive.closes"}) {
      assertThat(registry.find(name).meters().stream()
              .map(meter -> meter.getId().getTag("key"))
              .distinct())
          .as(name)
          .hasSize(3);
    }
    assertThat(registry.find("keepalive.connections.open").gauge().getId().getTag("key"))
        .isNull();

    // the same key through another Allocation object, twice through one object, then another key
    Allocation h1 = a.forTarget("HTTP", "H1.test", 80); // the key is normalized: lower case
    connect(h1).close();
    connect(h1).close();
    connect(a.forTarget("http", "h0.test", 80)).close();
    connect(a.forTarget("http", "h4.test", 80)).close();
    assertThat(counter("keepalive.handouts", "kind", "immediate", "key", "http://h1.test:80"))
        .isEqualTo(2);
    assertThat(counter("keepalive.handouts", "kind", "immediate", "key", "http://h0.test:80"))
        .isEqualTo(1);
    assertThat(counter("keepalive.handouts", "kind", "immediate", "key", "other"))
        .isEqualTo(1);
  }

  @Test
  void closeRemovesEveryMeterAndBindingTwiceIsRefused() throws Exception {
    start(s -> s.perKeyTags(4).tags("region", "eu"), ConnectionManager.builder());
    connect(a).close();
    assertThat(registry.getMeters())
        .allSatisfy(meter -> assertThat(meter.getId().getTag("region")).isEqualTo("eu"));
    assertThatThrownBy(() -> metrics.bindTo(m)).isInstanceOf(IllegalStateException.class);
    int before = registry.getMeters().size();
    assertThat(before).isGreaterThan(5);

    metrics.close();
    assertThat(registry.getMeters()).isEmpty();
    connect(a).close(); // still heard, by meters no longer in the registry
    assertThat(registry.getMeters()).isEmpty();
    metrics.close();
    assertThatThrownBy(() -> metrics.bindTo(m)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void twoManagersInOneRegistryAreToldApartByName() throws Exception {
    start(ConnectionManager.builder());
    KeepaliveMetrics other = KeepaliveMetrics.builder(registry).name("other").build();
    try (ConnectionManager m2 = ConnectionManager.builder().listener(other).build()) {
      other.bindTo(m2);
      within(m2.allocate(a)).close();
      connect(a).close();
      connect(a).close();
      assertThat(registry
              .get("keepalive.handouts")
              .tag("name", "other")
              .tag("kind", "new")
              .counter()
              .count())
          .isEqualTo(1);
      assertThat(counter("keepalive.handouts", "kind", "immediate")).isEqualTo(1);
      other.close();
      assertThat(registry.getMeters())
          .allSatisfy(meter -> assertThat(meter.getId().getTag("name")).isEqualTo("test"));
    }
  }
}
