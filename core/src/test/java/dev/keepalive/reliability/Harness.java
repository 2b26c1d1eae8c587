package dev.keepalive.reliability;

import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testing.Managers;
import dev.keepalive.testkit.Await;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * What only the reliability tests use, besides the kit and {@link Managers}: a keep-alive no test
 * outlasts, and waits that look at a connection's socket through the manager's internals.
 */
final class Harness {
  private Harness() {}

  /**
   * A keep-alive no test outlasts: with it, a pooled socket that goes away was closed by the
   * idle watch (or a check), never by expiry.
   */
  static final Duration NO_EXPIRY = Duration.ofMinutes(10);

  /** {@link Managers#onLoop}: runs {@code task} on the frozen event loop. */
  static <T> T onLoop(ConnectionManager m, Callable<T> task) throws Exception {
    return Managers.onLoop(m, task);
  }

  /**
   * Waits until the socket of {@code c} has something to read (bytes, EOF or a reset) without
   * reading it: the peer's doing has reached the client's kernel, so what the manager does next
   * no longer depends on timing. The socket is asked through a selector of the test's own, the
   * readiness the manager's idle watch uses (cheap, unlike /proc/net/tcp when it lists
   * thousands of TIME_WAIT sockets).
   */
  static void awaitReadable(Connection c) {
    SocketChannel ch = Internals.channel(c);
    Await.await().until(() -> {
      try (Selector sel = Selector.open()) {
        ch.register(sel, SelectionKey.OP_READ);
        return sel.selectNow() > 0;
      }
    });
  }
}
