package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keepalive.testkit.Loopback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code keepalive bench}, run in this process against servers started here. */
class BenchCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  final TestServer server = new TestServer();

  @Test
  void textReportHasEveryFieldAndConsistentCounts() {
    Cli.Run run = Cli.run("bench", "-n", "200", "-c", "4", server.url("/"));

    assertThat(run.status()).as(run.toString()).isZero();
    assertThat(run.err()).as("no progress bar when stderr is not a terminal").isEmpty();
    String out = run.out();
    assertThat(out)
        .contains("keepalive bench " + server.url("/"))
        .contains("4 concurrent, max 4 per host, 128 open, keep-alive 15 s, timeout 10 s; "
            + "200 requests")
        .containsPattern("Requests +200 in \\d+\\.\\d\\d s = [\\d,]+\\.\\d/s\\n")
        .containsPattern("Body bytes +2,600\\n")
        .containsPattern("Latency +p50 [\\d.]+ ms +p90 [\\d.]+ ms +p99 [\\d.]+ ms +max [\\d.]+ ms"
            + " +\\(mean [\\d.]+ ms\\)")
        .containsPattern("Status +200: 200\\n")
        .containsPattern("Errors +none\\n")
        .containsPattern("Connections +[1-4] opened\\n")
        .containsPattern("Served +NEW [1-4] +IMMEDIATE \\d+ +DEFERRED \\d+ +reuse \\d+\\.\\d\\d%")
        .containsPattern("Wait +p50 [\\d.]+ ms +p90 [\\d.]+ ms +p99 [\\d.]+ ms +max [\\d.]+ ms"
            + " +\\(200 hand-outs\\)\\n")
        .containsPattern("Connect +p50 [\\d.]+ ms +p90 [\\d.]+ ms +p99 [\\d.]+ ms +max [\\d.]+ ms"
            + " +\\([1-4] connects?\\)\\n")
        .containsPattern("TLS +-\\n")
        .containsPattern("Closed +none during the run\\n");
    assertThat(server.requests()).isEqualTo(200);
  }

  @Test
  void jsonReportParsesAndAddsUp() throws Exception {
    JsonNode r = benchJson("-n", "300", "-c", "4", server.url("/"));
    assertThat(r.get("url").asText()).isEqualTo(server.url("/"));
    assertThat(r.get("embeddedServer").asBoolean()).isFalse();
    assertThat(r.get("settings").get("concurrency").asInt()).isEqualTo(4);
    assertThat(r.get("settings").get("requestLimit").asLong()).isEqualTo(300);
    assertThat(r.get("settings").get("keepAlive").asBoolean()).isTrue();
    assertThat(r.get("requests").asLong()).isEqualTo(300);
    assertThat(r.get("succeeded").asLong()).isEqualTo(300);
    assertThat(r.get("failed").asLong()).isZero();
    assertThat(r.get("requestsPerSecond").asDouble()).isPositive();
    assertThat(r.get("cpuMicrosPerRequest").asDouble())
        .as("process CPU per request")
        .isPositive();
    assertThat(r.get("elapsedSeconds").asDouble()).isPositive();
    assertThat(r.get("bodyBytes").asLong()).isEqualTo(300L * TestServer.BODY.length);
    assertThat(r.get("status").get("200").asLong()).isEqualTo(300);
    assertThat(r.get("errors").size()).isZero();

    JsonNode lat = r.get("latencyMs");
    assertThat(lat.get("p50").asDouble())
        .isPositive()
        .isLessThanOrEqualTo(lat.get("p90").asDouble());
    assertThat(lat.get("p90").asDouble()).isLessThanOrEqualTo(lat.get("p99").asDouble());
    assertThat(lat.get("p99").asDouble()).isLessThanOrEqualTo(lat.get("max").asDouble());
    assertThat(lat.get("mean").asDouble()).isPositive();

    JsonNode served = r.get("servedBy");
    long newOnes = served.get("NEW").asLong();
    long reused = served.get("IMMEDIATE").asLong() + served.get("DEFERRED").asLong();
    assertThat(newOnes + reused).isEqualTo(300);
    assertThat(newOnes).isBetween(1L, 4L);
    assertThat(r.get("connectionsOpened").asLong()).isEqualTo(newOnes);
    assertThat(r.get("reuseRatio").asDouble())
        .isCloseTo(reused / 300.0, org.assertj.core.data.Offset.offset(1e-6))
        .isGreaterThan(0.9);
    // the client's count of new connections is the server's
    assertThat(server.connections()).isEqualTo((int) newOnes);
    assertThat(server.requests()).isEqualTo(300);

    // the manager's times: one wait per request, one connect per new connection, no TLS
    JsonNode wait = r.get("connectionWaitMs");
    assertThat(wait.get("count").asLong()).isEqualTo(300);
    assertOrdered(wait);
    JsonNode connect = r.get("connectMs");
    assertThat(connect.get("count").asLong()).isEqualTo(newOnes);
    assertOrdered(connect);
    assertThat(r.get("tlsHandshakeMs").get("count").asLong()).isZero();
    assertThat(r.get("tlsHandshakeMs").get("p50").isNull()).isTrue();
    // kept alive: none closed during the run
    assertThat(r.get("closes").size()).isZero();
  }

  /** p50 <= p90 <= p99 <= max, all positive. */
  private static void assertOrdered(JsonNode times) {
    assertThat(times.get("p50").asDouble()).isPositive();
    assertThat(times.get("p50").asDouble()).isLessThanOrEqualTo(times.get("p90").asDouble());
    assertThat(times.get("p90").asDouble()).isLessThanOrEqualTo(times.get("p99").asDouble());
    assertThat(times.get("p99").asDouble()).isLessThanOrEqualTo(times.get("max").asDouble());
  }

  @Test
  void noKeepAliveOpensAConnectionPerRequest() throws Exception {
    JsonNode r = benchJson("--no-keepalive", "-n", "30", "-c", "3", server.url("/"));
    assertThat(r.get("settings").get("keepAlive").asBoolean()).isFalse();
    assertThat(r.get("requests").asLong()).isEqualTo(30);
    assertThat(r.get("servedBy").get("NEW").asLong()).isEqualTo(30);
    assertThat(r.get("servedBy").get("IMMEDIATE").asLong()).isZero();
    assertThat(r.get("servedBy").get("DEFERRED").asLong()).isZero();
    assertThat(r.get("connectionsOpened").asLong()).isEqualTo(30);
    assertThat(r.get("reuseRatio").asDouble()).isZero();
    assertThat(server.connections()).isEqualTo(30);
    // the client discards each connection after its response (it sent Connection: close)
    assertThat(r.get("closes").get("DISCARDED").asLong()).isEqualTo(30);
    assertThat(r.get("closes").size()).isEqualTo(1);
    assertThat(r.get("connectMs").get("count").asLong()).isEqualTo(30);

    Cli.Run text = Cli.run("bench", "--no-keepalive", "-n", "5", "-c", "1", server.url("/"));
    assertThat(text.out()).containsPattern("Closed +DISCARDED 5\\n");
  }

  @Test
  void moreThreadsThanConnectionsAreServedDeferred() throws Exception {
    JsonNode r = benchJson("-n", "200", "-c", "8", "--max-per-host", "2", server.url("/"));
    assertThat(r.get("settings").get("maxPerHost").asInt()).isEqualTo(2);
    assertThat(r.get("requests").asLong()).isEqualTo(200);
    assertThat(r.get("connectionsOpened").asLong()).isBetween(1L, 2L);
    assertThat(r.get("servedBy").get("DEFERRED").asLong()).isPositive();
    assertThat(server.connections()).isLessThanOrEqualTo(2);
  }

  @Test
  void durationLimitStopsTheRun() throws Exception {
    JsonNode r = benchJson("-d", "300ms", "-c", "2", server.url("/"));
    assertThat(r.get("settings").get("durationLimitSeconds").asDouble()).isEqualTo(0.3);
    assertThat(r.get("settings").get("requestLimit").isNull()).isTrue();
    assertThat(r.get("elapsedSeconds").asDouble()).isBetween(0.3, 10.0);
    assertThat(r.get("requests").asLong()).isPositive().isEqualTo(server.requests());
  }

  @Test
  void warmupIsSentButNotCounted() throws Exception {
    JsonNode r = benchJson("--warmup", "200ms", "-n", "100", "-c", "2", server.url("/"));
    assertThat(r.get("settings").get("warmupSeconds").asDouble()).isEqualTo(0.2);
    long warm = r.get("warmup").get("requests").asLong();
    assertThat(warm).isPositive();
    assertThat(r.get("requests").asLong()).isEqualTo(100);
    assertThat(server.requests()).isEqualTo(warm + 100);
    // the warm-up's connections were kept alive for the measured requests
    assertThat(r.get("warmup").get("connectionsOpened").asLong()).isBetween(1L, 2L);
    assertThat(r.get("connectionsOpened").asLong()).isZero();
    assertThat(r.get("reuseRatio").asDouble()).isEqualTo(1.0);
    // nor are its connects
    assertThat(r.get("connectMs").get("count").asLong()).isZero();
    assertThat(r.get("connectionWaitMs").get("count").asLong()).isEqualTo(100);

    Cli.Run text = Cli.run("bench", "--warmup", "100ms", "-n", "10", "-c", "1", server.url("/"));
    assertThat(text.out())
        .containsPattern("after a 100 ms warm-up \\([\\d,]+ requests, 1 "
            + "connection opened, 0 failed: not counted\\)");
  }

  @Test
  void withoutUrlItBenchmarksTheEmbeddedServer() throws Exception {
    JsonNode r = benchJson("-n", "100", "-c", "2");
    assertThat(r.get("embeddedServer").asBoolean()).isTrue();
    assertThat(r.get("url").asText()).matches("http://127\\.0\\.0\\.1:\\d+/");
    assertThat(r.get("requests").asLong()).isEqualTo(100);
    assertThat(r.get("status").get("200").asLong()).isEqualTo(100);
    assertThat(r.get("bodyBytes").asLong()).isEqualTo(100L * EmbeddedServer.BODY.length);
    assertThat(r.get("reuseRatio").asDouble()).isPositive();
  }

  @Test
  void progressBarIsDrawnOnStderrAndErased() {
    Cli.Run run = Cli.run("bench", "--progress", "-n", "50", "-c", "2", server.url("/"));

    assertThat(run.status()).as(run.toString()).isZero();
    assertThat(run.err())
        .containsPattern("\\r\\[[#.]{24}\\] +\\d+%  [\\d.]+ s  [\\d,]+ requests")
        .endsWith("\r");
    assertThat(run.out()).contains("Requests     50 in");
  }

  @Test
  void refusedServerIsCountedUnderConnectAndReportedInOneLine() throws Exception {
    String url = "http://127.0.0.1:" + Loopback.closedPort() + "/";
    Cli.Run run = Cli.run("bench", "--json", "-n", "5", "-c", "1", url);

    assertThat(run.status()).as(run.toString()).isEqualTo(1);
    JsonNode r = JSON.readTree(run.out());
    assertThat(r.get("requests").asLong()).isEqualTo(5);
    assertThat(r.get("failed").asLong()).isEqualTo(5);
    assertThat(r.get("errors").get("connect").get("count").asLong()).isEqualTo(5);
    assertThat(r.get("errors").get("connect").get("example").asText())
        .startsWith("connection refused");
    assertThat(r.get("latencyMs").get("p50").isNull()).isTrue();
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .isEqualTo("keepalive: " + url + ": every request failed: "
            + r.get("errors").get("connect").get("example").asText());
  }

  @Test
  void textReportListsErrorsByFunction() throws Exception {
    String url = "http://127.0.0.1:" + Loopback.closedPort() + "/";
    Cli.Run run = Cli.run("bench", "-n", "3", "-c", "1", url);

    assertThat(run.status()).isEqualTo(1);
    assertThat(run.out())
        .containsPattern("Requests +3 in [\\d.]+ s = [\\d,.]+/s +\\(3 failed\\)")
        .containsPattern("Errors +connect +3 +connection refused")
        .containsPattern("Latency +-\\n")
        .containsPattern("Connections +0 opened");
  }

  @Test
  void badUrlIsOneLineAndNoStackTrace() {
    Cli.Run run = Cli.run("bench", "-n", "5", "ftp://127.0.0.1/");

    assertThat(run.status()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .startsWith("keepalive: ftp://127.0.0.1/: bad URL");
  }

  @Test
  void usageErrorsExitWithTwo() {
    Cli.Run zero = Cli.run("bench", "-c", "0", server.url("/"));
    assertThat(zero.status()).isEqualTo(2);
    assertThat(zero.err())
        .startsWith("keepalive: --concurrency must be at least 1")
        .contains("keepalive bench --help");

    Cli.Run badDuration = Cli.run("bench", "-d", "soon", server.url("/"));
    assertThat(badDuration.status()).isEqualTo(2);
    assertThat(badDuration.err()).contains("'soon' is not a duration");

    Cli.Run unknown = Cli.run("bench", "--bogus");
    assertThat(unknown.status()).isEqualTo(2);
    assertThat(unknown.err()).contains("Unknown option: '--bogus'");
    assertThat(server.requests()).isZero();
  }

  /** Runs {@code bench --json} with these arguments, expects success, and parses the report. */
  private static JsonNode benchJson(String... args) throws Exception {
    String[] all = new String[args.length + 2];
    all[0] = "bench";
    all[1] = "--json";
    System.arraycopy(args, 0, all, 2, args.length);
    Cli.Run run = Cli.run(all);
    assertThat(run.status()).as(run.toString()).isZero();
    return JSON.readTree(run.out());
  }
}
