package dev.keepalive.reliability;

import static dev.keepalive.reliability.Harness.onLoop;
import static dev.keepalive.testing.Managers.EMPTY;
import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.assertTimedOut;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testing.Managers.stats;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.Resolver;
import dev.keepalive.reliability.LogCapture.Entry;
import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Faults on the manager's own side: file descriptors exhausted, a resolver that fails, throws,
 * is slow or never answers, user code that throws, and users that never give a connection back.
 */
@ReliabilityTest
class LocalFaultsTest {
  /** The child JVM's limit: its baseline is about 30 descriptors; the rest is exhausted. */
  private static final int CHILD_FD_LIMIT = 64;

  // ---------------------------------------------------------------- descriptors

  /**
   * In a child JVM limited to 64 descriptors and then made to exhaust them: requests that need a
   * socket answer "connect"/24/"Too many open files" exactly once, a pooled socket is still
   * served, nothing is half-made, and once descriptors are free the next request connects and
   * the process is back to its descriptors of before (see {@link FdExhaustionMain}).
   */
  @Test
  void exhaustedDescriptorsAnswer24AndTheManagerRecovers() throws Exception {
    try (AcceptingServer server = new AcceptingServer()) {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder pb = new ProcessBuilder(
          "bash",
          "-c",
          "ulimit -n " + CHILD_FD_LIMIT + " && exec \"$0\" -Xmx64m -XX:TieredStopAtLevel=1"
              + " -XX:-UsePerfData -cp \"$KEEPALIVE_TEST_CLASSPATH\" "
              + FdExhaustionMain.class.getName() + " \"$1\"",
          java,
          String.valueOf(server.port()));
      pb.environment().put("KEEPALIVE_TEST_CLASSPATH", System.getProperty("java.class.path"));
      pb.redirectErrorStream(true);
      Process child = pb.start();
      child.getOutputStream().close();
      CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
        try (InputStream in = child.getInputStream()) {
          return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
          return "cannot read the child's output: " + e;
        }
      });
      if (!child.waitFor(45, TimeUnit.SECONDS)) {
        child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(
            "the child JVM did not finish in 45 s: " + output.getNow("(no output yet)"));
      }
      String out = within(output);
      String verdict = out.lines()
          .filter(l -> l.startsWith(FdExhaustionMain.VERDICT))
          .findFirst()
          .orElse("(no verdict line)");
      System.out.println("child JVM under ulimit -n " + CHILD_FD_LIMIT + ": " + verdict);
      assertThat(verdict)
          .as("the child's output:%n%s", out)
          .startsWith(FdExhaustionMain.VERDICT + " OK ")
          .contains("limit=" + CHILD_FD_LIMIT, "emfileAnswers=4");
      assertThat(child.exitValue()).isZero();
      int connections = Integer.parseInt(verdict.replaceAll(".* connections=(\\d+).*", "$1"));
      await().until(() -> server.acceptedCount() == connections); // before the server closes
    }
  }

  // ---------------------------------------------------------------- resolver

  /** A resolver that goes wrong in one way, and the errorStr its requests must get. */
  enum BadResolver {
    FAILS(
        h -> CompletableFuture.failedFuture(
            new UnknownHostException(h + ": Name or service not known")),
        "bad.test: Name or service not known"),
    FAILS_WRAPPED(
        h -> CompletableFuture.failedFuture(new CompletionException(new UnknownHostException(h))),
        "bad.test"),
    FAILS_WITHOUT_MESSAGE(
        h -> CompletableFuture.failedFuture(new IOException()), "java.io.IOException"),
    THROWS(
        h -> {
          throw new IllegalStateException("resolver exploded");
        },
        "resolver exploded"),
    THROWS_AN_ERROR(
        h -> {
          throw new AssertionError("resolver broke");
        },
        "resolver broke"),
    RETURNS_NULL(h -> null, "the resolver returned no CompletionStage"),
    ANSWERS_NULL(h -> CompletableFuture.completedFuture(null), "Host has no address."),
    ANSWERS_NOTHING(h -> CompletableFuture.completedFuture(List.of()), "Host has no address."),
    ANSWERS_A_NULL_ADDRESS(
        h -> CompletableFuture.completedFuture(Arrays.asList(Loopback.ipv4(), null)),
        "The resolver answered an invalid address list: java.lang.NullPointerException"),
    FAILS_LATER_ON_ITS_OWN_THREAD(
        h -> CompletableFuture.supplyAsync(
            () -> {
              throw new CompletionException(new UnknownHostException(h + " (late)"));
            },
            CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS)),
        "bad.test (late)");

    final Function<String, CompletionStage<List<InetAddress>>> behaviour;
    final String errorStr;

    BadResolver(Function<String, CompletionStage<List<InetAddress>>> behaviour, String errorStr) {
      this.behaviour = behaviour;
      this.errorStr = errorStr;
    }
  }

  /**
   * Three requests for a host whose lookup goes wrong share one lookup and each get
   * "resolve"/null/the resolver's words, once; nothing stays behind; the next lookup of the
   * same host is made afresh; literal addresses, which skip the resolver, work throughout.
   */
  @ParameterizedTest
  @EnumSource(BadResolver.class)
  void aResolverThatFailsOrThrowsAnswersResolveOnceForEveryWaiter(BadResolver bad)
      throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    Resolver resolver = host -> {
      lookups.incrementAndGet();
      return bad.behaviour.apply(host);
    };
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "bad.test", server.port());
      ResultRecorder rec = new ResultRecorder();
      onLoop(
          m,
          () -> { // all three join one lookup
            for (int i = 0; i < 3; i++) {
              m.allocate(a, rec);
            }
            return null;
          });
      for (int i = 0; i < 3; i++) {
        assertFailure(rec.next(), "resolve", null, bad.errorStr);
      }
      assertThat(lookups.get()).isEqualTo(1);
      awaitStats(m, EMPTY);
      assertThat(onLoop(m, () -> Internals.books(m))).isEqualTo(Internals.Books.NONE);

      m.allocate(a, rec); // not remembered: asked again, fails again
      assertFailure(rec.next(), "resolve", null, bad.errorStr);
      assertThat(lookups.get()).isEqualTo(2);
      assertNextServed(m, plain(server.port()), FromCache.NEW, server);
      m.close();
      assertThat(rec.all()).hasSize(4);
    }
  }

  /** A slow lookup delays only its own requests; answered in time, they connect. */
  @Test
  void aSlowResolverDelaysOnlyItsOwnRequests() throws Exception {
    TestResolver manual = TestResolver.manual();
    Resolver delayed = host -> CompletableFuture.supplyAsync(
        () -> List.of(Loopback.ipv4()),
        CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS));
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(manual).build();
        ConnectionManager m2 = ConnectionManager.builder().resolver(delayed).build()) {
      ResultRecorder slow = new ResultRecorder();
      m.allocate(Allocation.to("http", "slow.test", server.port()), slow);
      awaitStats(m, stats(0, 0, 0, 0, 1));
      Connection meanwhile = get(m.allocate(plain(server.port())));
      peerOf(server, meanwhile); // accepted before the server closes
      assertThat(meanwhile.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(slow.all()).isEmpty();
      manual.completeAll(Loopback.ipv4());
      AllocationResult r = slow.next();
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(r.addr()).isEqualTo("slow.test");
      peerOf(server, r.connection()); // accepted before the server closes
      r.connection().close();
      meanwhile.close();
      awaitStats(m, stats(2, 2, 0, 0, 0));

      assertNextServed(
          m2, Allocation.to("http", "slow.test", server.port()), FromCache.NEW, server);
      m.close();
      assertThat(slow.all()).hasSize(1);
    }
  }

  /**
   * A lookup slower than the request's timeout: 110 once; the answer that comes later reaches
   * nobody; the next request for the host starts a lookup of its own and connects.
   */
  @Test
  void aResolverSlowerThanTheTimeoutAnswers110OnceAndItsLateAnswerIsDropped() throws Exception {
    TestResolver manual = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(manual).build()) {
      Allocation a = Allocation.to("http", "slow.test", server.port());
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a.timeout(Duration.ofMillis(200)), rec);
      assertTimedOut(rec.next());
      assertThat(onLoop(m, () -> Internals.books(m))).isEqualTo(Internals.Books.NONE);
      manual.completeAll(Loopback.ipv4()); // too late
      ResultRecorder again = new ResultRecorder();
      m.allocate(a, again);
      await().until(() -> manual.callCount() == 2);
      manual.calls().get(1).answer().complete(List.of(Loopback.ipv4()));
      AllocationResult r = again.next();
      assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
      peerOf(server, r.connection()); // accepted before the server closes
      r.connection().close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      assertThat(server.acceptedCount()).isEqualTo(1);
      m.close();
      assertThat(rec.all()).hasSize(1);
      assertThat(again.all()).hasSize(1);
    }
  }

  /** A resolver that never answers: every request times out once; nothing is left behind. */
  @Test
  void aResolverThatNeverAnswersLeaksNothing() throws Exception {
    TestResolver manual = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .resolver(manual)
            .timeout(Duration.ofMillis(200))
            .build()) {
      ResultRecorder rec = new ResultRecorder();
      for (int i = 0; i < 30; i++) {
        m.allocate(Allocation.to("http", "never" + (i % 10) + ".test", server.port()), rec);
      }
      for (int i = 0; i < 30; i++) {
        assertTimedOut(rec.next());
      }
      awaitStats(m, EMPTY);
      assertThat(onLoop(m, () -> Internals.books(m))).isEqualTo(Internals.Books.NONE);
      assertThat(manual.hosts().stream().distinct().count()).isEqualTo(10);
      Connection c = get(m.allocate(plain(server.port()).timeout(Duration.ofSeconds(10))));
      peerOf(server, c); // accepted before the server closes
      c.close();
      m.close();
      assertThat(rec.all()).hasSize(30);
      assertThat(rec.all().stream().map(AllocationResult::requestId).distinct()).hasSize(30);
    }
  }

  // ---------------------------------------------------------------- user code that throws

  /**
   * An allocation callback that throws (a RuntimeException on a success, an Error on a
   * failure) is logged at ERROR with what it threw; the loop goes on. The connection the
   * throwing callback dropped is reclaimed later with a WARNING and discarded, never pooled.
   */
  @Test
  void aThrowingAllocationCallbackIsLoggedAndTheLoopSurvives() throws Exception {
    try (LogCapture log = new LogCapture();
        AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      RuntimeException boom = new IllegalStateException("callback boom");
      AssertionError error = new AssertionError("callback error");
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Integer> droppedPort = new CompletableFuture<>();
      m.allocate(plain(server.port()), r -> {
        calls.incrementAndGet();
        droppedPort.complete(r.connection().localAddress().getPort());
        throw boom;
      });
      m.allocate(plain(Loopback.closedPort()), r -> {
        calls.incrementAndGet();
        throw error;
      });
      await()
          .until(() -> log.at(LogCapture.ERROR, "an allocation callback threw").size() == 2);
      assertThat(log.at(LogCapture.ERROR, "an allocation callback threw"))
          .extracting(Entry::thrown)
          .containsExactlyInAnyOrder(boom, error);

      Connection c = get(m.allocate(plain(server.port())));
      peerOf(server, c); // accepted before the server closes
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW); // the dropped one is still leased
      c.close();

      int port = within(droppedPort);
      awaitReclaimed(m);
      assertThat(log.at(LogCapture.WARNING, "a connection to"))
          .extracting(Entry::text)
          .containsExactly(forgottenWarning(server.port()));
      assertThat(PeerIo.awaitClosed(peerOf(server, port))).isEqualTo(PeerIo.Ending.EOF);
      awaitStats(m, stats(1, 1, 0, 0, 0));
      Connection again = get(m.allocate(plain(server.port())));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(again.localAddress().getPort()).isNotEqualTo(port);
      again.close();
      assertThat(calls.get()).isEqualTo(2);
    }
  }

  /** Throws from every method, after recording what it got. */
  private static final class ThrowingHandler implements ConnectionHandler {
    final HandlerRecorder seen = new HandlerRecorder();

    @Override
    public void onInput(Connection connection, ByteBuffer data) {
      seen.onInput(connection, data);
      throw new IllegalStateException("onInput boom");
    }

    @Override
    public void onEof(Connection connection) {
      seen.onEof(connection);
      throw new IllegalStateException("onEof boom");
    }

    @Override
    public void onError(Connection connection, IOException e) {
      seen.onError(connection, e);
      throw new IllegalStateException("onError boom");
    }
  }

  /**
   * A handler that throws from onInput keeps getting input (each throw logged once at ERROR),
   * and its onEof or onError is still called once and logged when it throws; the loop goes on.
   */
  @Test
  void aThrowingHandlerIsLoggedAndStillHearsEverything() throws Exception {
    try (LogCapture log = new LogCapture();
        AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = plain(server.port());
      Connection c = get(m.allocate(a));
      Socket peer = peerOf(server, c);
      ThrowingHandler h = new ThrowingHandler();
      c.start(h);
      PeerIo.write(peer, "one");
      await().until(() -> h.seen.text().equals("one"));
      PeerIo.write(peer, "two");
      await().until(() -> h.seen.text().equals("onetwo"));
      peer.shutdownOutput();
      await().until(() -> h.seen.eofs.get() == 1);
      await()
          .until(() ->
              log.at(LogCapture.ERROR, "a connection handler's onEof threw").size() == 1);
      assertThat(log.at(LogCapture.ERROR, "a connection handler's onInput threw"))
          .hasSize(h.seen.inputs.get())
          .allSatisfy(e -> assertThat(e.thrown()).hasMessage("onInput boom"));
      c.close(); // at EOF: not pooled
      awaitStats(m, EMPTY);

      Connection c2 = get(m.allocate(a));
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      ThrowingHandler h2 = new ThrowingHandler();
      c2.start(h2);
      PeerFaultsTest.inflict(PeerFaultsTest.Fault.RST, peerOf(server, c2));
      await()
          .until(() ->
              log.at(LogCapture.ERROR, "a connection handler's onError threw").size() == 1);
      c2.close();
      awaitStats(m, EMPTY);
      assertNextServed(m, a, FromCache.NEW, server);
      m.close();
      assertThat(h.seen.eofs.get()).isEqualTo(1);
      assertThat(h.seen.errors.get()).isZero();
      assertThat(h2.seen.errors.get()).isEqualTo(1);
      assertThat(h2.seen.eofs.get()).isZero();
      assertThat(log.at(LogCapture.ERROR, "a connection handler's onEof threw")).hasSize(1);
      assertThat(log.at(LogCapture.ERROR, "a connection handler's onError threw"))
          .hasSize(1);
    }
  }

  // ---------------------------------------------------------------- users who never give back

  static String forgottenWarning(int serverPort) {
    return "a connection to http://127.0.0.1:" + serverPort + " was never closed; its socket was"
        + " discarded (call close() or discard() on every Connection)";
  }

  /** Collects garbage until no connection is leased any more (the reaper gave them back). */
  private static void awaitReclaimed(ConnectionManager m) {
    Await.await().pollInterval(Duration.ofMillis(20)).until(() -> {
      System.gc();
      return m.stats().leased() == 0;
    });
  }

  /**
   * Twenty connections, half from callbacks and half from futures, that nobody closes: each is
   * reclaimed once unreachable, with one WARNING naming its target, and its socket is closed
   * (the peer reads EOF), never pooled.
   */
  @Test
  void forgottenConnectionsAreReclaimedWithOneWarningEach() throws Exception {
    try (LogCapture log = new LogCapture();
        AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(20).build()) {
      Allocation a = plain(server.port());
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        CompletableFuture<Integer> port = new CompletableFuture<>();
        m.allocate(a, r -> port.complete(r.connection().localAddress().getPort()));
        ports.add(within(port));
        ports.add(get(m.allocate(a)).localAddress().getPort());
      }
      awaitStats(m, stats(20, 0, 20, 0, 0));
      awaitReclaimed(m);
      awaitStats(m, EMPTY);
      List<Entry> warnings = log.at(LogCapture.WARNING, "a connection to");
      assertThat(warnings)
          .hasSize(20)
          .extracting(Entry::text)
          .containsOnly(forgottenWarning(server.port()));
      for (int port : ports) {
        assertThat(PeerIo.awaitClosed(peerOf(server, port))).isEqualTo(PeerIo.Ending.EOF);
      }
      assertNextServed(m, a, FromCache.NEW, server);
      assertThat(server.acceptedCount()).isEqualTo(21);
      assertThat(log.at(LogCapture.ERROR, "")).isEmpty();
    }
  }

  /** Leases, starts {@code h} and drops the connection; a weak reference to it. */
  private static WeakReference<Connection> leaseStartAndDrop(
      ConnectionManager m, Allocation a, ConnectionHandler h, AtomicInteger port) throws Exception {
    Connection c = get(m.allocate(a));
    port.set(c.localAddress().getPort());
    c.start(h);
    return new WeakReference<>(c);
  }

  /**
   * A dropped connection whose handler is started is still in use (its handler may close it on
   * the next input): it is not reclaimed. Once its input ends (the peer's FIN, onEof) it is
   * forgotten for good, and reclaimed with a warning.
   */
  @Test
  void aDroppedConnectionWithAStartedHandlerIsReclaimedOnceItsInputEnds() throws Exception {
    try (LogCapture log = new LogCapture();
        AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = plain(server.port());
      HandlerRecorder h = new HandlerRecorder();
      AtomicInteger port = new AtomicInteger();
      WeakReference<Connection> weak = leaseStartAndDrop(m, a, h, port);
      Socket peer = peerOf(server, port.get());
      PeerIo.write(peer, "still read");
      await().until(() -> h.text().equals("still read"));
      System.gc();
      assertThat(weak.get()).as("reachable through its started handler").isNotNull();
      assertThat(m.stats()).isEqualTo(stats(1, 0, 1, 0, 0));
      assertThat(log.at(LogCapture.WARNING, "")).isEmpty();

      peer.shutdownOutput();
      await().until(() -> h.eofs.get() == 1);
      awaitReclaimed(m);
      awaitStats(m, EMPTY);
      assertThat(weak.get()).isNull();
      assertThat(log.at(LogCapture.WARNING, "a connection to"))
          .extracting(Entry::text)
          .containsExactly(forgottenWarning(server.port()));
      assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.EOF);
      assertThat(h.errors.get()).isZero();
    }
  }
}
