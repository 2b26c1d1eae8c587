package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cached cycles from plain threads, the way blocking client code uses the manager:
 * {@code allocate(a).get()}, then {@code close()}. Each operation crosses to the event loop and
 * back (request, delivery, give-back). One key with two idle sockets, so each of up to two
 * threads always finds one: every answer must be IMMEDIATE.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ThreadCachedBenchmark {
  static final int IDLE = 2;

  @State(Scope.Benchmark)
  public static class Target {
    SinkProcess sink;
    ConnectionManager manager;
    Allocation allocation;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      sink = SinkProcess.start();
      manager = ConnectionManager.builder()
          .keepAlive(Duration.ofHours(1))
          .build();
      allocation = Allocation.to("http", "127.0.0.1", sink.port());
      Pools.prewarm(manager, new Allocation[] {allocation}, IDLE);
    }

    @TearDown(Level.Iteration)
    public void check() throws InterruptedException {
      Pools.awaitStats(manager, s -> s.idle() == IDLE && s.open() == IDLE,
          IDLE + " idle sockets and nothing else");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (manager != null) {
        manager.close();
      }
      if (sink != null) {
        sink.close();
      }
    }
  }

  /** What one benchmark thread saw. */
  @State(Scope.Thread)
  public static class Seen {
    long immediate;
    long other;

    @TearDown(Level.Iteration)
    public void check() {
      if (other != 0 || immediate == 0) {
        throw new IllegalStateException("not a cached benchmark: IMMEDIATE " + immediate
            + ", other " + other);
      }
    }
  }

  static FromCache cycle(Target t, Seen seen) throws InterruptedException, ExecutionException {
    Connection c = t.manager.allocate(t.allocation).get();
    FromCache how = c.fromCache();
    c.close();
    if (how == FromCache.IMMEDIATE) {
      seen.immediate++;
    } else {
      seen.other++;
    }
    return how;
  }

  @Benchmark
  @Threads(1)
  public FromCache threadCached(Target t, Seen seen)
      throws InterruptedException, ExecutionException {
    return cycle(t, seen);
  }

  @Benchmark
  @Threads(2)
  public FromCache threadCached2(Target t, Seen seen)
      throws InterruptedException, ExecutionException {
    return cycle(t, seen);
  }
}
