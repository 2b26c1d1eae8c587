package dev.keepalive.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One daemon thread with a {@link Selector}: it runs every task of one manager, dispatches socket
 * readiness, and wakes up for the driver's next deadline. All pool state is confined to it, so
 * nothing in the pool takes a lock.
 *
 * <p>Tasks from other threads go through a lock-free inbox; the selector is woken only when the
 * loop is (about to be) asleep, once per sleep however many tasks arrive. Tasks the loop gives
 * itself run later in order, never on the stack that submitted them. Each turn runs a bounded
 * batch of tasks, then polls the selector, so I/O is never starved by a stream of tasks.
 */
final class EventLoop {
  /** What the loop drives. Every method runs on the loop thread. */
  interface Driver {
    /** A registered channel is ready. */
    void onReady(SelectionKey key);

    /** Called once per turn before the loop may sleep: run due timers; return the next deadline
     *  in clock nanos, or Long.MAX_VALUE for none. */
    long onTurn();

    /** The loop is stopping: close what is left. */
    void onStop();
  }

  /**
   * A timer of the sockets layer (Happy Eyeballs' attempt delay): scheduled with
   * {@link #schedule}, it fires once on the loop when its time (clock nanos) has come, unless it
   * was cancelled. One timer is in the loop's heap at most once; scheduling it again moves it.
   */
  abstract static class Timer implements LongHeap.Entry {
    private long at;
    private int heapIndex = -1;

    /** Runs on the loop when the timer's time has come. */
    abstract void fire();

    @Override
    public long heapKey() {
      return at;
    }

    @Override
    public int heapIndex() {
      return heapIndex;
    }

    @Override
    public void heapIndex(int index) {
      heapIndex = index;
    }
  }

  private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
  private static final int BATCH = 4096;
  /**
   * How long the loop polls its inbox before it sleeps in the selector after a turn that took
   * tasks from other threads. A thread that allocates, uses and gives back a connection in a
   * tight loop then hands its next call to an awake loop, without a selector wake-up (a syscall,
   * and a context switch on both sides). Bounded, and only after such calls: I/O alone (connects,
   * reads) never makes the loop spin, and an idle manager costs nothing.
   */
  static final long SPIN_NANOS = Long.getLong("dev.keepalive.spinMicros", 20) * 1000;

  private final Selector selector;
  private long turn;
  private final Thread thread;
  private final Clock clock;
  private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
  private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
  private final AtomicBoolean sleeping = new AtomicBoolean();
  private volatile boolean terminated;
  /**
   * What ended the loop when it did not stop by request: an Error (OutOfMemoryError, a
   * StackOverflowError from a callback, a broken assertion) or an exception the loop's own code
   * let out; null otherwise. A RuntimeException of one task, timer or readiness handler is logged
   * and the loop goes on; an Error is not survivable in place (the pool's state may be half
   * changed), so it ends the loop, which then answers what it can (Driver.onStop).
   */
  private volatile Throwable failure;

  private boolean stopRequested;
  private boolean busy;
  private Driver driver;
  /** Timers by due time (loop only); empty, and only tested for emptiness, when none is used. */
  private final LongHeap<Timer> timers = new LongHeap<>();

  EventLoop(String name, Clock clock) {
    try {
      this.selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open a selector", e);
    }
    this.clock = clock;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  /** Starts the thread. */
  void start(Driver driver) {
    this.driver = driver;
    thread.start();
  }

  Selector selector() {
    return selector;
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  boolean isTerminated() {
    return terminated;
  }

  /**
   * Runs {@code task} on the loop, after the tasks submitted before it. From the loop thread it
   * runs later, never on the caller's stack. False when the loop has terminated: the task will
   * not run.
   */
  boolean execute(Runnable task) {
    if (Thread.currentThread() == thread) {
      tasks.add(task);
      return true;
    }
    if (terminated) {
      return false;
    }
    inbox.add(task);
    if (terminated && inbox.remove(task)) {
      return false; // the final drain is over (or will not see it): it will never run
    }
    if (sleeping.get() && sleeping.compareAndSet(true, false)) {
      selector.wakeup();
    }
    return true;
  }

  /**
   * Schedules {@code t} to fire at {@code atNanos} (the loop's clock), replacing its earlier
   * time if it was scheduled. Loop thread only.
   */
  void schedule(Timer t, long atNanos) {
    if (timers.contains(t)) {
      t.at = atNanos;
      timers.update(t);
    } else {
      t.at = atNanos;
      timers.add(t);
    }
  }

  /** Cancels {@code t} if it is scheduled. Loop thread only. */
  void cancel(Timer t) {
    timers.remove(t);
  }

  /** Fires the due timers; the time the next one is due, or Long.MAX_VALUE for none. */
  private long runTimers() {
    if (timers.isEmpty()) {
      return Long.MAX_VALUE;
    }
    long now = clock.nanoTime();
    Timer t;
    while ((t = timers.peek()) != null && t.at - now <= 0) {
      timers.remove(t);
      try {
        t.fire();
      } catch (RuntimeException e) {
        LOG.log(Level.ERROR, "a timer on the event loop failed", e);
      }
    }
    return t == null ? Long.MAX_VALUE : t.at;
  }

  /** Asks the loop to stop after the tasks already queued. Loop thread only. */
  void stop() {
    stopRequested = true;
  }

  /** Waits for the thread to end (no-op on the loop thread itself). */
  void awaitTermination() {
    if (inLoop()) {
      return;
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      while (!stopRequested) {
        runTasks();
        long timer = runTimers();
        long next = Math.min(timer, driver.onTurn());
        if (stopRequested) {
          break;
        }
        select(next);
      }
    } catch (Throwable t) {
      failure = t;
      LOG.log(
          Level.ERROR,
          "event loop " + thread.getName() + " failed: every pending request is answered with "
              + "function \"shutdown\", every connection is closed, and the manager takes no more",
          t);
    } finally {
      terminate();
    }
  }

  /** Runs the queued tasks, and the ones they queue, while the loop terminates. */
  private void drain() {
    for (int round = 0; round < 1_000_000; round++) {
      Runnable t = tasks.poll();
      if (t == null) {
        t = inbox.poll();
      }
      if (t == null) {
        return;
      }
      try {
        t.run();
      } catch (Throwable e) { // an Error too: the sockets must still be closed
        LOG.log(Level.ERROR, "a task on the stopping event loop failed", e);
      }
    }
  }

  /** What ended the loop other than a stop request (see {@link #failure}), or null. */
  Throwable failure() {
    return failure;
  }

  /**
   * The number of selector polls begun so far. Two moments with the same turn saw no poll in
   * between: whatever reached a socket meanwhile is still unseen by the selector too. Loop
   * thread only.
   */
  long turn() {
    return turn;
  }

  private void select(long next) throws IOException {
    turn++;
    boolean spin = busy; // this turn took tasks from other threads: more may follow at once
    busy = false;
    if (!tasks.isEmpty() || !inbox.isEmpty() || (spin && spinForTasks())) {
      selector.selectNow(this::ready);
      return;
    }
    sleeping.set(true);
    long timeoutMs = 0; // forever
    if (next != Long.MAX_VALUE) {
      long wait = next - clock.nanoTime();
      timeoutMs = wait <= 0 ? -1 : Math.max(1, (wait + 999_999) / 1_000_000);
    }
    if (timeoutMs < 0 || !inbox.isEmpty()) {
      sleeping.set(false);
      selector.selectNow(this::ready);
      return;
    }
    selector.select(this::ready, timeoutMs);
    sleeping.set(false);
  }

  /** Polls the inbox for a moment; true when a task arrived. */
  private boolean spinForTasks() {
    long end = System.nanoTime() + SPIN_NANOS;
    while (inbox.isEmpty()) {
      if (System.nanoTime() - end >= 0) {
        return false;
      }
      Thread.onSpinWait();
    }
    return true;
  }

  private void ready(SelectionKey key) {
    try {
      driver.onReady(key);
    } catch (RuntimeException t) {
      LOG.log(Level.ERROR, "unexpected failure handling " + key.attachment(), t);
    }
  }

  private void runTasks() {
    Runnable t;
    while ((t = inbox.poll()) != null) {
      tasks.add(t);
      busy = true; // another thread is talking to the loop: it may say more at once
    }
    for (int i = 0; i < BATCH && (t = tasks.poll()) != null; i++) {
      runSafely(t);
    }
  }

  private static void runSafely(Runnable t) {
    try {
      t.run();
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "a task on the event loop failed", e);
    }
  }

  private void terminate() {
    terminated = true;
    // Whatever was accepted before termination still runs (deliveries, give-backs).
    drain();
    try {
      driver.onStop();
    } catch (Throwable e) {
      LOG.log(Level.ERROR, "closing the event loop's sockets failed", e);
    }
    drain(); // what onStop queued on this thread (the answers of a failed loop)
    try {
      // deregisters the keys of the channels just closed, which releases their descriptors and
      // empties the selector's fd-to-key map: a closed selector keeps the keys it still maps,
      // with their channels and attachments, as long as the manager is reachable
      selector.selectNow();
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "deregistering the event loop's sockets failed", e);
    }
    try {
      selector.close();
    } catch (IOException e) {
      LOG.log(Level.WARNING, "closing the selector failed", e);
    }
  }
}
