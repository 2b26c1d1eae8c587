package dev.keepalive;

import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TlsServer;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How answers are delivered: never on the stack of allocate() (not even a pool hit), always on
 * the manager's one event loop thread, a daemon, and exactly once per request, each with its own
 * outcome (connection, or function, errorNum and errorStr).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DeliveryTest {
  @Test
  void resultsAreNeverDeliveredOnTheStackOfAllocate() throws Exception {
    ThreadLocal<Boolean> inAllocate = ThreadLocal.withInitial(() -> false);
    try (AcceptingServer server = new AcceptingServer();
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Allocation https = Allocation.to("https", "127.0.0.1", notTls.port());
      Queue<String> problems = new ConcurrentLinkedQueue<>();
      List<FromCache> poolHits = new CopyOnWriteArrayList<>();
      AtomicInteger httpsAnswers = new AtomicInteger();
      CompletableFuture<Void> done = new CompletableFuture<>();
      Thread testThread = Thread.currentThread();

      Consumer<AllocationResult> onHttps = r -> {
        if (inAllocate.get()) {
          problems.add("https failure delivered inside allocate()");
        }
        httpsAnswers.incrementAndGet();
      };
      Consumer<AllocationResult> second = r -> {
        if (inAllocate.get()) {
          problems.add("pool hit delivered inside allocate()");
        }
        poolHits.add(r.fromCache());
        if (m.stats().leased() != 1) {
          problems.add("expected exactly one leased socket, stats " + m.stats());
        }
        r.connection().close(); // back in the pool at once (we are on the loop)
        CompletableFuture<Connection> f;
        boolean completedInline;
        inAllocate.set(true);
        try {
          f = m.allocate(a);
          completedInline = f.isDone();
        } finally {
          inAllocate.set(false);
        }
        if (completedInline) {
          problems.add("future completed inside allocate()");
        }
        f.whenComplete((c, e) -> {
          if (inAllocate.get()) {
            problems.add("future completed inside allocate()");
          }
          if (c != null) {
            poolHits.add(c.fromCache());
            c.close();
          } else {
            problems.add("future failed: " + e);
          }
          done.complete(null);
        });
      };
      Consumer<AllocationResult> first = r -> {
        if (inAllocate.get() || Thread.currentThread() == testThread) {
          problems.add("first result delivered on the caller's stack");
        }
        if (!r.isSuccess()) {
          problems.add("first failed: " + r);
          done.complete(null);
          return;
        }
        r.connection().close(); // inline on the loop: the socket is idle now
        if (m.stats().idle() != 1) {
          problems.add("expected the socket to be pooled, stats " + m.stats());
        }
        inAllocate.set(true);
        try {
          m.allocate(a, second); // a pool hit: IMMEDIATE, but still answered later
          m.allocate(https, onHttps); // a failed handshake, answered later
        } finally {
          inAllocate.set(false);
        }
      };

      inAllocate.set(true);
      try {
        m.allocate(a, first);
      } finally {
        inAllocate.set(false);
      }
      done.get(LONG.toSeconds(), TimeUnit.SECONDS);
      await().until(() -> httpsAnswers.get() == 1);
      assertThat(problems).isEmpty();
      assertThat(poolHits).containsExactly(FromCache.IMMEDIATE, FromCache.IMMEDIATE);
    }
  }

  @Test
  void resultsRunOnTheEventLoopThreadWhichIsADaemon() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().maxPerHost(1).build()) {
      Allocation ok = Allocation.to("http", "127.0.0.1", server.port());
      Allocation refused = Allocation.to("http", "127.0.0.1", Loopback.closedPort());
      List<Thread> seen = new CopyOnWriteArrayList<>();
      CompletableFuture<AllocationResult> success = new CompletableFuture<>();
      CompletableFuture<AllocationResult> failure = new CompletableFuture<>();
      m.allocate(ok, r -> {
        seen.add(Thread.currentThread());
        success.complete(r);
      });
      m.allocate(refused, r -> {
        seen.add(Thread.currentThread());
        failure.complete(r);
      });
      AllocationResult s = success.get(LONG.toSeconds(), TimeUnit.SECONDS);
      AllocationResult f = failure.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(s.isSuccess()).isTrue();
      assertThat(f.isSuccess()).isFalse();

      // a future completed later: its dependents registered before run on the loop too
      CompletableFuture<Connection> waiting = m.allocate(ok);
      CompletableFuture<Thread> completedOn = waiting.handle((c, e) -> Thread.currentThread());
      await().until(() -> m.stats().pending() == 1);
      s.connection().close();
      seen.add(completedOn.get(LONG.toSeconds(), TimeUnit.SECONDS));
      get(waiting).close();

      assertThat(seen).hasSize(3);
      Thread loop = seen.get(0);
      assertThat(seen).allSatisfy(t -> assertThat(t).isSameAs(loop));
      assertThat(loop).isNotSameAs(Thread.currentThread());
      assertThat(loop.isDaemon()).as("event loop thread is a daemon").isTrue();
    }
  }

  @Test
  void everyRequestIsAnsweredExactlyOnceWithItsOwnError() throws Exception {
    Resolver resolver = host -> CompletableFuture.failedFuture(new UnknownHostException(host));
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hang = new HangingListener();
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m =
            ConnectionManager.builder().maxPerHost(1).resolver(resolver).build()) {
      Map<Long, List<AllocationResult>> answers = new ConcurrentHashMap<>();
      Consumer<AllocationResult> cb = r -> answers
          .computeIfAbsent(r.requestId(), id -> new CopyOnWriteArrayList<>())
          .add(r);
      Allocation ok = Allocation.to("http", "127.0.0.1", server.port());

      Connection held = get(m.allocate(ok));
      List<Long> queued = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        queued.add(m.allocate(ok, cb));
      }
      long withdrawn = m.allocate(ok, cb);
      List<Long> refused = new ArrayList<>();
      List<Long> timedOut = new ArrayList<>();
      List<Long> unresolved = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        refused.add(m.allocate(Allocation.to("http", "127.0.0.1", Loopback.closedPort()), cb));
        timedOut.add(m.allocate(
            Allocation.to("http", "127.0.0.1", hang.port()).timeout(Duration.ofMillis(200)), cb));
        unresolved.add(m.allocate(Allocation.to("http", "no-such-host.invalid", 80), cb));
      }
      long tls = m.allocate(Allocation.to("https", "127.0.0.1", notTls.port()), cb);
      await().until(() -> m.stats().pending() >= 4);
      assertThat(m.deallocate(withdrawn)).isTrue();
      assertThat(m.deallocate(withdrawn)).isFalse();
      assertThat(m.deallocate(Long.MAX_VALUE)).isFalse();

      List<Long> early = new ArrayList<>(refused);
      early.addAll(timedOut);
      early.addAll(unresolved);
      early.add(tls);
      await().until(() -> answers.keySet().containsAll(early));
      for (long id : refused) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.connection()).isNull();
        assertThat(r.fromCache()).isNull();
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(111);
        assertThat(r.errorStr()).isEqualTo("Connection refused");
      }
      for (long id : timedOut) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
        assertThat(r.errorStr()).isEqualTo("Connection timed out");
      }
      for (long id : unresolved) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.function()).isEqualTo("resolve");
        assertThat(r.errorNum()).isNull();
        assertThat(r.errorStr()).isNotBlank();
        assertThat(r.addr()).isEqualTo("no-such-host.invalid");
      }
      assertThat(answers.get(tls).get(0).function()).isEqualTo("sslify");
      assertThat(queued).allSatisfy(id -> assertThat(answers).doesNotContainKey(id));

      m.shutdown();
      assertThatThrownBy(() -> m.allocate(ok, cb)).isInstanceOf(IllegalStateException.class);
      await().until(() -> answers.keySet().containsAll(queued));
      for (long id : queued) {
        AllocationResult r = answers.get(id).get(0);
        assertThat(r.function()).isEqualTo("shutdown");
        assertThat(r.errorNum()).isNull();
        assertThat(r.errorStr()).isEqualTo("Connection manager is shut down");
      }
      // a leased connection keeps working after shutdown, then is closed, not pooled
      assertThat(held.isOpen()).isTrue();
      held.write(ByteBuffer.wrap("still here".getBytes(StandardCharsets.US_ASCII)))
          .get(LONG.toSeconds(), TimeUnit.SECONDS);
      held.close();
      await().until(() -> m.stats().leased() == 0);
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));

      m.close(); // the loop has ended: no answer can come any more
      assertThat(answers).doesNotContainKey(withdrawn);
      assertThat(answers).hasSize(queued.size() + early.size());
      answers.forEach(
          (id, list) -> assertThat(list).as("answers to request %d", id).hasSize(1));
      Set<Long> allIds = new java.util.HashSet<>(answers.keySet());
      allIds.add(withdrawn);
      assertThat(allIds).allSatisfy(id -> assertThat(id).isPositive());
      assertThat(allIds).hasSize(answers.size() + 1); // ids are unique
    }
  }
}
