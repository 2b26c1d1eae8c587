package dev.keepalive.bench;

import dev.keepalive.ConnectionManager;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the cached-cycle benchmarks' states hold: a sink (child process) and a manager, both
 * closed after the trial (JMH runs a superclass's {@code @TearDown} too). Closing the manager
 * answers any queued request with "shutdown" and closes every socket.
 */
public abstract class SinkFixture {
  SinkProcess sink;
  ConnectionManager manager;

  /**
   * Starts the sink and a manager of {@code maxPerHost} connections a key, and blocks
   * {@code queued} requests beside one idle key (the queue the "with queue" states measure by).
   */
  Pools.BlockedQueue startWithBlockedQueue(int maxPerHost, int queued) throws Exception {
    sink = SinkProcess.start();
    manager = Pools.manager(maxPerHost, 128);
    return Pools.BlockedQueue.besideOneIdleKey(manager, sink.port(), maxPerHost, queued);
  }

  /** A line printed before the manager is closed, or null. */
  String report() {
    return null;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (manager != null) {
      String report = report();
      if (report != null) {
        System.out.println("\n" + report + "; pool " + manager.stats());
      }
      manager.close();
    }
    if (sink != null) {
      sink.close();
    }
  }
}
