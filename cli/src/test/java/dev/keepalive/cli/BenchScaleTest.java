package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keepalive.ConnectionManager;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.testkit.Loopback;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code keepalive bench} at scale: counts kept per recording thread, the descriptor limit, the
 * early stop when every request fails, and the constant-rate mode with its latency measured from
 * the scheduled send times.
 */
class BenchScaleTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  final TestServer server = new TestServer();

  @Test
  void countsAreKeptPerRecordingThreadNotPerChain() throws Exception {
    int chains = 100;
    try (ConnectionManager manager =
            ConnectionManager.builder().maxPerHost(chains).maxOpen(chains).build();
        HttpClient client = HttpClient.builder(manager).build()) {
      HttpRequest request = HttpRequest.newBuilder(server.url("/")).build();
      Bench bench = new Bench(client, request, chains, 2000, 0, 0);

      Bench.Result r = bench.run();

      assertThat(r.requests()).isEqualTo(2000);
      assertThat(r.succeeded).isEqualTo(2000);
      assertThat(r.latency.getTotalCount()).isEqualTo(2000);
      assertThat(r.status).containsEntry(200, 2000L);
      assertThat(r.bytes).isEqualTo(2000L * TestServer.BODY.length);
      // the event loop, and the thread that started the chains if a send failed there at once
      assertThat(bench.recorders()).isBetween(1, 2);
    }
    assertThat(server.requests()).isEqualTo(2000);
  }

  @Test
  void paceMeasuresLatencyFromTheScheduledSendTime() {
    Bench.Pace pace = new Bench.Pace(1_000, 100); // send times 1000, 1100, 1200, ...
    assertThat(pace.untilNext(900)).as("early: wait for the send time").isEqualTo(100);
    assertThat(pace.untilNext(1_000)).isZero();
    long first = pace.take();
    assertThat(first).isEqualTo(1_000);
    // the server stalls: the first response comes at 1,450, 350 past the second send time
    assertThat(pace.untilNext(1_450)).as("late: send at once").isEqualTo(-350);
    long second = pace.take();
    assertThat(second).isEqualTo(1_100);
    // answered at 1,460: 360 from its scheduled time, not the 10 from when it went out
    assertThat(1_460 - second).isEqualTo(360);
    assertThat(pace.take()).as("the schedule does not slip").isEqualTo(1_200);
    assertThat(pace.next()).isEqualTo(1_300);
    assertThatThrownBy(() -> new Bench.Pace(0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("interval");
  }

  @Test
  void descriptorLimitIsCheckedBeforeOpening() {
    assertThat(Descriptors.tooFew(1000, false, 20_000, 10)).isNull();
    assertThat(Descriptors.tooFew(9000, true, 20_000, 10)).isNull();
    String tooMany = Descriptors.tooFew(10_000, true, 20_000, 8);
    assertThat(tooMany)
        .contains("-c 10000 needs about 20,072 file descriptors")
        .contains("2 per connection")
        .contains("may open 20,000")
        .contains("ulimit -n 21000")
        .contains("-c 9964 or less");
    assertThat(Descriptors.tooFew(5000, false, 1024, 8))
        .contains("1 per connection")
        .contains("ulimit -n 6000")
        .contains("-c 952 or less");
    assertThat(Descriptors.tooFew(5000, false, -1, 8)).as("limit unknown").isNull();
  }

  @Test
  void moreConnectionsThanDescriptorsIsRefusedWithTheUlimitToUse() {
    Cli.Run run = Cli.run("bench", "-c", "100000000", "-d", "1s", server.url("/"));

    assertThat(run.status()).as(run.toString()).isEqualTo(1);
    assertThat(run.err()).contains("file descriptors").contains("ulimit -n");
    assertThat(run.out()).isEmpty();
    assertThat(server.requests()).isZero();
  }

  @Test
  void everyRequestFailingStopsTheRunEarlyWithTheReason() throws Exception {
    String url = "http://127.0.0.1:" + Loopback.closedPort() + "/";
    Cli.Run run = Cli.run("bench", "--json", "-c", "2", "-d", "10m", url);

    assertThat(run.status()).as(run.toString()).isEqualTo(1);
    assertThat(run.err())
        .contains("stopped early: every request failed for")
        .contains("none succeeded")
        .contains("connection refused");
    JsonNode r = JSON.readTree(run.out());
    assertThat(r.get("stoppedEarly").asText()).startsWith("every request failed for");
    assertThat(r.get("interrupted").asBoolean()).isFalse();
    assertThat(r.get("succeeded").asLong()).isZero();
    assertThat(r.get("failed").asLong()).isGreaterThanOrEqualTo(Bench.FAILING_COUNT);
    assertThat(r.get("errors").get("connect").get("count").asLong())
        .isEqualTo(r.get("failed").asLong());
  }

  @Test
  void textReportSaysWhyItStoppedEarly() {
    String url = "http://127.0.0.1:" + Loopback.closedPort() + "/";
    Cli.Run run = Cli.run("bench", "-c", "1", "-d", "10m", url);

    assertThat(run.status()).isEqualTo(1);
    assertThat(run.out())
        .containsPattern("stopped early: every request failed for \\d+\\.\\d s \\([\\d,]+ failed,"
            + " none succeeded\\)\\n")
        .doesNotContain("interrupted");
  }

  @Test
  void constantRateReportsLatencyFromScheduledTimesAndTheDistribution() throws Exception {
    Cli.Run run = Cli.run(
        "bench", "--json", "-R", "200", "-c", "2", "-d", "1s", "--latency", server.url("/"));

    assertThat(run.status()).as(run.toString()).isZero();
    JsonNode r = JSON.readTree(run.out());
    assertThat(r.get("settings").get("rate").asDouble()).isEqualTo(200.0);
    long requests = r.get("requests").asLong();
    // each chain has a send time every 10 ms and sends nothing before it: at most 100 in 1 s
    assertThat(requests).isPositive().isLessThanOrEqualTo(200);
    assertThat(r.get("succeeded").asLong()).isEqualTo(requests);
    assertThat(server.requests()).isEqualTo((int) requests);
    JsonNode lat = r.get("latencyMs");
    assertThat(lat.get("fromScheduledSendTime").asBoolean()).isTrue();
    List<String> keys = new ArrayList<>();
    lat.get("distribution").fieldNames().forEachRemaining(keys::add);
    assertThat(keys).containsExactly("50", "75", "90", "99", "99.9", "99.99", "99.999", "100");
    double last = 0;
    for (String k : keys) {
      double v = lat.get("distribution").get(k).asDouble();
      assertThat(v).as("p" + k).isPositive().isGreaterThanOrEqualTo(last);
      last = v;
    }
    assertThat(last).isEqualTo(lat.get("max").asDouble());
  }

  @Test
  void latencyOptionPrintsTheDistributionAndTheSpectrum() {
    Cli.Run run = Cli.run("bench", "-n", "100", "-c", "2", "--latency", server.url("/"));

    assertThat(run.status()).as(run.toString()).isZero();
    assertThat(run.out())
        .containsPattern("Distribution +50%  [\\d.]+ ms\\n")
        .containsPattern(" +99\\.999%  [\\d.]+ ms\\n")
        .containsPattern(" +100%  [\\d.]+ ms\\n")
        .contains("Detailed percentile spectrum (ms):")
        .contains("#[Max     =")
        .doesNotContain("constant rate");
  }

  @Test
  void withoutLatencyOptionThereIsNoDistribution() throws Exception {
    JsonNode r =
        JSON.readTree(Cli.run("bench", "--json", "-n", "20", server.url("/")).out());
    assertThat(r.get("latencyMs").has("distribution")).isFalse();
    assertThat(r.get("latencyMs").get("fromScheduledSendTime").asBoolean()).isFalse();
    assertThat(r.get("settings").get("rate").isNull()).isTrue();
    assertThat(r.get("stoppedEarly").isNull()).isTrue();
  }

  @Test
  void badRateIsAUsageError() {
    for (String bad : new String[] {"0", "-5", "NaN"}) {
      Cli.Run run = Cli.run("bench", "-R", bad, "-n", "1", server.url("/"));
      assertThat(run.status()).as(bad).isEqualTo(2);
      assertThat(run.err()).as(bad).contains("--rate");
    }
    assertThat(server.requests()).isZero();
  }

  @Test
  void pacedChainsSendNothingPastTheEnd() throws Exception {
    // one send time a second per chain, staggered over the first second: one request each
    JsonNode r =
        JSON.readTree(Cli.run("bench", "--json", "-R", "3", "-c", "3", "-d", "1s", server.url("/"))
            .out());
    assertThat(r.get("requests").asLong()).isEqualTo(3);
    assertThat(server.requests()).isEqualTo(3);
  }
}
