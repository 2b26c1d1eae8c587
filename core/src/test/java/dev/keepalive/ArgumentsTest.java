package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testkit.AcceptingServer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Argument checks: every bad argument of the builder, of Allocation and of the manager's calls is
 * an IllegalArgumentException whose message names the argument; good values are taken.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ArgumentsTest {
  /** Asserts an IllegalArgumentException whose message names {@code argument}, as a word. */
  private static void rejects(ThrowingCallable call, String argument) {
    assertThatThrownBy(call)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageMatching("(?s).*\\b" + argument + "\\b.*");
  }

  /** Every bad setting of a builder from {@code builders} is rejected, naming the setting. */
  private static void assertBuilderRejectsBadSettings(
      Supplier<ConnectionManager.Builder> builders) {
    rejects(() -> builders.get().maxPerHost(0), "maxPerHost");
    rejects(() -> builders.get().maxPerHost(-1), "maxPerHost");
    rejects(() -> builders.get().maxOpen(0), "maxOpen");
    rejects(() -> builders.get().maxOpen(-1), "maxOpen");
    rejects(() -> builders.get().maxOpen(-3), "maxOpen");
    rejects(() -> builders.get().keepAlive(null), "keepAlive");
    rejects(() -> builders.get().keepAlive(Duration.ZERO), "keepAlive");
    rejects(() -> builders.get().keepAlive(Duration.ofMillis(-1)), "keepAlive");
    rejects(() -> builders.get().keepAlive(Duration.ofSeconds(-1)), "keepAlive");
    rejects(() -> builders.get().timeout(null), "timeout");
    rejects(() -> builders.get().timeout(Duration.ZERO), "timeout");
    rejects(() -> builders.get().timeout(Duration.ofMillis(-5)), "timeout");
    rejects(() -> builders.get().timeout(Duration.ofSeconds(-5)), "timeout");
    rejects(() -> builders.get().resolver(null), "resolver");
    rejects(() -> builders.get().bindAddress(null), "bindAddress");
    rejects(() -> builders.get().sslContext(null), "sslContext");
  }

  /**
   * Every bad argument of Allocation.to and of {@code a}'s derivations is rejected, naming the
   * argument, and {@code a} is unchanged by the failed derivations.
   */
  private static void assertAllocationRejectsBadArguments(Allocation a) {
    rejects(() -> Allocation.to(null, "127.0.0.1", 80), "scheme");
    rejects(() -> Allocation.to("", "127.0.0.1", 80), "scheme");
    rejects(() -> Allocation.to("  ", "127.0.0.1", 80), "scheme");
    rejects(() -> Allocation.to("http", null, 80), "addr");
    rejects(() -> Allocation.to("http", "", 80), "addr");
    rejects(() -> Allocation.to("http", " \t", 80), "addr");
    rejects(() -> Allocation.to("http", "127.0.0.1", 0), "port");
    rejects(() -> Allocation.to("http", "127.0.0.1", -1), "port");
    rejects(() -> Allocation.to("http", "127.0.0.1", 65536), "port");
    rejects(() -> a.timeout(null), "timeout");
    rejects(() -> a.timeout(Duration.ZERO), "timeout");
    rejects(() -> a.timeout(Duration.ofMillis(-1)), "timeout");
    rejects(() -> a.timeout(Duration.ofSeconds(-1)), "timeout");
    rejects(() -> a.forTarget(null, "example.org", 80), "forScheme");
    rejects(() -> a.forTarget(" ", "example.org", 80), "forScheme");
    rejects(() -> a.forTarget("http", null, 80), "forAddr");
    rejects(() -> a.forTarget("http", "", 80), "forAddr");
    rejects(() -> a.forTarget("http", "example.org", 0), "forPort");
    rejects(() -> a.forTarget("http", "example.org", 65536), "forPort");
    rejects(() -> a.forTarget("http", "example.org", -1), "forPort");
    // a valid allocation is unchanged by a failed derivation
    assertThat(a.timeout()).isNull();
    assertThat(a.forScheme()).isEqualTo(a.scheme());
  }

  /** Null arguments of the manager's calls are rejected, naming them; nothing is answered. */
  private static void assertManagerRejectsNulls(ConnectionManager m, Allocation a) {
    ResultRecorder rec = new ResultRecorder();
    rejects(() -> m.allocate(null, rec), "request");
    rejects(() -> m.allocate(a, null), "event");
    rejects(() -> m.allocate((Allocation) null), "request");
    rejects(() -> m.free(null), "connection");
    assertThat(rec.all()).isEmpty();
  }

  @Test
  void builderRejectsEveryBadArgumentNamingIt() throws Exception {
    assertBuilderRejectsBadSettings(ConnectionManager::builder);
    // the good values are taken
    ConnectionManager.builder()
        .maxPerHost(1)
        .maxOpen(1)
        .keepAlive(Duration.ofNanos(1))
        .timeout(Duration.ofNanos(1))
        .resolver(Resolver.system())
        .bindAddress(InetAddress.getLoopbackAddress())
        .sslContext(SSLContext.getDefault())
        .build()
        .close();
  }

  @Test
  void allocationRejectsEveryBadArgumentNamingIt() {
    assertAllocationRejectsBadArguments(Allocation.to("http", "127.0.0.1", 65535));
    assertThat(Allocation.to("http", "127.0.0.1", 1).port()).isEqualTo(1);
  }

  @Test
  void managerRejectsBadArgumentsNamingThem() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create();
        ConnectionManager other = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      assertManagerRejectsNulls(m, a);
      Connection foreign = get(other.allocate(a));
      rejects(() -> m.free(foreign), "connection");
      assertThat(foreign.isOpen())
          .as("a refused free leaves the connection alone")
          .isTrue();
      other.free(foreign);
      assertThat(foreign.isOpen()).isFalse();
      await().until(() -> other.stats().idle() == 1);
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
    }
  }

  /**
   * Every argument error is an IllegalArgumentException whose message names the argument, also
   * when one builder is given one bad setting after another.
   */
  @Test
  void everyArgumentErrorNamesTheArgument() {
    ConnectionManager.Builder b = ConnectionManager.builder();
    assertBuilderRejectsBadSettings(() -> b);
    Allocation a = Allocation.to("http", "127.0.0.1", 80);
    assertAllocationRejectsBadArguments(a);
    try (ConnectionManager m = ConnectionManager.create()) {
      assertManagerRejectsNulls(m, a);
      awaitStats(m, 0, 0, 0, 0, 0);
    }
  }
}
