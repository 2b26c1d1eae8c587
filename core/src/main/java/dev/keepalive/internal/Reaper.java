package dev.keepalive.internal;

import java.lang.System.Logger.Level;
import java.lang.ref.ReferenceQueue;

/**
 * Finds connections their holders forgot: each {@link Lease} is a phantom reference to its
 * {@link LeasedConnection}; when the connection becomes unreachable without close() or discard(),
 * the GC queues the lease here and one shared daemon thread hands it back to its manager's loop,
 * which discards the socket and logs a warning. An explicit close() clears the reference, so the
 * common path costs no registration or list update (unlike a {@link java.lang.ref.Cleaner}).
 */
final class Reaper {
  static final ReferenceQueue<LeasedConnection> QUEUE = new ReferenceQueue<>();
  private static final System.Logger LOG = System.getLogger("dev.keepalive");

  static {
    Thread t = new Thread(Reaper::run, "keepalive-reaper");
    t.setDaemon(true);
    t.start();
  }

  private Reaper() {}

  /** Makes sure the reaper thread runs (class initialisation starts it). */
  static ReferenceQueue<LeasedConnection> queue() {
    return QUEUE;
  }

  private static void run() {
    while (true) {
      try {
        ((Lease) QUEUE.remove()).forgotten();
      } catch (InterruptedException e) {
        // a daemon: keep going
      } catch (RuntimeException | Error e) {
        LOG.log(Level.ERROR, "reclaiming a forgotten connection failed", e);
      }
    }
  }
}
