package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.Managers;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.LogCapture;
import dev.keepalive.testkit.TcpTable;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Idle health checks on real sockets, against a line protocol: the server answers {@code PING}
 * with {@code PONG} and echoes any other line. The check is the one README.md shows: it writes
 * {@code PING}, reads one line and is healthy when that line is {@code PONG} and nothing follows.
 */
class HealthCheckTest {
  /** The line protocol's ping: healthy when the answer is exactly "PONG\n". */
  static CompletionStage<Boolean> ping(Connection connection) {
    return ask(connection, "PING", "PONG");
  }

  /** Sends the line {@code question}; healthy when the answer is exactly the line {@code answer}. */
  static CompletionStage<Boolean> ask(Connection connection, String question, String answer) {
    CompletableFuture<Boolean> healthy = new CompletableFuture<>();
    StringBuilder line = new StringBuilder();
    connection.start(new ConnectionHandler() {
      @Override
      public void onInput(Connection c, ByteBuffer data) {
        while (data.hasRemaining() && !healthy.isDone()) {
          char ch = (char) data.get();
          if (ch == '\n') {
            healthy.complete(line.toString().equals(answer) && !data.hasRemaining());
          } else {
            line.append(ch);
          }
        }
      }

      @Override
      public void onEof(Connection c) {
        healthy.complete(false);
      }

      @Override
      public void onError(Connection c, IOException e) {
        healthy.complete(false);
      }
    });
    connection.write(ByteBuffer.wrap((question + "\n").getBytes(StandardCharsets.US_ASCII)));
    return healthy;
  }

  /**
   * The verdicts of checks that never end, kept reachable as a real check's pending answer would
   * be (by the socket it waits on): a check's connection nobody can reach any more is reclaimed
   * by the manager's reaper like any forgotten connection (closed, its request served again),
   * which at a GC's whim would end these checks early.
   */
  private final List<CompletableFuture<Boolean>> pending = new CopyOnWriteArrayList<>();

  /** Verdicts that never come (kept in {@link #pending}). */
  private Supplier<CompletableFuture<Boolean>> never() {
    return () -> {
      CompletableFuture<Boolean> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    };
  }

  /** A manager that checks a pooled socket with {@code check} before every reuse. */
  static ConnectionManager checkingWith(HealthCheck check) {
    return ConnectionManager.builder().healthCheck(Duration.ZERO, check).build();
  }

  /**
   * A check that writes {@code PING} and reads nothing: its verdict is the future {@code verdict}
   * gives for that check (one the test completes, or never).
   */
  static HealthCheck pingThen(Supplier<CompletableFuture<Boolean>> verdict) {
    return c -> {
      c.write(ByteBuffer.wrap("PING\n".getBytes(StandardCharsets.US_ASCII)));
      return verdict.get();
    };
  }

  /** PING gets PONG (while it answers pings); any other line comes back as it was sent. */
  static final class LineServer implements AutoCloseable {
    final AtomicBoolean answerPings = new AtomicBoolean(true);
    final AtomicInteger pings = new AtomicInteger();
    /** The client ports of the connections the client closed. */
    final List<Integer> closedByClient = new CopyOnWriteArrayList<>();

    final AcceptingServer server = new AcceptingServer(peer -> {
      BufferedReader in = new BufferedReader(
          new InputStreamReader(peer.getInputStream(), StandardCharsets.US_ASCII));
      OutputStream out = peer.getOutputStream();
      try {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.equals("PING")) {
            pings.incrementAndGet();
            if (answerPings.get()) {
              out.write("PONG\n".getBytes(StandardCharsets.US_ASCII));
            }
          } else {
            out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
          }
          out.flush();
        }
      } finally {
        closedByClient.add(peer.getPort());
      }
    });

    Allocation allocation() {
      return Managers.plain(server.port());
    }

    @Override
    public void close() {
      server.close();
    }
  }

  final LineServer server = new LineServer();

  @AfterEach
  void closeServer() {
    server.close();
  }

  /** Sends a line through {@code c} and reads the echo back: the connection is in step. */
  static void assertEchoes(Connection c, String text) throws Exception {
    Await.within(c.write(ByteBuffer.wrap((text + "\n").getBytes(StandardCharsets.US_ASCII))));
    byte[] echo = c.inputStream().readNBytes(text.length() + 1);
    assertThat(new String(echo, StandardCharsets.US_ASCII)).isEqualTo(text + "\n");
  }

  /** A NEW connection, used once and given back: then idle in the pool. */
  static int pooledSocket(ConnectionManager m, Allocation a) throws Exception {
    Connection c = get(m.allocate(a));
    assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
    assertEchoes(c, "first");
    int port = c.localAddress().getPort();
    c.close();
    awaitStats(m, 1, 1, 0, 0, 0);
    return port;
  }

  @Test
  void aHealthySocketIsPingedThenHandedOutDeferredInStepForTheRequest() throws Exception {
    try (ConnectionManager m = ConnectionManager.builder()
        .healthCheck(Duration.ZERO, HealthCheckTest::ping)
        .build()) {
      int port = pooledSocket(m, server.allocation());
      assertThat(server.pings).hasValue(0); // a NEW socket is never checked

      Connection c = get(m.allocate(server.allocation()));
      assertThat(c.fromCache()).isEqualTo(FromCache.DEFERRED);
      assertThat(c.localAddress().getPort()).isEqualTo(port);
      assertThat(server.pings).hasValue(1);
      assertEchoes(c, "after the ping"); // nothing of the check is left on the stream
      c.close();
      awaitStats(m, 1, 1, 0, 0, 0);
      assertThat(server.server.acceptedCount()).isEqualTo(1);
    }
  }

  @Test
  void aSocketIdleForLessThanTheThresholdIsHandedOutUnchecked() throws Exception {
    try (ConnectionManager m = ConnectionManager.builder()
        .healthCheck(Duration.ofHours(1), HealthCheckTest::ping)
        .build()) {
      int port = pooledSocket(m, server.allocation());
      Connection c = get(m.allocate(server.allocation()));
      assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(c.localAddress().getPort()).isEqualTo(port);
      assertEchoes(c, "unchecked");
      c.close();
      assertThat(server.pings).hasValue(0);
    }
  }

  @Test
  void aServerThatStopsAnsweringPingsFailsTheCheckAndTheRequestGetsANewSocket() throws Exception {
    // the check bounds its own wait, as a real one should: a silent peer then fails it
    HealthCheck bounded = c -> ping(c).toCompletableFuture().orTimeout(200, TimeUnit.MILLISECONDS);
    try (ConnectionManager m = checkingWith(bounded)) {
      int port = pooledSocket(m, server.allocation());
      server.answerPings.set(false);

      ResultRecorder results = new ResultRecorder();
      long id = m.allocate(server.allocation(), results);
      AllocationResult r = results.next();
      assertThat(r.isSuccess()).isTrue();
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r.connection().localAddress().getPort()).isNotEqualTo(port);
      assertThat(server.pings).hasValue(1);
      await().until(() -> server.closedByClient.contains(port)); // the silent socket is closed
      assertEchoes(r.connection(), "on a new socket");
      r.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
      assertThat(results.countFor(id)).isEqualTo(1);
    }
  }

  @Test
  void aCheckThatThrowsOrSaysFalseClosesTheSocketAndTheRequestGetsANewOne() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    HealthCheck failing = c -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("a broken check");
      }
      return CompletableFuture.completedFuture(false);
    };
    try (ConnectionManager m = checkingWith(failing)) {
      for (int round = 1; round <= 2; round++) {
        int port = pooledSocket(m, server.allocation());
        Connection c = get(m.allocate(server.allocation()));
        assertThat(calls).hasValue(round);
        assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
        assertThat(c.localAddress().getPort()).isNotEqualTo(port);
        await().until(() -> server.closedByClient.contains(port));
        assertEchoes(c, "round " + round);
        c.discard();
        awaitStats(m, Managers.EMPTY);
      }
    }
  }

  @Test
  void aCheckThatNeverCompletesEndsWithTheRequestsTimeoutOnceAndLeaksNoSocket() throws Exception {
    try (ConnectionManager m = checkingWith(pingThen(never()))) {
      int before = Descriptors.count();
      int port = pooledSocket(m, server.allocation());
      ResultRecorder results = new ResultRecorder();
      long id = m.allocate(server.allocation().timeout(Duration.ofMillis(300)), results);
      AllocationResult r = results.next();
      Managers.assertTimedOut(r);
      await().until(() -> server.closedByClient.contains(port));
      awaitStats(m, Managers.EMPTY);
      assertThat(server.pings).hasValue(1);
      // no descriptor left but the server's side of the connection it accepted
      await().until(() -> Descriptors.count() <= before + server.server.acceptedCount());
      assertThat(results.countFor(id)).isEqualTo(1);
      assertThat(results.all()).hasSize(1);
    }
  }

  @Test
  void deallocateDuringACheckCancelsTheRequestAndClosesTheSocket() throws Exception {
    try (ConnectionManager m = checkingWith(pingThen(never()))) {
      int port = pooledSocket(m, server.allocation());
      ResultRecorder results = new ResultRecorder();
      long id = m.allocate(server.allocation(), results);
      await().until(() -> server.pings.get() == 1); // the check is under way
      assertThat(m.stats()).isEqualTo(Managers.stats(1, 0, 1, 0, 0));
      assertThat(m.deallocate(id)).isTrue();
      await().until(() -> server.closedByClient.contains(port));
      awaitStats(m, Managers.EMPTY);
      assertThat(m.deallocate(id)).isFalse();
      // a later request is served normally, and the cancelled one never hears anything
      m.allocate(server.allocation(), results);
      AllocationResult next = results.next();
      assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
      next.connection().close();
      assertThat(results.countFor(id)).isZero();
    }
  }

  /**
   * A check whose verdict nobody can reach any more can never end: its connection is reclaimed
   * like any forgotten one, with a WARNING that says it was a health check's: the check counts as
   * failed (its socket closed, HEALTH_CHECK_FAILED) and the request is served again, NEW.
   */
  @Test
  void aCheckWhoseVerdictIsUnreachableIsReclaimedAndTheRequestServedAgain() throws Exception {
    try (LogCapture log = LogCapture.debug("dev.keepalive");
        ConnectionManager m = checkingWith(pingThen(CompletableFuture::new))) {
      int port = pooledSocket(m, server.allocation());
      ResultRecorder results = new ResultRecorder();
      m.allocate(server.allocation(), results);
      await().until(() -> server.pings.get() == 1);
      await().until(() -> {
        System.gc(); // the check's connection is unreachable now: the reaper finds it
        return !results.all().isEmpty();
      });
      AllocationResult r = results.next();
      assertThat(r.isSuccess()).as("%s", r).isTrue();
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r.connection().localAddress().getPort()).isNotEqualTo(port);
      await().until(() -> server.closedByClient.contains(port));
      assertThat(m.totals().closed(CloseReason.HEALTH_CHECK_FAILED))
          .as("%s", m.totals())
          .isEqualTo(1);
      assertThat(log.lines())
          .anyMatch(l -> l.startsWith("a health check of a connection to http://127.0.0.1:")
              && l.contains("became unreachable before its verdict"))
          .noneMatch(l -> l.contains("was never closed"));
      r.connection().close();
    }
  }

  @Test
  void shutdownDuringACheckAnswersShutdownAndClosesTheSocket() throws Exception {
    try (ConnectionManager m = checkingWith(pingThen(never()))) {
      int port = pooledSocket(m, server.allocation());
      ResultRecorder results = new ResultRecorder();
      m.allocate(server.allocation(), results);
      await().until(() -> server.pings.get() == 1);
      m.shutdown();
      AllocationResult r = results.next();
      assertThat(r.function()).as("%s", r).isEqualTo("shutdown");
      await().until(() -> server.closedByClient.contains(port));
      awaitStats(m, Managers.EMPTY);
    }
  }

  @Test
  void aCheckThatClosesItsConnectionFailsAndTheSocketIsNotReused() throws Exception {
    try (ConnectionManager m = ConnectionManager.builder()
        .healthCheck(Duration.ZERO, c -> {
          c.close();
          return new CompletableFuture<>();
        })
        .build()) {
      int port = pooledSocket(m, server.allocation());
      Connection c = get(m.allocate(server.allocation()));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      await().until(() -> server.closedByClient.contains(port));
      c.close();
    }
  }

  @Test
  void aCheckThatSaysTrueButLeavesItsAnswerUnreadFailsTheProbeAndTheRequestGetsANewSocket()
      throws Exception {
    CompletableFuture<Boolean> verdict = new CompletableFuture<>();
    try (ConnectionManager m = checkingWith(pingThen(() -> verdict))) {
      int port = pooledSocket(m, server.allocation());
      ResultRecorder results = new ResultRecorder();
      m.allocate(server.allocation(), results);
      await().until(() -> TcpTable.receiveQueue(port) == 5); // "PONG\n" waits, unread
      verdict.complete(true); // from the test's thread: the manager takes it to its loop
      AllocationResult r = results.next();
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r.connection().localAddress().getPort()).isNotEqualTo(port);
      await().until(() -> server.closedByClient.contains(port));
      assertEchoes(r.connection(), "nothing stale"); // the stray PONG never reaches a request
      r.connection().close();
    }
  }

  @Test
  void aTlsSocketIsCheckedThroughTlsAndHandedOutInStep() throws Exception {
    AtomicInteger checks = new AtomicInteger();
    HealthCheck echo = c -> {
      checks.incrementAndGet();
      assertThat(c.sslSession()).isNotNull();
      return ask(c, "PING", "PING"); // the echo server's answer
    };
    try (TlsServer tls = TlsServer.echo();
        ConnectionManager m = ConnectionManager.builder()
            .sslContext(TestCertificates.get().clientContext())
            .healthCheck(Duration.ZERO, echo)
            .build()) {
      Allocation a = Allocation.to("https", "127.0.0.1", tls.port());
      int port = pooledSocket(m, a);
      Connection c = get(m.allocate(a));
      assertThat(c.fromCache()).isEqualTo(FromCache.DEFERRED);
      assertThat(c.localAddress().getPort()).isEqualTo(port);
      assertThat(checks).hasValue(1);
      assertEchoes(c, "after the check, over TLS");
      c.close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  @Test
  void builderRejectsBadHealthArgumentsNamingThem() {
    ConnectionManager.Builder b = ConnectionManager.builder();
    HealthCheck check = HealthCheckTest::ping;
    assertThatThrownBy(() -> b.healthCheck(null, check))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("idleLongerThan");
    assertThatThrownBy(() -> b.healthCheck(Duration.ofSeconds(-1), check))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("idleLongerThan");
    assertThatThrownBy(() -> b.healthCheck(Duration.ZERO, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("check");
    Duration s = Duration.ofSeconds(10);
    for (Duration bad : new Duration[] {
      null,
      Duration.ZERO,
      Duration.ofMillis(1500),
      Duration.ofSeconds(32768),
      Duration.ofSeconds(-1)
    }) {
      assertThatThrownBy(() -> b.tcpKeepAlive(bad, s, 3))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("idle ");
      assertThatThrownBy(() -> b.tcpKeepAlive(s, bad, 3))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("interval ");
    }
    for (int bad : new int[] {0, -1, 128}) {
      assertThatThrownBy(() -> b.tcpKeepAlive(s, s, bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("probes ");
    }
    // the limits themselves are taken
    b.tcpKeepAlive(Duration.ofSeconds(1), Duration.ofSeconds(32767), 127);
    b.tcpKeepAlive(true).tcpKeepAlive(false).healthCheck(Duration.ZERO, check);
  }
}
