package dev.keepalive;

import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testkit.UnixEchoServer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Connections over Unix domain sockets ({@link Allocation#unixSocket}): pooled like any key. */
class UnixSocketTest {
  private final ConnectionManager m =
      ConnectionManager.builder().timeout(Duration.ofSeconds(20)).build();

  @AfterEach
  void close() {
    m.close();
  }

  private static void roundTrip(Connection c, String text) throws Exception {
    within(c.write(buf(text)));
    c.readTimeout(Duration.ofSeconds(20));
    assertThat(new String(c.inputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
        .isEqualTo(text);
  }

  @Test
  void connectsWithoutALookupAndPoolsTheSocket() throws Exception {
    try (UnixEchoServer server = new UnixEchoServer()) {
      // the name is never resolved: it only names the target
      Allocation a = Allocation.to("http", "no-such-host.invalid", 80).unixSocket(server.path());
      Connection c = get(m.allocate(a));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c.remoteAddress()).isNull();
      assertThat(c.localAddress()).isNull();
      roundTrip(c, "over a unix socket");
      c.close();
      Connection again = get(m.allocate(a));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      roundTrip(again, "again");
      again.close();
      assertThat(server.acceptedCount()).isEqualTo(1);
      // the path is part of the key: the same target over TCP is another key
      assertThat(m.stats(a).idle()).isEqualTo(1);
      assertThat(m.stats(Allocation.to("http", "no-such-host.invalid", 80)).open())
          .isZero();
    }
    await().until(() -> m.stats().open() == 0);
  }

  @Test
  void aMissingSocketFileAndAStaleOneAreConnectFailures(@TempDir Path dir) throws Exception {
    Allocation missing = Allocation.to("http", "localhost", 80).unixSocket(dir.resolve("none"));
    assertFailure(failureOf(m.allocate(missing)), "connect", 2, "No such file or directory");

    Path stale = dir.resolve("stale.sock");
    ServerSocketChannel gone = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    gone.bind(UnixDomainSocketAddress.of(stale));
    gone.close(); // the file stays, nothing listens
    assertThat(Files.exists(stale)).isTrue();
    Allocation refused = Allocation.to("http", "localhost", 80).unixSocket(stale);
    assertFailure(failureOf(m.allocate(refused)), "connect", 111, "Connection refused");
    await().until(() -> m.stats().open() == 0);
  }
}
