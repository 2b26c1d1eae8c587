package dev.keepalive.reliability;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testing.Managers;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * When the event loop itself dies (an Error on its thread: here a StackOverflowError thrown by an
 * allocation callback, as an OutOfMemoryError would be): every pending request is answered once,
 * a blocked reader wakes, later calls are refused naming the cause, and nothing waits forever.
 */
@ReliabilityTest
class LoopFailureTest {
  @Test
  void anErrorOnTheLoopAnswersEveryoneAndRefusesWhatFollows() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(1)
            .timeout(Duration.ofMinutes(10))
            .build()) {
      Allocation to = Allocation.to("http", "127.0.0.1", server.port());
      Connection held = Managers.get(m.allocate(to));
      CompletableFuture<Connection> queued = m.allocate(to); // waits for held: pending
      await().until(() -> m.stats().pending() == 1);
      CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
        try {
          return held.inputStream().read(); // blocks: the server never writes
        } catch (IOException e) {
          return -2;
        }
      });

      // the callback of a request refused at once throws an Error on the loop thread
      m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), r -> {
        throw new StackOverflowError("injected");
      });

      AllocationException failed = Managers.failureOf(queued);
      assertThat(failed.result().function()).isEqualTo("shutdown");
      assertThat(failed.result().errorStr())
          .contains("event loop failed")
          .contains("StackOverflowError: injected");
      assertThat(reader.get(20, TimeUnit.SECONDS)).isIn(-1, -2); // woken: EOF or error
      assertThat(held.isOpen()).isFalse();
      assertThatThrownBy(() -> m.allocate(to))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("event loop failed")
          .hasMessageContaining("StackOverflowError");
    }
  }

  /**
   * The same for a real OutOfMemoryError, in a child JVM with a 64 MB heap (OutOfMemoryChild):
   * the waiting request is answered, later calls are refused, the held connection is closed, and
   * the process ends instead of hanging.
   */
  @Test
  void anOutOfMemoryErrorOnTheLoopInAChildJvmAnswersAndEnds() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(
            java,
            "-Xmx64m",
            "-XX:+UseSerialGC",
            "-cp",
            System.getProperty("java.class.path"),
            OutOfMemoryChild.class.getName())
        .redirectErrorStream(true)
        .start();
    child.getOutputStream().close();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return e.toString();
      }
    });
    boolean ended = child.waitFor(90, TimeUnit.SECONDS);
    if (!ended) {
      child.destroyForcibly();
    }
    String output = out.get(30, TimeUnit.SECONDS);
    assertThat(ended).as(output).isTrue();
    assertThat(child.exitValue()).as(output).isZero();
    assertThat(output)
        .contains("WAITING: shutdown: Connection manager's event loop failed: "
            + "java.lang.OutOfMemoryError")
        .contains("LATER: connection manager's event loop failed: java.lang.OutOfMemoryError")
        .contains("HELD: closed");
  }
}
