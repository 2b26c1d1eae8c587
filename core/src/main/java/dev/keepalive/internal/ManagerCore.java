package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.PoolTotals;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Predicate;

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
    this(settings, java.util.List.of());
  }

  /** Starts a manager's event loop with these settings and listeners (in call order). */
  public ManagerCore(
      Settings settings, java.util.List<dev.keepalive.ConnectionListener> listeners) {
    this.manager = new Manager(settings, listeners);
  }

  /**
   * Submits a request. Its answer goes later, on the event loop, to {@code onConnection} or
   * {@code onFailure}, exactly once, unless it is cancelled. False when the loop has ended (the
   * manager is closed).
   *
   * @param fresh never served from the pool: always a NEW connection
   */
  public boolean submit(
      long id,
      Allocation a,
      boolean fresh,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure) {
    return manager.submit(id, a, fresh, onConnection, onFailure);
  }

  /**
   * {@link #submit(long, Allocation, boolean, BiConsumer, Consumer)}, remembering {@code site}
   * (the stack of the allocate() call) for leak reports; pass one only when leak detection is on.
   */
  public boolean submit(
      long id,
      Allocation a,
      boolean fresh,
      BiConsumer<Connection, FromCache> onConnection,
      Consumer<Failure> onFailure,
      Throwable site) {
    return manager.submit(id, a, fresh, onConnection, onFailure, site);
  }

  /**
   * Opens connections for {@code a}'s key until it has {@code n} sockets, where the limits leave
   * room without evicting; the sockets go to the idle pool. Exactly one of {@code onOpened} (how
   * many it opened) and {@code onFailure} (the first failure) is called, once, on the event loop.
   * False when the loop has ended (the manager is closed).
   */
  public boolean prewarm(Allocation a, int n, IntConsumer onOpened, Consumer<Failure> onFailure) {
    return manager.prewarm(a, n, onOpened, onFailure);
  }

  /**
   * Keeps at least {@code minIdle} idle sockets open for {@code a}'s key, 0 removing the
   * minimum; see ConnectionManager.keepWarm. False when the loop has ended.
   */
  public boolean keepWarm(Allocation a, int minIdle) {
    return manager.keepWarm(a, minIdle);
  }

  /** Cancels an unanswered request: true when it was, false when unknown or answered. */
  public boolean cancel(long id) {
    return manager.cancel(id);
  }

  /** Exact on the event loop, else the counts the loop last published. */
  public PoolStats stats() {
    return manager.stats();
  }

  /** The counts of {@code a}'s key, exact (asked of the event loop); zero when it has none. */
  public PoolStats stats(Allocation a) {
    return manager.stats(a);
  }

  /** The running totals, exact (asked of the event loop); after close(), the final ones. */
  public PoolTotals totals() {
    return manager.totals();
  }

  /** Closes every idle socket; returns once they are closed. Leased ones are untouched. */
  public void evictIdle() {
    manager.evictIdle();
  }

  /**
   * Retires the open sockets {@code which} selects (run on the event loop, once per socket);
   * returns how many. An exception of {@code which} propagates as thrown; 0 once closed.
   */
  public int retire(Predicate<? super ConnectionInfo> which) {
    return manager.retire(which);
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

  /**
   * What ended the event loop other than close() or shutdown(): an Error on the loop thread (an
   * OutOfMemoryError, a StackOverflowError from a callback), after which every pending request
   * was answered and every call is refused; null while it runs or after a normal close.
   */
  public Throwable failure() {
    return manager.failure();
  }
}
