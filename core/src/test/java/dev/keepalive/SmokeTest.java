package dev.keepalive;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testkit.AcceptingServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The quickest sign of life: a connection is made, given back and reused. */
class SmokeTest {
  @Test
  void newThenImmediate() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      Allocation a = Allocation.to("http", "127.0.0.1", server.port());
      Connection c1 = m.allocate(a).get(5, TimeUnit.SECONDS);
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      c1.close();
      Connection c2 = m.allocate(a).get(5, TimeUnit.SECONDS);
      assertThat(c2.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      c2.close();
      await().until(() -> m.stats().idle() == 1);
      assertThat(m.stats()).isEqualTo(new PoolStats(1, 1, 0, 0, 0));
    }
  }
}
