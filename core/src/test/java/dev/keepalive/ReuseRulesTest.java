package dev.keepalive;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testkit.AcceptingServer;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-connection reuse rules through the public API: a holder limits how its socket may be
 * reused ({@link Connection#keepAliveTimeout}, {@link Connection#keepAliveMax}), and a request can
 * demand a fresh connection ({@link Allocation#fresh()}). The pool's side of each rule, with a
 * manual clock, is in PoolTest.ReuseRules.
 */
class ReuseRulesTest {
  private AcceptingServer server;
  private ConnectionManager manager;
  private Allocation to;

  @BeforeEach
  void start() {
    server = new AcceptingServer();
    manager = ConnectionManager.builder().maxPerHost(2).build();
    to = Allocation.to("http", "127.0.0.1", server.port());
  }

  @AfterEach
  void stop() {
    manager.close();
    server.close();
  }

  private Connection get(Allocation a) throws Exception {
    return manager.allocate(a).get(10, TimeUnit.SECONDS);
  }

  /** Leases a connection for {@code to}, gives it back with {@code rules} set; its peer. */
  private Socket givenBackWith(UnaryOperator<Connection> rules) throws Exception {
    Connection c = get(to);
    Socket peer = server.nextAccepted();
    rules.apply(c).close();
    return peer;
  }

  /** True once the peer of {@code c} sees the client close (EOF). */
  private static boolean peerSawClose(Socket peer) throws Exception {
    peer.setSoTimeout(10_000);
    try (InputStream in = peer.getInputStream()) {
      return in.read() == -1;
    }
  }

  @Test
  void aFreshAllocationOpensANewConnectionWhileAnIdleOneWaits() throws Exception {
    Connection first = get(to);
    first.close();
    await().until(() -> manager.stats().idle() == 1);
    Connection fresh = get(to.fresh());
    assertThat(fresh.fromCache()).isEqualTo(FromCache.NEW);
    await().until(() -> server.acceptedCount() == 2); // the server accepts on its own thread
    assertThat(get(to).fromCache())
        .as("the idle one is still there")
        .isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void freshIsPartOfTheCopyNotOfTheKey() {
    Allocation f = to.fresh();
    assertThat(f.isFresh()).isTrue();
    assertThat(to.isFresh()).isFalse();
    assertThat(f.timeout(Duration.ofSeconds(1)).context("x").isFresh()).isTrue();
    assertThat(f.toString()).contains("fresh");
  }

  @Test
  void aZeroKeepAliveTimeoutClosesTheSocketAtGiveBack() throws Exception {
    Socket peer = givenBackWith(c -> c.keepAliveTimeout(Duration.ZERO));
    assertThat(peerSawClose(peer)).isTrue();
    await().until(() -> manager.stats().open() == 0);
  }

  @Test
  void aKeepAliveTimeoutClosesTheIdleSocketWhenItPasses() throws Exception {
    Socket peer = givenBackWith(c -> c.keepAliveTimeout(Duration.ofMillis(100)));
    assertThat(peerSawClose(peer)).isTrue(); // closed by the pool, long before its keep-alive
    await().until(() -> manager.stats().open() == 0);
    assertThat(get(to).fromCache()).isEqualTo(FromCache.NEW);
  }

  @Test
  void aLongKeepAliveTimeoutKeepsTheSocketReusable() throws Exception {
    get(to).keepAliveTimeout(Duration.ofDays(365 * 1000)).close();
    assertThat(get(to).fromCache()).isEqualTo(FromCache.IMMEDIATE);
  }

  @Test
  void keepAliveMaxAllowsThatManyMoreHandOutsThenCloses() throws Exception {
    Socket peer = givenBackWith(c -> c.keepAliveMax(1));
    Connection again = get(to);
    assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    again.close(); // its last use: closed, not pooled
    assertThat(peerSawClose(peer)).isTrue();
    assertThat(get(to).fromCache()).isEqualTo(FromCache.NEW);
  }

  @Test
  void aZeroKeepAliveMaxClosesAtGiveBack() throws Exception {
    Socket peer = givenBackWith(c -> c.keepAliveMax(0));
    assertThat(peerSawClose(peer)).isTrue();
  }

  @Test
  void badReuseLimitsAreRejectedNamingTheArgument() throws Exception {
    Connection c = get(to);
    assertThatThrownBy(() -> c.keepAliveTimeout(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeout");
    assertThatThrownBy(() -> c.keepAliveTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeout");
    assertThatThrownBy(() -> c.keepAliveMax(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("moreUses");
    c.close();
    assertThat(get(to).fromCache())
        .as("a rejected limit changes nothing")
        .isEqualTo(FromCache.IMMEDIATE);
  }
}
