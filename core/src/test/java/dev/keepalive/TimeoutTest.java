package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TcpTable;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The request timeout, which covers resolving, queueing and connecting: a request that runs out
 * of it is answered "connect", 110, "Connection timed out", once, whatever phase it was in, even
 * when its lookup never answers or answers too late, and leaves nothing behind.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TimeoutTest {
  /** A request that times out is answered "connect", 110, "Connection timed out". */
  @Test
  void aRequestThatTimesOutIsAnswered110() throws Exception {
    try (HangingListener hanging = new HangingListener()) {
      Allocation a = Allocation.to("http", "127.0.0.1", hanging.port());
      // the manager's timeout, callback style
      try (ConnectionManager m =
          ConnectionManager.builder().timeout(Duration.ofMillis(400)).build()) {
        ResultRecorder rec = new ResultRecorder();
        long id = m.allocate(a.context("ctx"), rec);
        AllocationResult r = rec.next();
        assertThat(r.requestId()).isEqualTo(id);
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.connection()).isNull();
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
        assertThat(r.errorStr()).isEqualTo("Connection timed out");
        assertThat(r.context()).isEqualTo("ctx");
        awaitStats(m, 0, 0, 0, 0, 0);
        assertThat(rec.countFor(id)).isEqualTo(1);
      }
      // the request's own timeout, future style
      try (ConnectionManager m = ConnectionManager.create()) {
        CompletableFuture<Connection> f = m.allocate(a.timeout(Duration.ofMillis(300)));
        assertThatThrownBy(() -> f.get(10, SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause()
            .isInstanceOfSatisfying(AllocationException.class, e -> {
              assertThat(e.function()).isEqualTo("connect");
              assertThat(e.errorNum()).isEqualTo(110);
              assertThat(e.errorStr()).isEqualTo("Connection timed out");
              assertThat(e.result().port()).isEqualTo(hanging.port());
              assertThat(e.result().isSuccess()).isFalse();
            });
        awaitStats(m, 0, 0, 0, 0, 0);
      }
    }
  }

  /** A request whose lookup never answers gets exactly one response, the timeout. */
  @Test
  void aLookupThatNeverAnswersGetsExactlyOneAnswerTheTimeout() {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .resolver(resolver)
            .timeout(Duration.ofMillis(300))
            .build()) {
      ResultRecorder never = new ResultRecorder();
      ResultRecorder late = new ResultRecorder();
      long idNever = m.allocate(Allocation.to("http", "never.test", server.port()), never);
      long idLate = m.allocate(Allocation.to("http", "late.test", server.port()), late);
      await().until(() -> resolver.callCount() == 2);
      assertThat(resolver.hosts()).containsExactlyInAnyOrder("never.test", "late.test");

      for (AllocationResult r : List.of(never.next(), late.next())) {
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
        assertThat(r.errorStr()).isEqualTo("Connection timed out");
      }
      awaitStats(m, 0, 0, 0, 0, 0);

      // the lookup of late.test answers after its request timed out: nobody is answered again
      resolver.calls().stream()
          .filter(l -> l.host().equals("late.test"))
          .forEach(l -> l.answer().complete(List.of(Loopback.ipv4())));
      // a later request is answered after the loop handled that late answer
      ResultRecorder barrier = new ResultRecorder();
      m.allocate(plain(server.port()), barrier);
      assertThat(barrier.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(never.all()).hasSize(1);
      assertThat(never.countFor(idNever)).isEqualTo(1);
      assertThat(late.all()).hasSize(1);
      assertThat(late.countFor(idLate)).isEqualTo(1);
      awaitStats(m, 1, 0, 1, 0, 0);
      await().until(() -> server.acceptedCount() == 1);
    }
  }

  /**
   * The original leaked bookkeeping when requests timed out while resolving or queued. Here
   * requests timing out in every phase leave no count, no lookup and no file descriptor behind.
   */
  @Test
  void nothingLeakedAfterTimeouts() throws Exception {
    timeoutRound(); // warms up every class and file the round touches
    int baseline = Descriptors.count();
    timeoutRound();
    await().until(() -> Descriptors.count() <= baseline);
  }

  private static void timeoutRound() throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener()) {
      try (ConnectionManager m = ConnectionManager.builder()
          .maxPerHost(1)
          .timeout(Duration.ofMillis(300))
          .resolver(resolver)
          .build()) {
        int before = Descriptors.count();
        Allocation a = Allocation.to("http", "127.0.0.1", server.port());
        Allocation named = Allocation.to("http", "leak.test", server.port());
        Connection held = m.allocate(a.timeout(Duration.ofSeconds(10))).get(10, SECONDS);

        ResultRecorder queued = new ResultRecorder();
        ResultRecorder resolving = new ResultRecorder();
        ResultRecorder connecting = new ResultRecorder();
        m.allocate(a, queued);
        m.allocate(named, resolving);
        m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), connecting);
        for (ResultRecorder rec : List.of(queued, resolving, connecting)) {
          AllocationResult r = rec.next();
          assertThat(r.function()).isEqualTo("connect");
          assertThat(r.errorNum()).isEqualTo(110);
          assertThat(r.errorStr()).isEqualTo("Connection timed out");
        }
        awaitStats(m, 1, 0, 1, 0, 0);
        held.discard();
        awaitStats(m, 0, 0, 0, 0, 0);

        // the abandoned lookup is forgotten: a new request for the host gets a lookup of its own
        ResultRecorder again = new ResultRecorder();
        m.allocate(named.timeout(Duration.ofSeconds(10)), again);
        await().until(() -> resolver.callCount() == 2);
        resolver.calls().get(1).answer().complete(List.of(Loopback.ipv4()));
        AllocationResult r = again.next();
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        r.connection().discard();
        awaitStats(m, 0, 0, 0, 0, 0);

        // no descriptor left but the server's side of the connections it accepted
        await().until(() -> Descriptors.count() <= before + server.acceptedCount());
        await()
            .until(
                () -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 0);
        assertThat(queued.all()).hasSize(1);
        assertThat(resolving.all()).hasSize(1);
        assertThat(connecting.all()).hasSize(1);
      }
    }
  }
}
