package dev.keepalive.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The accepting half of every kit server: a daemon thread that accepts connections, keeps each
 * one, and hands it on; {@link #close()} closes the listener and every connection it kept,
 * including one accepted while close() runs. That last one is the trap: close() may walk the
 * list just before the thread adds a connection it has accepted, so the thread checks after the
 * add whether close() has begun, and closes the connection itself if so. (Either close() sees
 * the connection in the list or the thread sees the flag: both are volatile accesses, in that
 * order on each side.)
 */
final class AcceptLoop<C extends Closeable> {
  /** Blocks until the next connection, or throws once the listener is closed. */
  @FunctionalInterface
  interface Source<C> {
    C accept() throws IOException;
  }

  private final Closeable listener;
  private final Source<C> source;
  private final Consumer<C> onAccepted;
  private final List<C> accepted = new CopyOnWriteArrayList<>();
  private volatile boolean closed;
  /** A test's seam: runs between accept() and the add, so that close() can slip in there. */
  volatile Runnable afterAccept = () -> {};

  /** Starts the thread; {@code onAccepted} runs on it for every connection kept. */
  AcceptLoop(String name, Closeable listener, Source<C> source, Consumer<C> onAccepted) {
    this.listener = listener;
    this.source = source;
    this.onAccepted = onAccepted;
    daemon(name, this::run);
  }

  /** Starts {@code task} on a daemon thread of its own. */
  static void daemon(String name, Runnable task) {
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    t.start();
  }

  private void run() {
    while (!closed) {
      C c;
      try {
        c = source.accept();
      } catch (IOException e) {
        return; // the listener was closed
      }
      afterAccept.run();
      accepted.add(c);
      if (closed) { // close() may have gone through the list before the add
        closeQuietly(c);
        return;
      }
      onAccepted.accept(c);
    }
  }

  /** Every connection accepted so far, in order (a live view). */
  List<C> accepted() {
    return accepted;
  }

  boolean isClosed() {
    return closed;
  }

  /** Closes the listener and every connection accepted, now or while this runs. */
  void close() {
    closed = true;
    closeQuietly(listener);
    for (C c : accepted) {
      closeQuietly(c);
    }
  }

  /** The first of {@code items} that is {@code which}, waiting until there is one. */
  static <T> T awaitFirst(Collection<T> items, Predicate<T> which) {
    AtomicReference<T> found = new AtomicReference<>();
    Await.await().until(() -> {
      items.stream().filter(which).findFirst().ifPresent(found::set);
      return found.get() != null;
    });
    return found.get();
  }

  static void closeQuietly(Closeable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (IOException ignored) {
      // closing
    }
  }
}
