package dev.keepalive.internal;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.testkit.AcceptingServer;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A closed manager keeps nothing of its sockets: not through its selector (which keeps the keys
 * it still maps, with their channels and sockets, after it is closed) while the manager itself
 * is referenced, and not the manager through an allocation the user keeps. Found by bench/run-idle-bench.sh: 1,000 closed https connections were
 * all still in the heap.
 */
class ClosedManagerRetentionTest {
  private static final long SECOND = 1_000_000_000L;

  private static Manager manager() {
    return new Manager(
        TestSettings.of(4, 16, 3600 * SECOND, Clock.SYSTEM, Pool.DEFAULT_EXPIRE_BATCH));
  }

  /** Connects, gives the connection back to the pool; returns its channel. */
  private static SocketChannel pooledSocket(Manager core, Allocation a) throws Exception {
    Connection c = Requests.submit(core, 1, a).get(10, TimeUnit.SECONDS);
    SocketChannel ch = ((LeasedConnection) c).lease.channel;
    c.close();
    await().atMost(Duration.ofSeconds(10)).until(() -> core.stats().idle() == 1);
    return ch;
  }

  private static void awaitCollected(WeakReference<?> ref) {
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
      System.gc();
      return ref.get() == null;
    });
  }

  @Test
  void aClosedManagerStillReferencedKeepsNoSocket() throws Exception {
    try (AcceptingServer server = new AcceptingServer()) {
      Manager core = manager();
      WeakReference<SocketChannel> channel = new WeakReference<>(
          pooledSocket(core, Allocation.to("http", "127.0.0.1", server.port())));
      core.close();
      assertThat(core.stats().open()).isZero();
      awaitCollected(channel);
      Reference.reachabilityFence(core);
    }
  }

  @Test
  void aKeptAllocationDoesNotKeepAClosedManager() throws Exception {
    try (AcceptingServer server = new AcceptingServer()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Manager core = manager();
      pooledSocket(core, a);
      WeakReference<Manager> ref = new WeakReference<>(core);
      core.close();
      core = null;
      awaitCollected(ref);
      Reference.reachabilityFence(a);
    }
  }
}
