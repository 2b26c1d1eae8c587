package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keepalive.Connection;
import dev.keepalive.FromCache;
import dev.keepalive.Resolver;
import dev.keepalive.testing.LoopbackServer;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A closed manager keeps nothing of its sockets: not through its selector (which keeps the keys
 * it still maps, with their channels and sockets, after it is closed) while the manager itself
 * is referenced, and not the manager through a key the user keeps (a key caches its host, which
 * belongs to the pool). Found by bench/run-idle-bench.sh: 1,000 closed https connections were
 * all still in the heap.
 */
class ClosedManagerRetentionTest {
  private static final long SECOND = 1_000_000_000L;

  private static final class TestRequest extends Request {
    final CompletableFuture<Connection> future = new CompletableFuture<>();

    TestRequest(long id, PoolKey key) {
      super(id, key, key.scheme(), key.host(), key.port(), -1);
    }

    @Override
    protected void succeeded(Connection connection, FromCache how) {
      future.complete(connection);
    }

    @Override
    protected void failed(Failure failure) {
      future.completeExceptionally(new AssertionError(failure.toString()));
    }
  }

  private static ManagerCore manager() {
    return new ManagerCore(new Settings(4, 16, 3600 * SECOND, 60 * SECOND, Resolver.system(),
        null, null, null, Set.of("https"), 16L << 20, Clock.SYSTEM));
  }

  /** Connects, gives the connection back to the pool; returns its channel. */
  private static SocketChannel pooledSocket(ManagerCore core, PoolKey key) throws Exception {
    TestRequest r = new TestRequest(1, key);
    core.submit(r);
    Connection c = r.future.get(10, TimeUnit.SECONDS);
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
    try (LoopbackServer server = new LoopbackServer()) {
      PoolKey key = new PoolKey("http", "127.0.0.1", server.port(), null, null, 0);
      ManagerCore core = manager();
      WeakReference<SocketChannel> channel = new WeakReference<>(pooledSocket(core, key));
      core.close();
      assertThat(core.stats().open()).isZero();
      awaitCollected(channel);
      Reference.reachabilityFence(core);
    }
  }

  @Test
  void aKeptKeyDoesNotKeepAClosedManager() throws Exception {
    try (LoopbackServer server = new LoopbackServer()) {
      PoolKey key = new PoolKey("http", "127.0.0.1", server.port(), null, null, 0);
      ManagerCore core = manager();
      pooledSocket(core, key);
      assertThat(key.cachedHost).as("the key caches its host while the pool uses it").isNotNull();
      WeakReference<ManagerCore> ref = new WeakReference<>(core);
      core.close();
      core = null;
      assertThat(key.cachedHost).isNull();
      awaitCollected(ref);
      Reference.reachabilityFence(key);
    }
  }
}
