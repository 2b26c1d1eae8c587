package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TcpTable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Cancelling a request, with deallocate() or the future's cancel(), in every phase (resolving,
 * queued, connecting): it is never answered, its slots and its socket are released; an answered
 * or unknown request cannot be cancelled; two racing cancels of one future succeed once.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CancellationTest {
  /** The original crashed; here a request still resolving is cancelled cleanly. */
  @Test
  void deallocateWhileResolving() {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      Allocation a = Allocation.to("http", "pending.test", server.port());
      ResultRecorder cancelled = new ResultRecorder();
      long id = m.allocate(a, cancelled);
      awaitStats(m, 0, 0, 0, 0, 1);
      assertThat(resolver.hosts()).containsExactly("pending.test");

      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 0, 0, 0, 0, 0);
      assertThat(m.deallocate(id)).isFalse();

      // the lookup answers late: it reaches nobody
      resolver.completeAll(Loopback.ipv4());
      // the next request to the host proceeds (with a lookup of its own)
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a, rec);
      await().until(() -> resolver.callCount() == 2);
      resolver.completeAll(Loopback.ipv4());
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(cancelled.all()).isEmpty();
      await().until(() -> server.acceptedCount() == 1);
      awaitStats(m, 1, 0, 1, 0, 0);
    }
  }

  /** The original delivered a queued request anyway; here it is cancelled, in both styles. */
  @Test
  void deallocateWhileQueued() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      ResultRecorder rec = new ResultRecorder();
      m.allocate(a, rec);
      Connection held = rec.next().connection();

      ResultRecorder cancelled = new ResultRecorder();
      long id = m.allocate(a, cancelled);
      awaitStats(m, 1, 0, 1, 0, 1);
      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 1, 0, 1, 0, 0);
      assertThat(m.deallocate(id)).isFalse();

      CompletableFuture<Connection> f = m.allocate(a);
      awaitStats(m, 1, 0, 1, 0, 1);
      assertThat(f.cancel(true)).isTrue();
      assertThat(f).isCancelled();
      awaitStats(m, 1, 0, 1, 0, 0);

      // the socket given back goes to the pool, not to a cancelled request
      held.close();
      awaitStats(m, 1, 1, 0, 0, 0);
      m.allocate(a, rec);
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(cancelled.all()).isEmpty();
      assertThatThrownBy(() -> f.get(1, SECONDS)).isInstanceOf(CancellationException.class);
      await().until(() -> server.acceptedCount() == 1);
    }
  }

  /** The original delivered a connecting request anyway; here its socket is closed at once. */
  @Test
  void deallocateWhileConnecting() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      ResultRecorder cancelled = new ResultRecorder();
      long id = m.allocate(Allocation.to("http", "127.0.0.1", hanging.port()), cancelled);
      awaitStats(m, 1, 0, 0, 1, 0);
      await()
          .until(() -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 1);

      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, 0, 0, 0, 0, 0);
      await()
          .until(() -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).size() == 0);
      assertThat(m.deallocate(id)).isFalse();

      // its global slot is free again: with maxOpen=1 the next request connects at once
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      assertThat(rec.next().fromCache()).isEqualTo(FromCache.NEW);
      assertThat(cancelled.all()).isEmpty();
      awaitStats(m, 1, 0, 1, 0, 0);
    }
  }

  /** deallocate() of an answered request, or of an id never given, returns false. */
  @Test
  void deallocateOfAnsweredOrUnknownIdReturnsFalse() {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      long ok = m.allocate(Allocation.to("http", "127.0.0.1", server.port()), rec);
      AllocationResult r = rec.next();
      assertThat(m.deallocate(ok)).isFalse();
      long refused = m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), rec);
      assertThat(rec.next().errorNum()).isEqualTo(111);
      assertThat(m.deallocate(refused)).isFalse();
      assertThat(m.deallocate(refused + 1000)).isFalse();
      assertThat(m.deallocate(0)).isFalse();
      assertThat(m.deallocate(-1)).isFalse();
      assertThat(r.connection().isOpen()).isTrue();
      assertThat(rec.all()).hasSize(2);
      r.connection().close();
      awaitStats(m, 1, 1, 0, 0, 0);
    }
  }

  @Test
  void cancellingARequestStuckConnectingReleasesItsSlot() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hang = new HangingListener();
        ConnectionManager m = ConnectionManager.builder().maxOpen(1).build()) {
      Allocation stuck = Allocation.to("http", "127.0.0.1", hang.port());
      Allocation ok = Allocation.to("http", "127.0.0.1", server.port());

      CompletableFuture<Connection> f = m.allocate(stuck);
      await().until(() -> m.stats().connecting() == 1);
      CompletableFuture<Connection> queued = m.allocate(ok); // waits for the only slot
      await().until(() -> m.stats().pending() == 1);
      assertThat(f.cancel(true)).isTrue();
      assertThat(f.isCancelled()).isTrue();
      Connection c = get(queued); // the slot was released
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      c.close();
      await().until(() -> m.stats().equals(new PoolStats(1, 1, 0, 0, 0)));

      // callback style: deallocate(), and the event is never called
      AtomicInteger called = new AtomicInteger();
      long id = m.allocate(stuck, r -> called.incrementAndGet());
      await().until(() -> m.stats().connecting() == 1); // the idle socket was evicted
      assertThat(m.deallocate(id)).isTrue();
      assertThat(m.deallocate(id)).isFalse();
      await().until(() -> m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));
      Connection again = get(m.allocate(ok));
      again.close();
      // an answered request cannot be deallocated
      CompletableFuture<AllocationResult> answered = new CompletableFuture<>();
      long done = m.allocate(ok, answered::complete);
      answered.get(LONG.toSeconds(), TimeUnit.SECONDS).connection().close();
      assertThat(m.deallocate(done)).isFalse();
      m.close();
      assertThat(called.get()).isZero();
      assertThat(f.isCancelled()).isTrue();
    }
  }

  /**
   * Two threads cancel the same future at once: exactly one cancel returns true
   * (CompletableFuture alone answers true to every cancel once it is cancelled; the manager's
   * future must not). Found by LifecycleRacesTest, which saw two true cancels of one request.
   */
  @Test
  void racingCancelsOfOneFutureReturnTrueOnce() throws Exception {
    try (HangingListener hang = new HangingListener();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation stuck = Allocation.to("http", "127.0.0.1", hang.port());
      java.util.concurrent.ExecutorService other =
          java.util.concurrent.Executors.newSingleThreadExecutor();
      try {
        for (int i = 0; i < 300; i++) {
          CompletableFuture<Connection> f = m.allocate(stuck); // queued or connecting for ever
          java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
          java.util.concurrent.Future<Boolean> theirs = other.submit(() -> {
            start.await();
            return f.cancel(true);
          });
          start.await();
          boolean mine = f.cancel(true);
          assertThat(mine ^ theirs.get(LONG.toSeconds(), TimeUnit.SECONDS))
              .as("exactly one of two racing cancels returns true (round %d)", i)
              .isTrue();
          assertThat(f.isCancelled()).isTrue();
        }
      } finally {
        other.shutdownNow();
      }
      await().until(() -> m.stats().pending() == 0 && m.stats().connecting() == 0);
    }
  }
}
