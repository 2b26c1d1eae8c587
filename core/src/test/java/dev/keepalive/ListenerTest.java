package dev.keepalive;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testing.Managers;
import dev.keepalive.testing.RecordingListener;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.LogCapture;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * ConnectionListener with real sockets on 127.0.0.1: each step of a request and a socket in the
 * order it happens, on the event loop; a listener that throws changes nothing; the DEBUG log of
 * closes.
 */
class ListenerTest {
  private final RecordingListener events = new RecordingListener();

  private ServerRig<AcceptingServer> rig(ConnectionManager.Builder b) {
    return ServerRig.plain(() -> b.listener(events).build());
  }

  @Test
  void aNewSocketItsReuseAndItsCloseAreHeardInOrderOnTheLoop() throws Exception {
    try (ServerRig<AcceptingServer> rig = rig(ConnectionManager.builder())) {
      Connection c = rig.connect();
      c.close();
      Managers.awaitStats(rig.m, Managers.stats(1, 1, 0, 0, 0));
      Connection again = rig.connect();
      assertThat(events.lastIdleNanos).isGreaterThanOrEqualTo(0);
      again.close();
      Managers.awaitStats(rig.m, Managers.stats(1, 1, 0, 0, 0));
      assertThat(rig.m.retireAll()).isEqualTo(1);
      assertThat(events.events())
          .containsExactly(
              "connectStarted 127.0.0.1",
              "connectEnded 127.0.0.1",
              "handedOut NEW uses=1",
              "givenBack pooled",
              "handedOut IMMEDIATE uses=2",
              "givenBack pooled",
              "closed RETIRED");
      assertThat(events.threads()).allSatisfy(t -> assertThat(t).startsWith("keepalive-loop-"));
    }
  }

  /** A listener's methods may come from a class it extends: they are heard all the same. */
  static class GiveBacks implements ConnectionListener {
    final List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void givenBack(ConnectionInfo socket, boolean pooled) {
      heard.add("givenBack " + pooled);
    }

    @Override
    public void handedOut(
        long id, Allocation a, ConnectionInfo s, FromCache how, long waitNanos, long idle) {
      heard.add("handedOut " + how);
    }
  }

  static final class InheritsItsMethods extends GiveBacks {}

  @Test
  void methodsInheritedFromAListenersSuperclassAreHeard() throws Exception {
    InheritsItsMethods only = new InheritsItsMethods();
    try (ServerRig<AcceptingServer> rig =
        ServerRig.plain(() -> ConnectionManager.builder().listener(only).build())) {
      rig.connect().close();
      await().until(() -> only.heard.size() == 2);
      assertThat(only.heard).containsExactly("handedOut NEW", "givenBack true");
    }
  }

  @Test
  void aDiscardIsAGiveBackThatCloses() throws Exception {
    try (ServerRig<AcceptingServer> rig = rig(ConnectionManager.builder())) {
      rig.connect().discard();
      await().until(() -> events.events("closed").size() == 1);
      assertThat(events.events())
          .endsWith("handedOut NEW uses=1", "givenBack closed", "closed DISCARDED");
    }
  }

  @Test
  void aWaitingRequestIsQueuedThenServedDeferred() throws Exception {
    try (ServerRig<AcceptingServer> rig = rig(ConnectionManager.builder().maxPerHost(1))) {
      Connection first = rig.connect();
      CompletableFuture<Connection> second = rig.m.allocate(rig.a);
      await().until(() -> events.events("queued").size() == 1);
      first.close();
      Managers.get(second).close();
      assertThat(events.events("handedOut"))
          .containsExactly("handedOut NEW uses=1", "handedOut DEFERRED uses=2");
      assertThat(events.lastWaitNanos).isPositive();
    }
  }

  @Test
  void aRequestEndsTimedOutOrCancelledWhileQueued() throws Exception {
    try (ServerRig<AcceptingServer> rig = rig(ConnectionManager.builder().maxPerHost(1))) {
      Connection held = rig.connect();
      long id = rig.m.allocate(rig.a, r -> {});
      await().until(() -> events.events("queued").size() == 1);
      assertThat(rig.m.deallocate(id)).isTrue();
      assertThat(events.events("cancelled")).hasSize(1);
      CompletableFuture<Connection> late = rig.m.allocate(rig.a.timeout(Duration.ofMillis(50)));
      Managers.failureOf(late);
      assertThat(events.events("timedOut")).hasSize(1);
      assertThat(events.events("failed")).isEmpty();
      held.close();
    }
  }

  @Test
  void lookupsAndTheirFailuresAreHeard() throws Exception {
    TestResolver resolver = TestResolver.answering(Map.of("localhost", List.of(Loopback.ipv4())));
    try (ServerRig<AcceptingServer> rig = rig(ConnectionManager.builder().resolver(resolver))) {
      Managers.get(rig.m, Allocation.to("http", "localhost", rig.server.port())).close();
      Managers.failureOf(rig.m.allocate(Allocation.to("http", "nowhere.test", 80)));
      assertThat(events.events())
          .startsWith("resolveStarted localhost", "resolveEnded localhost 1")
          .contains("resolveStarted nowhere.test", "resolveFailed nowhere.test", "failed resolve");
    }
  }

  @Test
  void aRefusedConnectIsAFailedAttemptAndAFailedRequest() throws Exception {
    try (ConnectionManager m = ConnectionManager.builder().listener(events).build()) {
      Managers.failureOf(m.allocate(Managers.plain(Loopback.closedPort())));
      assertThat(events.events())
          .containsExactly(
              "connectStarted 127.0.0.1",
              "connectFailed 127.0.0.1",
              "closed CONNECT_FAILED",
              "failed connect");
    }
  }

  @Test
  void aTlsHandshakeIsHeardWithItsSession() throws Exception {
    TestCertificates fix = TestCertificates.get();
    try (ServerRig<TlsServer> rig = ServerRig.https(
        TlsServer.echo(),
        () -> ConnectionManager.builder()
            .sslContext(fix.clientContext())
            .listener(events)
            .build())) {
      rig.connect().close();
      assertThat(events.events())
          .startsWith(
              "connectStarted 127.0.0.1",
              "connectEnded 127.0.0.1",
              "tlsStarted https://127.0.0.1:" + rig.server.port(),
              "tlsEnded TLSv1.3",
              "handedOut NEW uses=1");
      assertThat(events.lastSession.getCipherSuite()).startsWith("TLS_");
    }
  }

  @Test
  void aListenerThatThrowsChangesNothingAndTheNextStillHears() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    ConnectionListener throwing = new ConnectionListener() {
      @Override
      public void handedOut(
          long id, Allocation r, ConnectionInfo s, FromCache how, long wait, long idle) {
        calls.incrementAndGet();
        throw new IllegalStateException("a broken listener");
      }

      @Override
      public void givenBack(ConnectionInfo socket, boolean pooled) {
        throw new IllegalStateException("a broken listener");
      }
    };
    try (ServerRig<AcceptingServer> rig = ServerRig.plain(
        () -> ConnectionManager.builder().listener(throwing).listener(events).build())) {
      for (int i = 0; i < 3; i++) {
        rig.connect().close();
      }
      Managers.awaitStats(rig.m, Managers.stats(1, 1, 0, 0, 0));
      assertThat(calls).hasValue(3);
      assertThat(events.events("handedOut")).hasSize(3);
      assertThat(rig.m.totals().handOuts()).isEqualTo(3);
    }
  }

  @Test
  void everyCloseHasADebugLineWithKeyAndReason() throws Exception {
    try (LogCapture log = LogCapture.debug("dev.keepalive");
        ServerRig<AcceptingServer> rig = ServerRig.plain()) {
      rig.connect().discard();
      await().until(() -> !log.lines().isEmpty());
      assertThat(log.lines().get(0))
          .startsWith("closed http://127.0.0.1:" + rig.server.port())
          .endsWith(": DISCARDED");
    }
  }
}
