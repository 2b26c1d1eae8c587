package dev.keepalive.http.internal;

import dev.keepalive.Connection;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Remembers, per pooled socket, until when the server said it would keep it open
 * ("Keep-Alive: timeout=N"), so a socket is not reused past that. A socket is known by its
 * local and remote address (unique among open TCP sockets). The margin: a socket stops being
 * reusable N seconds after its response ended minus min(1 s, N/2), for the server's clock
 * started before ours (the response was in flight).
 *
 * <p>Entries are written when a connection is given back to the pool and removed when one is
 * discarded, answered NEW (its address pair may be an old socket's) or found expired; entries
 * of sockets the manager closed on its own are swept once they expire. Thread-safe; costs
 * nothing while no server sent a timeout.
 */
public final class KeepAliveTracker {
  private static final long SECOND = 1_000_000_000L;
  private static final int SWEEP_AT = 1024;

  private record Key(InetSocketAddress local, InetSocketAddress remote) {}

  private final Map<Key, Long> deadlines = new ConcurrentHashMap<>();
  private final LongSupplier nanoClock;

  public KeepAliveTracker(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** {@code c} goes back to the pool after a response with this timeout (-1: none). */
  public void pooled(Connection c, long timeoutSeconds) {
    if (timeoutSeconds < 0) {
      forget(c);
      return;
    }
    Key k = key(c);
    if (k == null) {
      return;
    }
    long timeout = Math.min(timeoutSeconds, 1_000_000_000L) * SECOND;
    long margin = Math.min(SECOND, timeout / 2);
    long now = nanoClock.getAsLong();
    deadlines.put(k, now + timeout - margin);
    if (deadlines.size() > SWEEP_AT) {
      deadlines.values().removeIf(d -> now - d >= 0);
    }
  }

  /** True when the server's advertised keep-alive of {@code c}'s socket has passed. */
  public boolean expired(Connection c) {
    if (deadlines.isEmpty()) {
      return false;
    }
    Key k = key(c);
    Long d = k == null ? null : deadlines.get(k);
    if (d == null) {
      return false;
    }
    if (nanoClock.getAsLong() - d >= 0) {
      deadlines.remove(k);
      return true;
    }
    return false;
  }

  /** {@code c}'s socket is not (or no longer) known to have a server timeout. */
  public void forget(Connection c) {
    if (deadlines.isEmpty()) {
      return;
    }
    Key k = key(c);
    if (k != null) {
      deadlines.remove(k);
    }
  }

  /** Sockets with a remembered deadline (for tests). */
  public int size() {
    return deadlines.size();
  }

  private static Key key(Connection c) {
    InetSocketAddress local = c.localAddress();
    InetSocketAddress remote = c.remoteAddress();
    return local == null || remote == null ? null : new Key(local, remote);
  }
}
