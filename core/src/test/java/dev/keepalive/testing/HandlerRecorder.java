package dev.keepalive.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A started connection's handler that records everything it hears: the input (copied out of the
 * loop's reused buffer), how often each event came, every error, any event after the end (EOF or
 * an error), and the threads and connections it heard them on (the connections weakly, so that a
 * test can drop one). Tests may extend it to act on an event, calling the method they override.
 */
public class HandlerRecorder implements ConnectionHandler {
  private final ByteArrayOutputStream data = new ByteArrayOutputStream();
  public final AtomicInteger inputs = new AtomicInteger();
  public final AtomicInteger eofs = new AtomicInteger();
  public final AtomicInteger errors = new AtomicInteger();
  /** Events that came after onEof or onError. */
  public final AtomicInteger afterEnd = new AtomicInteger();

  public final List<IOException> errorList = new CopyOnWriteArrayList<>();
  /** The last error heard. */
  public final AtomicReference<IOException> error = new AtomicReference<>();

  public final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  /** The connections it heard on, weakly: a recorder must not keep a dropped connection alive. */
  private final List<WeakReference<Connection>> owners = new CopyOnWriteArrayList<>();

  private void heard(Connection connection) {
    threads.add(Thread.currentThread());
    if (owners().stream().noneMatch(c -> c == connection)) {
      owners.add(new WeakReference<>(connection));
    }
    if (eofs.get() + errors.get() > 0) {
      afterEnd.incrementAndGet();
    }
  }

  @Override
  public void onInput(Connection connection, ByteBuffer in) {
    heard(connection);
    inputs.incrementAndGet();
    byte[] b = new byte[in.remaining()];
    in.get(b);
    synchronized (data) {
      data.write(b, 0, b.length);
    }
  }

  @Override
  public void onEof(Connection connection) {
    heard(connection);
    eofs.incrementAndGet();
  }

  @Override
  public void onError(Connection connection, IOException e) {
    heard(connection);
    errorList.add(e);
    error.set(e);
    errors.incrementAndGet();
  }

  /** The connections it heard on that are still reachable. */
  public List<Connection> owners() {
    return owners.stream().map(WeakReference::get).filter(Objects::nonNull).toList();
  }

  public byte[] bytes() {
    synchronized (data) {
      return data.toByteArray();
    }
  }

  public String text() {
    return new String(bytes(), StandardCharsets.US_ASCII);
  }

  public int size() {
    synchronized (data) {
      return data.size();
    }
  }

  /** A new recorder, started on {@code c} as its handler. */
  public static HandlerRecorder startedOn(Connection c) {
    HandlerRecorder h = new HandlerRecorder();
    c.start(h);
    return h;
  }

  /** Asserts that every event came on one thread: a daemon, and not the test's. */
  public void assertOnDaemonLoop() {
    assertThat(threads).hasSize(1);
    Thread t = threads.iterator().next();
    assertThat(t).isNotSameAs(Thread.currentThread());
    assertThat(t.isDaemon()).isTrue();
  }
}
