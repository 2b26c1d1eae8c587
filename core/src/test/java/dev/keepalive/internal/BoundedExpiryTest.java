package dev.keepalive.internal;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.AcceptingServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Keep-alive expiry of many idle sockets at once is spread over loop turns (at most a batch per
 * turn), so the loop serves other keys in between, and still closes every one of them. Real
 * sockets on 127.0.0.1; the first test drives time with a manual clock, so what it asserts does
 * not depend on timing.
 */
class BoundedExpiryTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long KEEP_ALIVE = 10 * SECOND;

  private final AtomicLong now = new AtomicLong(1_000 * SECOND);
  private final AtomicLong ids = new AtomicLong();

  private CompletableFuture<Connection> allocate(Manager core, PoolKey key) {
    return Requests.submit(core, ids.incrementAndGet(), Requests.allocation(key));
  }

  @Test
  void anotherKeyIsServedWhileManySocketsExpireInBatches() throws Exception {
    int expiring = 40;
    int batch = 4;
    try (AcceptingServer server = new AcceptingServer()) {
      Manager core = new Manager(TestSettings.of(64, 128, KEEP_ALIVE, now::get, batch));
      try {
        PoolKey a = new PoolKey("http", "127.0.0.1", server.port(), null, null, 0);
        PoolKey b = new PoolKey("http", "127.0.0.1", server.port(), "http", "b.example", 80);
        List<CompletableFuture<Connection>> fs = new ArrayList<>();
        for (int i = 0; i < expiring; i++) {
          fs.add(allocate(core, a));
        }
        for (CompletableFuture<Connection> f : fs) {
          f.get(10, TimeUnit.SECONDS).close();
        }
        // (given back on the loop: pooled at t0 once the count shows them)
        await().atMost(Duration.ofSeconds(10)).until(() -> core.stats().idle() == expiring);
        now.addAndGet(KEEP_ALIVE / 2);
        Connection cb = allocate(core, b).get(10, TimeUnit.SECONDS);
        int bPort = cb.localAddress().getPort();
        cb.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> core.stats().idle() == expiring + 1);

        // A's sockets are due at t0 + KEEP_ALIVE, B's half a keep-alive later. One task on the
        // loop moves the clock past A's and starts a chain on B: each answer (a loop task)
        // notes the idle count (exact on the loop; B's socket is leased then, so it counts A's),
        // gives B's socket back and asks again, until no idle socket of A is left.
        List<Integer> seen = new ArrayList<>(); // idle counts, each when it changed
        int[] answers = new int[1];
        CompletableFuture<Void> done = new CompletableFuture<>();
        core.execute(() -> {
          now.addAndGet(KEEP_ALIVE / 2);
          chain(core, b, seen, answers, done);
        });
        done.get(60, TimeUnit.SECONDS);

        assertThat(seen.get(0))
            .as("the first answer came before the expiry began")
            .isEqualTo(expiring);
        assertThat(seen.get(seen.size() - 1)).isZero();
        for (int i = 1; i < seen.size(); i++) {
          int drop = seen.get(i - 1) - seen.get(i);
          assertThat(drop)
              .as("sockets closed between two answers of B, in %s", seen)
              .isBetween(1, batch);
        }
        assertThat(seen)
            .as("B was answered while A's expiry was under way")
            .anyMatch(n -> n > 0 && n < expiring);
        // (counts seen from this thread are published once per loop turn)
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> core.stats().open() == 1 && core.stats().idle() == 1);

        // every socket of A was closed (the server reads EOF), B's is still open
        for (Socket peer : server.accepted()) {
          if (peer.getPort() != bPort) {
            assertThat(readWithin(peer, 10_000))
                .as("server end of an expired socket")
                .isEqualTo(-1);
          }
        }
        assertThat(server.acceptedCount()).isEqualTo(expiring + 1);
      } finally {
        core.close();
      }
      assertThat(core.stats().open()).isZero();
    }
  }

  private void chain(
      Manager core, PoolKey b, List<Integer> seen, int[] answers, CompletableFuture<Void> done) {
    core.submit(
        ids.incrementAndGet(),
        Requests.allocation(b),
        false,
        (c, how) -> {
          int idle = core.stats().idle();
          if (seen.isEmpty() || seen.get(seen.size() - 1) != idle) {
            seen.add(idle);
          }
          c.close();
          if (how != FromCache.IMMEDIATE) {
            done.completeExceptionally(new AssertionError("B's request answered " + how));
          } else if (idle == 0) {
            done.complete(null);
          } else if (++answers[0] > 5_000_000) {
            done.completeExceptionally(new AssertionError("the expiry never ended: " + seen));
          } else {
            chain(core, b, seen, answers, done);
          }
        },
        f -> done.completeExceptionally(new AssertionError(f.toString())));
  }

  @Test
  void manySocketsExpiringTogetherAreAllClosed() throws Exception {
    int n = 3 * Pool.DEFAULT_EXPIRE_BATCH + 5; // several batches
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(n)
            .maxOpen(n + 8)
            .keepAlive(Duration.ofMillis(300))
            .build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      List<CompletableFuture<Connection>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(m.allocate(a));
      }
      List<Connection> held = new ArrayList<>();
      for (CompletableFuture<Connection> f : fs) {
        held.add(f.get(10, TimeUnit.SECONDS));
      }
      held.forEach(Connection::close); // all idle within a few ms: they expire together
      await().atMost(Duration.ofSeconds(20)).until(() -> m.stats().open() == 0);
      for (Socket peer : server.accepted()) {
        assertThat(readWithin(peer, 10_000))
            .as("server end of an expired socket")
            .isEqualTo(-1);
      }
      assertThat(server.acceptedCount()).isEqualTo(n);
    }
  }

  private static int readWithin(Socket s, int millis) throws IOException {
    s.setSoTimeout(millis);
    InputStream in = s.getInputStream();
    return in.read();
  }
}
