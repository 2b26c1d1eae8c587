package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keepalive.testkit.Loopback;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built jar (target/keepalive.jar), run as a child process with {@code java -jar}: run by
 * failsafe after {@code package}; skipped when the jar is not there.
 */
class JarIT {
  private static final Path JAR = Path.of("target", "keepalive.jar");

  private TestServer server;

  record Run(int status, String out, String err) {}

  @BeforeEach
  void start() throws Exception {
    assumeTrue(Files.isRegularFile(JAR), "no " + JAR.toAbsolutePath() + ": run mvn package");
    server = TestServer.start();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static Run keepalive(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(JAR.toString());
    command.addAll(List.of(args));
    return run(new ProcessBuilder(command), args);
  }

  /**
   * The ./keepalive launcher at the repository's root, with {@code env} added to its
   * environment, running a copy of the jar in {@code dir} (KEEPALIVE_JAR: never built, its
   * archive made next to it) with the JDK that runs the tests.
   */
  private static Run launcher(Path dir, Map<String, String> env, String... args) throws Exception {
    Path launcher = Path.of("..", "keepalive").toAbsolutePath().normalize();
    assumeTrue(Files.isExecutable(launcher), "no " + launcher);
    Path jar = dir.resolve("keepalive.jar");
    if (!Files.exists(jar)) {
      Files.copy(JAR, jar);
    }
    List<String> command = new ArrayList<>(List.of(launcher.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("KEEPALIVE_JAR", jar.toString());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().remove("KEEPALIVE_JAVA_OPTS");
    pb.environment().putAll(env);
    return run(pb, args);
  }

  private static Run run(ProcessBuilder pb, String... args) throws Exception {
    File out = File.createTempFile("keepalive-out", ".txt");
    File err = File.createTempFile("keepalive-err", ".txt");
    try {
      Process p = pb.redirectOutput(out).redirectError(err).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("keepalive " + String.join(" ", args) + " did not end in 60 s");
      }
      return new Run(
          p.exitValue(),
          Files.readString(out.toPath(), StandardCharsets.UTF_8),
          Files.readString(err.toPath(), StandardCharsets.UTF_8));
    } finally {
      out.delete();
      err.delete();
    }
  }

  @Test
  void benchJsonReport() throws Exception {
    Run run = keepalive("bench", "--json", "-n", "500", "-c", "4", server.url("/"));

    assertThat(run.status()).as(run.err()).isZero();
    JsonNode r = new ObjectMapper().readTree(run.out());
    assertThat(r.get("requests").asLong()).isEqualTo(500);
    assertThat(r.get("status").get("200").asLong()).isEqualTo(500);
    assertThat(r.get("connectionsOpened").asLong())
        .isBetween(1L, 4L)
        .isEqualTo(server.connections());
    assertThat(r.get("reuseRatio").asDouble()).isGreaterThan(0.9);
  }

  @Test
  void benchTextReportOfTheEmbeddedServer() throws Exception {
    Run run = keepalive("bench", "-n", "300", "-c", "2");

    assertThat(run.status()).as(run.err()).isZero();
    assertThat(run.out())
        .containsPattern("keepalive bench http://127\\.0\\.0\\.1:\\d+/ " + "\\(embedded server\\)")
        .containsPattern("Requests +300 in")
        .containsPattern("Status +200: 300")
        .containsPattern("Served +NEW [12] +IMMEDIATE");
  }

  @Test
  void getAndItsFailures() throws Exception {
    String refused = "http://127.0.0.1:" + Loopback.closedPort() + "/";
    Run run = keepalive("get", server.url("/"), refused);

    assertThat(run.status()).isEqualTo(1);
    assertThat(run.out()).startsWith("200 OK").contains("NEW").contains(server.url("/"));
    assertThat(run.err().lines().toList())
        .singleElement()
        .asString()
        .startsWith("keepalive: " + refused + ": connection refused");
  }

  @Test
  void version() throws Exception {
    Run run = keepalive("--version");

    assertThat(run.status()).isZero();
    assertThat(run.out()).startsWith("keepalive 0.");
  }

  @Test
  void launcherRunsTheJar(@TempDir Path dir) throws Exception {
    Run run = launcher(dir, Map.of("KEEPALIVE_ARCHIVE", "0"), "get", server.url("/"));

    assertThat(run.status()).as(run.err()).isZero();
    assertThat(run.out()).startsWith("200 OK").contains(server.url("/"));
    assertThat(run.err()).isEmpty();
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(dir.resolve("keepalive.jar"));
    }
  }

  @Test
  void launcherRecordsItsStartupArchiveOnceAndRunsWithIt(@TempDir Path dir) throws Exception {
    // a short training run: this checks that the archive is made and used, not how good it is
    Map<String, String> env = Map.of("KEEPALIVE_TRAINING", "quick");
    Run first = launcher(dir, env, "get", server.url("/"));

    assertThat(first.status()).as(first.err()).isZero();
    assertThat(first.err()).startsWith("keepalive: recording the start-up archive");
    List<Path> archives;
    try (var files = Files.list(dir)) {
      archives =
          files.filter(f -> !f.getFileName().toString().equals("keepalive.jar")).toList();
    }
    assertThat(archives)
        .singleElement()
        .satisfies(a -> assertThat(a.getFileName().toString())
            .startsWith("keepalive.jar-")
            .matches(".*\\.(jsa|aot)$"));

    Run second = launcher(dir, env, "get", "-v", server.url("/"));

    assertThat(second.status()).as(second.err()).isZero();
    assertThat(second.out()).startsWith("200 OK").contains(server.url("/"));
    // -v writes curl's "* ", "> " and "< " lines to stderr: anything else would be the JVM's
    assertThat(second.err().lines())
        .as("no JVM warning about the archive")
        .isNotEmpty()
        .allSatisfy(l -> assertThat(l).matches("[*<>]( .*)?"));
  }
}
