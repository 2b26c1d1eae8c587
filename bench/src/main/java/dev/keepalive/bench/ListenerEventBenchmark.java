package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import dev.keepalive.micrometer.KeepaliveMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What a listener costs per cached cycle, without sockets: the two events a cached allocate ->
 * close cycle delivers ({@code handedOut} IMMEDIATE, {@code givenBack} pooled), called directly
 * as the event loop calls them, on a listener that overrides nothing ({@code listener=empty}),
 * keepalive-micrometer's {@link KeepaliveMetrics} on a {@link SimpleMeterRegistry} ({@code
 * metrics}) and the same with per-key tags ({@code metrics+keys}: a look-up of the pool key per
 * event). The CPU-only complement of {@link OptionsCycleBenchmark}'s {@code options=metrics},
 * whose socket round trips make its figures noisy on a busy machine.
 */
public class ListenerEventBenchmark extends JmhSettings {
  /** One listener and the event arguments of one pool key. */
  @State(Scope.Benchmark)
  public static class Events {
    @Param({"empty", "metrics", "metrics+keys"})
    public String listener;

    ConnectionListener l;
    Allocation request;
    ConnectionInfo socket;
    long id;

    @Setup
    public void setUp() {
      if (listener.equals("empty")) {
        l = new ConnectionListener() {};
      } else if (listener.equals("metrics") || listener.equals("metrics+keys")) {
        l = KeepaliveMetrics.builder(new SimpleMeterRegistry())
            .perKeyTags(listener.equals("metrics") ? 0 : 16)
            .build();
      } else {
        throw new IllegalArgumentException(
            "listener must be empty, metrics or metrics+keys: " + listener);
      }
      request = Allocation.to("http", "127.0.0.1", 8080);
      socket = new ConnectionInfo(
          "http",
          "127.0.0.1",
          8080,
          "http",
          "127.0.0.1",
          8080,
          new InetSocketAddress("127.0.0.1", 8080),
          Duration.ofSeconds(1),
          2,
          true);
    }
  }

  /** handedOut (IMMEDIATE, 2 µs waited) then givenBack (pooled): one cached cycle's events. */
  @Benchmark
  public void cachedCycleEvents(Events e) {
    e.l.handedOut(++e.id, e.request, e.socket, FromCache.IMMEDIATE, 2_000, 50_000);
    e.l.givenBack(e.socket, true);
  }
}
