package dev.keepalive;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.Managers;
import dev.keepalive.testing.RecordingListener;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testkit.AcceptingServer;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.TabularData;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JFR events (dev.keepalive.*) and the opt-in MXBean, with real sockets on 127.0.0.1. */
class ObservabilityTest {
  @TempDir
  Path dir;

  @Test
  void aRecordingShowsConnectsAcquiresClosesAndLeaks() throws Exception {
    RecordingListener heard = new RecordingListener();
    List<RecordedEvent> recorded;
    try (Recording r = new Recording()) {
      for (String e : List.of("Connect", "Acquire", "Close", "Leak", "TlsHandshake")) {
        r.enable("dev.keepalive." + e).withThreshold(Duration.ZERO);
      }
      r.start();
      try (ServerRig<AcceptingServer> rig = ServerRig.plain(() -> ConnectionManager.builder()
          .leakDetection(Duration.ofMillis(1))
          .listener(heard)
          .build())) {
        Connection c = rig.connect();
        await().until(() -> !heard.events("leaked").isEmpty()); // held past 1 ms
        c.discard();
        await().until(() -> !heard.events("closed").isEmpty());
      }
      r.stop();
      Path file = dir.resolve("rec.jfr");
      r.dump(file);
      recorded = RecordingFile.readAllEvents(file);
    }
    Map<String, List<RecordedEvent>> byName = recorded.stream()
        .filter(e -> e.getEventType().getName().startsWith("dev.keepalive."))
        .collect(Collectors.groupingBy(e -> e.getEventType().getName()));
    assertThat(byName)
        .containsKeys(
            "dev.keepalive.Connect",
            "dev.keepalive.Acquire",
            "dev.keepalive.Close",
            "dev.keepalive.Leak");
    RecordedEvent connect = byName.get("dev.keepalive.Connect").get(0);
    assertThat(connect.getString("host")).isEqualTo("127.0.0.1");
    assertThat(connect.getString("error")).isNull();
    assertThat(byName.get("dev.keepalive.Acquire").get(0).getString("outcome")).isEqualTo("NEW");
    assertThat(byName.get("dev.keepalive.Close").get(0).getString("reason")).isEqualTo("DISCARDED");
    assertThat(byName.get("dev.keepalive.Leak").get(0).getBoolean("reclaimed")).isFalse();
    assertThat(byName.get("dev.keepalive.Leak").get(0).getString("allocationSite"))
        .contains("ServerRig.connect"); // the caller of allocate()
  }

  @Test
  void theMxBeanShowsCountsAndTotalsAndRetires() throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName name = new ObjectName("dev.keepalive:type=ConnectionManager,name=\"mx-test\"");
    try (ServerRig<AcceptingServer> rig =
        ServerRig.plain(() -> ConnectionManager.builder().jmx("mx-test").build())) {
      rig.connect().close();
      Managers.awaitStats(rig.m, Managers.stats(1, 1, 0, 0, 0));
      assertThat(server.getAttribute(name, "Idle")).isEqualTo(1);
      assertThat(server.getAttribute(name, "Open")).isEqualTo(1);
      assertThat(server.getAttribute(name, "NewHandOuts")).isEqualTo(1L);
      assertThat(server.invoke(name, "retireAll", null, null)).isEqualTo(1);
      TabularData closes = (TabularData) server.getAttribute(name, "Closes");
      assertThat(closes.get(new Object[] {"RETIRED"}).get("value")).isEqualTo(1L);
      assertThatThrownBy(() -> ConnectionManager.builder().jmx("mx-test").build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("mx-test");
    }
    assertThat(server.isRegistered(name)).isFalse();
  }

  @Test
  void aBlankJmxNameIsRefusedByName() {
    assertThatThrownBy(() -> ConnectionManager.builder().jmx(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("jmx");
    assertThatThrownBy(() -> ConnectionManager.builder().listener(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("listener");
  }

  @Test
  void withoutARecordingNothingIsKeptForJfr() throws Exception {
    try (ServerRig<AcceptingServer> rig = ServerRig.plain()) {
      rig.connect().close();
      Managers.awaitStats(rig.m, Managers.stats(1, 1, 0, 0, 0));
      assertThat(Files.exists(dir)).isTrue(); // nothing to record: the manager works unobserved
      assertThat(rig.m.totals().handOuts()).isEqualTo(1);
    }
  }
}
