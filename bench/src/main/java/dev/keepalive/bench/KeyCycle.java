package dev.keepalive.bench;

/**
 * A benchmark thread's share of the keys (see {@link ThreadCachedBenchmark#mine}), handed out
 * round robin: what the keepalive and the Netty thread states both cycle over.
 *
 * @param <T> the key type
 */
public abstract class KeyCycle<T> {
  /** This thread's keys; set by the subclass's setup. */
  protected T[] mine;

  private int next;

  /** The next of {@link #mine}, from the first again after the last. */
  public T next() {
    T key = mine[next];
    next = next + 1 == mine.length ? 0 : next + 1;
    return key;
  }
}
