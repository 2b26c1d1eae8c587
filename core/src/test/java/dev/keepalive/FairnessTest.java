package dev.keepalive;

import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testing.ServerRig;
import dev.keepalive.testkit.AcceptingServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fairness: waiting requests are served in arrival order across keys, and a key at its limit
 * holds up no other key.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FairnessTest {
  @Test
  void waitingRequestsAreServedInArrivalOrderAcrossKeys() throws Exception {
    try (ServerRig<AcceptingServer> rig =
        ServerRig.plain(() -> ConnectionManager.builder().maxOpen(1).build())) {
      Allocation b = Allocation.to("other", "127.0.0.1", rig.server.port());
      Connection held = rig.connect();

      List<String> expected = new ArrayList<>();
      List<Long> ids = new ArrayList<>();
      List<String> served = new CopyOnWriteArrayList<>();
      List<Long> servedIds = new CopyOnWriteArrayList<>();
      Map<String, FromCache> how = new ConcurrentHashMap<>();
      Consumer<AllocationResult> cb = r -> {
        served.add((String) r.context());
        servedIds.add(r.requestId());
        if (r.isSuccess()) {
          how.put((String) r.context(), r.fromCache());
          r.connection().close(); // frees the only slot for the next waiter
        }
      };
      for (int i = 1; i <= 4; i++) {
        expected.add("A" + i);
        ids.add(rig.m.allocate(rig.a.context("A" + i), cb));
        expected.add("B" + i);
        ids.add(rig.m.allocate(b.context("B" + i), cb));
      }
      await().until(() -> rig.m.stats().pending() == expected.size());
      assertThat(served).isEmpty();

      held.close();
      await().until(() -> served.size() == expected.size());
      assertThat(served).containsExactlyElementsOf(expected);
      assertThat(servedIds).containsExactlyElementsOf(ids);
      assertThat(how).hasSize(expected.size());
      assertThat(how.get("A1")).isEqualTo(FromCache.DEFERRED);
      await().until(() -> rig.m.stats().open() <= 1 && rig.m.stats().pending() == 0);
    }
  }

  @Test
  void aKeyAtItsLimitDoesNotBlockAnotherKey() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m =
            ConnectionManager.builder().maxPerHost(1).maxOpen(2).build()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Allocation b =
          Allocation.to("http", "127.0.0.1", server.port()).forTarget("http", "b.example", 80);
      Connection heldA = get(m.allocate(a));
      CompletableFuture<Connection> waitingA = m.allocate(a);
      await().until(() -> m.stats().pending() == 1);

      Connection cb = get(m.allocate(b)); // arrived later, different key: served now
      assertThat(cb.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(waitingA).isNotDone();

      heldA.close();
      Connection a2 = get(waitingA);
      assertThat(a2.fromCache()).isEqualTo(FromCache.DEFERRED);
      a2.close();
      cb.close();
    }
  }
}
