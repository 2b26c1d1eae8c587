package dev.keepalive.reliability;

import dev.keepalive.ConnectionManager;
import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * Read-only looks at a manager's bookkeeping for leak checks (the tests run on the class path,
 * so reflection may open the internals): keys the pool holds state for, requests it tracks,
 * lookups in flight, whether the loop thread has ended, and the TLS layer's unsent ciphertext.
 * Read them on the loop
 * ({@link Harness#onLoop}) for an exact answer.
 */
final class Internals {
  /** The manager's bookkeeping at one instant. */
  record Books(int hosts, int tracked, int lookups) {
    static final Books NONE = new Books(0, 0, 0);
  }

  private Internals() {}

  static Books books(ConnectionManager m) {
    try {
      Object manager = manager(m);
      Object pool = field(manager, "pool");
      Object dns = field(manager, "dns");
      return new Books((int) call(pool, "keyCount"), (int) call(pool, "trackedCount"), (int)
          call(dns, "inflight"));
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot read the manager's internals", e);
    }
  }

  /** True once the manager's event loop thread has ended. */
  static boolean loopTerminated(ConnectionManager m) {
    try {
      Object loop = field(manager(m), "loop");
      return (boolean) call(loop, "isTerminated");
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot read the manager's internals", e);
    }
  }

  /** The socket of {@code c} (kept by its hand-out, so still there after close()). */
  static java.nio.channels.SocketChannel channel(dev.keepalive.Connection c) {
    try {
      return (java.nio.channels.SocketChannel) field(field(c, "lease"), "channel");
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot read the connection's internals", e);
    }
  }

  /**
   * Bytes of ciphertext the TLS layer (tls-channel) of {@code c}'s socket has made and not yet
   * handed to the socket; 0 for a plain connection. Only to find the moment a test needs.
   */
  static int unsentCiphertext(dev.keepalive.Connection c) {
    try {
      Object tls = field(field(field(c, "lease"), "socket"), "tls");
      if (tls == null) {
        return 0;
      }
      // the socket holds tls-channel's TlsChannelImpl itself (no ClientTlsChannel around it)
      Object buffer = field(field(tls, "outEncrypted"), "buffer");
      return buffer == null ? 0 : ((java.nio.ByteBuffer) buffer).position(); // null: released
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot read the TLS layer's internals", e);
    }
  }

  /** The machinery behind a manager's one entry point. */
  private static Object manager(ConnectionManager m) throws ReflectiveOperationException {
    return field(field(m, "core"), "manager");
  }

  private static Object field(Object o, String name) throws ReflectiveOperationException {
    Field f = o.getClass().getDeclaredField(name);
    f.setAccessible(true);
    return f.get(o);
  }

  private static Object call(Object o, String name) throws ReflectiveOperationException {
    Method m = o.getClass().getDeclaredMethod(name);
    m.setAccessible(true);
    return m.invoke(o);
  }
}
