package dev.keepalive.bench.peers;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What every peer benchmark state holds: one peer's pools (with their sink), checked after each
 * iteration and closed after the trial (JMH runs these inherited helpers). Subclasses only set
 * {@link #pools} up.
 */
public abstract class PeerState<P extends PeerState.Checked> {
  /** A peer's pools; {@link #verify} throws when they are not as a cached cycle leaves them. */
  interface Checked extends AutoCloseable {
    void verify() throws InterruptedException;

    @Override
    void close();
  }

  P pools;

  @TearDown(Level.Iteration)
  public void check() throws InterruptedException {
    pools.verify();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (pools != null) {
      pools.close();
    }
  }
}
