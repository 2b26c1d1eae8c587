package dev.keepalive.micrometer;

import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.AcceptingServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * What a Prometheus scrape of the meters looks like, for docs/OBSERVING.md ("Micrometer"): a
 * little traffic to a real server on 127.0.0.1, then the scrape, written to
 * target/prometheus-scrape.txt (the sample in the docs is that file, its zero series left out).
 */
class PrometheusScrapeTest {
  @Test
  void aScrapeNamesTheMetersInPrometheusStyle() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Allocation a;
    String scrape;
    try (AcceptingServer server = new AcceptingServer();
        KeepaliveMetrics metrics =
            KeepaliveMetrics.builder(registry).name("api").build();
        ConnectionManager m = ConnectionManager.builder().listener(metrics).build()) {
      metrics.bindTo(m);
      a = Allocation.to("http", "127.0.0.1", server.port());
      Connection first = within(m.allocate(a));
      Connection second = within(m.allocate(a));
      first.close();
      await().until(() -> m.stats().idle() == 1);
      within(m.allocate(a)).close();
      second.discard();
      await().until(() -> m.stats().open() == 1);
      scrape = registry.scrape();
    }
    Files.writeString(Path.of("target", "prometheus-scrape.txt"), scrape, StandardCharsets.UTF_8);
    assertThat(scrape)
        .contains("keepalive_connections{name=\"api\",state=\"idle\"} 1")
        .contains("keepalive_connections_open{name=\"api\"} 1")
        .contains("keepalive_requests_pending{name=\"api\"} 0")
        .contains("keepalive_acquire_seconds_count{kind=\"new\",name=\"api\"} 2")
        .contains("keepalive_handouts_total{kind=\"immediate\",name=\"api\"} 1")
        .contains("keepalive_closes_total{name=\"api\",reason=\"discarded\"} 1")
        .contains("keepalive_connect_seconds_count{name=\"api\",outcome=\"success\"} 2");
  }
}
