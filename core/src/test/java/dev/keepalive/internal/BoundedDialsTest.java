package dev.keepalive.internal;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Connection;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.AcceptingServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Fair intake: at most a batch of connects starts per loop turn (Dialer), so a burst of requests
 * for new sockets does not hold up a request the pool can serve at once, and every one of them
 * still connects. Real sockets on 127.0.0.1. Each burst is submitted from one task on the loop,
 * so what is asserted (connects started before an answer) follows from the loop's order of work,
 * not from timing.
 */
class BoundedDialsTest {
  private static final long SECOND = 1_000_000_000L;
  private static final int BATCH = 4;

  private final AtomicLong ids = new AtomicLong();

  /** Counts connect attempts started (written on the loop only). */
  private static final class Starts implements ConnectionListener {
    volatile int started;

    @Override
    public void connectStarted(ConnectionInfo socket, InetSocketAddress address) {
      started++; // loop thread only
    }
  }

  private Manager manager(Starts starts) {
    Settings s = TestSettings.of(1000, 2000, 3600 * SECOND, Clock.SYSTEM, Pool.DEFAULT_EXPIRE_BATCH)
        .withDialBatch(BATCH);
    return new Manager(s, List.of(starts));
  }

  private CompletableFuture<Connection> allocate(Manager core, PoolKey key) {
    return Requests.submit(core, ids.incrementAndGet(), Requests.allocation(key));
  }

  @Test
  void aPooledSocketIsHandedOutBeforeABurstOfConnectsHasStarted() throws Exception {
    int burst = 200;
    Starts starts = new Starts();
    try (AcceptingServer server = new AcceptingServer()) {
      Manager core = manager(starts);
      try {
        PoolKey a = new PoolKey("http", "127.0.0.1", server.port(), null, null, 0);
        PoolKey b = new PoolKey("http", "127.0.0.1", server.port(), "http", "b.example", 80);
        allocate(core, b).get(10, TimeUnit.SECONDS).close();
        await().atMost(Duration.ofSeconds(10)).until(() -> core.stats().idle() == 1);
        int before = starts.started;

        List<CompletableFuture<Connection>> fs = new ArrayList<>();
        CompletableFuture<int[]> served = new CompletableFuture<>(); // {how, connects started}
        core.execute(() -> {
          for (int i = 0; i < burst; i++) {
            fs.add(allocate(core, a));
          }
          core.submit(
              ids.incrementAndGet(),
              Requests.allocation(b),
              false,
              (c, how) -> {
                served.complete(new int[] {how.ordinal(), starts.started - before});
                c.close();
              },
              f -> served.completeExceptionally(new AssertionError(f.toString())));
        });
        int[] seen = served.get(10, TimeUnit.SECONDS);
        assertThat(FromCache.values()[seen[0]]).isEqualTo(FromCache.IMMEDIATE);
        assertThat(seen[1])
            .as("connects started before the pooled socket was handed out")
            .isBetween(1, BATCH);

        for (CompletableFuture<Connection> f : fs) {
          Connection c = f.get(30, TimeUnit.SECONDS);
          assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
          c.close();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.acceptedCount() == burst + 1);
        assertThat(starts.started).isEqualTo(burst + 1);
      } finally {
        core.close();
      }
      assertThat(core.stats().open()).isZero();
    }
  }

  @Test
  void aRequestCancelledWhileItsConnectWaitsNeverOpensASocket() throws Exception {
    int cancelled = 20;
    Starts starts = new Starts();
    try (AcceptingServer server = new AcceptingServer()) {
      Manager core = manager(starts);
      try {
        PoolKey a = new PoolKey("http", "127.0.0.1", server.port(), null, null, 0);
        List<CompletableFuture<Connection>> kept = new ArrayList<>();
        core.execute(() -> {
          for (int i = 0; i < BATCH; i++) {
            kept.add(allocate(core, a)); // this turn's batch: they start at once
          }
          List<Long> waiting = new ArrayList<>();
          for (int i = 0; i < cancelled; i++) {
            long id = ids.incrementAndGet();
            waiting.add(id);
            Requests.submit(core, id, Requests.allocation(a));
          }
          for (long id : waiting) {
            assertThat(core.cancel(id)).isTrue();
          }
          kept.add(allocate(core, a)); // waits behind the cancelled ones
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> kept.size() == BATCH + 1);
        for (CompletableFuture<Connection> f : kept) {
          f.get(30, TimeUnit.SECONDS).close();
        }
        // the last one started after the cancelled ones were passed over, in order
        assertThat(starts.started).isEqualTo(BATCH + 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.acceptedCount() == BATCH + 1);
        assertThat(core.stats().open()).isEqualTo(BATCH + 1);
      } finally {
        core.close();
      }
    }
  }

  @Test
  void shutdownAnswersEveryRequestWhoseConnectStillWaits() throws Exception {
    int burst = 100;
    try (AcceptingServer server = new AcceptingServer()) {
      Manager core = manager(new Starts());
      PoolKey a = new PoolKey("http", "127.0.0.1", server.port(), null, null, 0);
      List<CompletableFuture<Connection>> fs = new ArrayList<>();
      CompletableFuture<Void> submitted = new CompletableFuture<>();
      core.execute(() -> {
        for (int i = 0; i < burst; i++) {
          fs.add(allocate(core, a));
        }
        core.close(); // on the loop: the waiting connects never start
        submitted.complete(null);
      });
      submitted.get(10, TimeUnit.SECONDS);
      core.close();
      int failed = 0;
      for (CompletableFuture<Connection> f : fs) {
        try {
          f.get(10, TimeUnit.SECONDS).close();
        } catch (ExecutionException e) {
          assertThat(e.getCause()).hasMessageContaining("shutdown");
          failed++;
        }
      }
      assertThat(failed).as("requests answered shutdown").isGreaterThanOrEqualTo(burst - BATCH);
      assertThat(core.stats().open()).isZero();
    }
  }
}
