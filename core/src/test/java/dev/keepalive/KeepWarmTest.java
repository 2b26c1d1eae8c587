package dev.keepalive;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.Managers;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testkit.AcceptingServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * keepWarm() through the public API with real sockets on 127.0.0.1: the minimum is opened,
 * replaced when retired, removed with 0, and its arguments are checked. The backoff is in
 * PoolKeepWarmTest (manual clock) and KeepWarmWiringTest (real sockets, manual clock).
 */
class KeepWarmTest {
  @RegisterExtension
  final ServerRig<AcceptingServer> rig = ServerRig.plain();

  private final AcceptingServer server = rig.server;
  private final ConnectionManager m = rig.m;
  private final Allocation to = rig.a;

  @Test
  void itKeepsTheMinimumThroughRetirementAndStopsAtZero() throws Exception {
    m.keepWarm(to, 2);
    await().until(() -> m.stats(to).equals(Managers.stats(2, 2, 0, 0, 0)));
    assertThat(m.retireAll()).isEqualTo(2);
    await()
        .until(() -> m.stats(to).equals(Managers.stats(2, 2, 0, 0, 0))
            && m.totals().closed(CloseReason.RETIRED) == 2);
    await().until(() -> server.acceptedCount() == 4);
    m.keepWarm(to, 0);
    Connection c = m.allocate(to).get(10, TimeUnit.SECONDS);
    assertThat(c.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(m.stats(to)).as("no replacement").isEqualTo(Managers.stats(2, 1, 1, 0, 0));
    c.close();
  }

  @Test
  void itsArgumentsAreChecked() {
    assertThatThrownBy(() -> m.keepWarm(null, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key");
    assertThatThrownBy(() -> m.keepWarm(to, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("minIdle");
    m.shutdown();
    assertThatThrownBy(() -> m.keepWarm(to, 1)).isInstanceOf(IllegalStateException.class);
  }
}
