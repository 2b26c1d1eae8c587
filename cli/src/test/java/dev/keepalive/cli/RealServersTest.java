package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code keepalive get} and {@code keepalive bench} against real servers on 127.0.0.1 (nginx,
 * apache2, lighttpd, caddy, h2o, haproxy in front of node, node, python's http.server), as
 * {@code scripts/servers.sh start} runs them: bodies byte-exact (a small file, 1,000,000 bytes
 * with Content-Length, the same chunked where the server sends it so), and connections reused
 * where the server keeps them alive. Runs only when KEEPALIVE_SERVERS lists them (the environment
 * that script prints); skipped otherwise.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RealServersTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The servers that send /chunked chunked (the others answer it 404). */
  private static final Set<String> CHUNKED = Set.of("haproxy", "node", "python");

  static Stream<Arguments> servers() {
    String list = System.getenv("KEEPALIVE_SERVERS");
    List<Arguments> out = new ArrayList<>();
    if (list != null) {
      for (String entry : list.trim().split("\\s+")) {
        int eq = entry.indexOf('=');
        if (eq > 0) {
          out.add(Arguments.of(entry.substring(0, eq), entry.substring(eq + 1)));
        }
      }
    }
    if (out.isEmpty()) {
      out.add(Arguments.of("none", ""));
    }
    return out.stream();
  }

  private static Path www() {
    return Path.of(System.getenv("KEEPALIVE_SERVERS_WWW"));
  }

  private static void onlyWithServers(String name) {
    Assumptions.assumeFalse(
        name.equals("none"),
        "RealServersTest skipped: eval \"$(scripts/servers.sh start)\" to run it against real "
            + "servers");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void getSavesEveryBodyByteExact(String name, String base, @TempDir Path dir) throws Exception {
    onlyWithServers(name);
    List<String> args = new ArrayList<>(
        List.of("get", "-f", "-o", dir.toString(), base + "/hello.txt", base + "/big.bin"));
    if (CHUNKED.contains(name)) {
      args.add(base + "/chunked");
    }
    Cli.Run run = Cli.run(args.toArray(String[]::new));

    assertThat(run.status()).as(run.toString()).isZero();
    assertThat(Files.readAllBytes(dir.resolve("hello.txt")))
        .isEqualTo(Files.readAllBytes(www().resolve("hello.txt")));
    byte[] big = Files.readAllBytes(www().resolve("big.bin"));
    assertThat(Files.readAllBytes(dir.resolve("big.bin"))).isEqualTo(big);
    if (CHUNKED.contains(name)) {
      assertThat(Files.readAllBytes(dir.resolve("chunked"))).isEqualTo(big);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("servers")
  void benchReusesTheServersKeptAliveConnections(String name, String base) throws Exception {
    onlyWithServers(name);
    Cli.Run run = Cli.run("bench", "--json", "-n", "2000", "-c", "4", base + "/hello.txt");

    assertThat(run.status()).as(run.toString()).isZero();
    JsonNode r = JSON.readTree(run.out());
    assertThat(r.get("failed").asLong()).as(run.out()).isZero();
    assertThat(r.get("status").get("200").asLong()).isEqualTo(2000);
    assertThat(r.get("bodyBytes").asLong())
        .isEqualTo(2000L * Files.size(www().resolve("hello.txt")));
    // every one of these servers keeps connections alive: the 4 first ones serve everything
    assertThat(r.get("connectionsOpened").asLong()).as(run.out()).isLessThanOrEqualTo(8);
    assertThat(r.get("reuseRatio").asDouble()).as(run.out()).isGreaterThanOrEqualTo(0.99);
  }

  /** nginx on a Unix domain socket file (curl's --unix-socket): bodies byte-exact, reused. */
  @Test
  void getAndBenchOverNginxsUnixSocket(@TempDir Path dir) throws Exception {
    String socket = System.getenv("KEEPALIVE_SERVERS_UNIX");
    Assumptions.assumeTrue(socket != null, "nginx on a Unix socket: scripts/servers.sh start");
    Cli.Run get = Cli.run(
        "get",
        "-f",
        "--unix-socket",
        socket,
        "-o",
        dir.toString(),
        "http://localhost/hello.txt",
        "http://localhost/big.bin");
    assertThat(get.status()).as(get.toString()).isZero();
    assertThat(Files.readAllBytes(dir.resolve("big.bin")))
        .isEqualTo(Files.readAllBytes(www().resolve("big.bin")));
    assertThat(Files.readAllBytes(dir.resolve("hello.txt")))
        .isEqualTo(Files.readAllBytes(www().resolve("hello.txt")));

    Cli.Run bench = Cli.run(
        "bench",
        "--json",
        "--unix-socket",
        socket,
        "-n",
        "1000",
        "-c",
        "4",
        "http://localhost/hello.txt");
    assertThat(bench.status()).as(bench.toString()).isZero();
    JsonNode r = JSON.readTree(bench.out());
    assertThat(r.get("failed").asLong()).isZero();
    assertThat(r.get("status").get("200").asLong()).isEqualTo(1000);
    assertThat(r.get("connectionsOpened").asLong()).isLessThanOrEqualTo(8);
  }
}
