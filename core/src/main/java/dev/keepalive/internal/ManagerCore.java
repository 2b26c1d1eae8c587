package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The one entry point of the public API into the machinery: {@code dev.keepalive} calls these
 * methods and nothing else internal (besides {@link Settings} and {@link Failure}, the values it
 * passes and gets). Every method is thread-safe; see {@link Manager} for how a call reaches the
 * event loop.
 */
public final class ManagerCore {
  private final Manager manager;

  /** Starts a manager's event loop with these settings. */
  public ManagerCore(Settings settings) {
    this.manager = new Manager(settings);
  }

  /**
   * Submits a request. Its answer goes later, on the event loop, to {@code onConnection} or
   * {@code onFailure}, exactly once, unless it is cancelled. False when the loop has ended (the
   * manager is closed).
   *
   * @param fresh never served from the pool: always a NEW connection
   */
  public boolean submit(long id, Allocation a, boolean fresh,
      BiConsumer<Connection, FromCache> onConnection, Consumer<Failure> onFailure) {
    return manager.submit(id, a, fresh, onConnection, onFailure);
  }

  /** Cancels an unanswered request: true when it was, false when unknown or answered. */
  public boolean cancel(long id) {
    return manager.cancel(id);
  }

  /** Exact on the event loop, else the counts the loop last published. */
  public PoolStats stats() {
    return manager.stats();
  }

  /** Stops pooling and answers unanswered requests with "shutdown"; see ConnectionManager. */
  public void shutdown() {
    manager.shutdown();
  }

  /** Shuts down, closes leased sockets, stops the event loop and waits for it. */
  public void close() {
    manager.close();
  }

  /** True when {@code c} was handed out by this manager. */
  public boolean owns(Connection c) {
    return manager.owns(c);
  }
}
