package dev.keepalive.internal;

import dev.keepalive.Allocation;
import dev.keepalive.CloseReason;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.SSLSession;

/**
 * Who watches a manager: its {@link ConnectionListener}s, JFR ({@link JfrEvents}) and the DEBUG
 * log of closes. Part of the wiring: the manager calls it, on the loop, with the layers' own
 * records (request, slot, socket) and it turns them into the public views only when someone is
 * there to see them. Without listeners, the request path reads one flag per request (and, when
 * jdk.jfr is present, one JFR enabled check); nothing is allocated.
 *
 * <p>A listener that throws is logged (WARNING the first time, DEBUG after) and ignored: it never
 * reaches the pool's decisions or the other listeners. Loop only, but for {@link #submitted}.
 */
final class Observers {
  private static final System.Logger LOG = System.getLogger("dev.keepalive");

  private final ConnectionListener[] listeners;
  /** At least one listener. */
  final boolean listening;
  /**
   * Some listener overrides an event of a request's outcome or lookup (which need the request's
   * {@link Trace}), {@code handedOut}, {@code givenBack}: the events of every request, built only
   * for a listener that would hear them (as Netty skips the handler methods nobody overrides).
   */
  private final boolean tracing;

  private final boolean wantsHandedOut;
  private final boolean wantsGivenBack;

  private final Clock clock;
  /** A listener threw already: later ones are logged at DEBUG only (loop only). */
  private boolean warned;

  Observers(List<ConnectionListener> listeners, Clock clock) {
    this.listeners = listeners.toArray(new ConnectionListener[0]);
    this.listening = this.listeners.length > 0;
    this.clock = clock;
    ConnectionListener[] ls = this.listeners;
    Class<?> id = long.class;
    Class<?> a = Allocation.class;
    this.wantsHandedOut = overrides(
        ls, "handedOut", id, a, ConnectionInfo.class, FromCache.class, long.class, long.class);
    this.wantsGivenBack = overrides(ls, "givenBack", ConnectionInfo.class, boolean.class);
    this.tracing = wantsHandedOut
        || overrides(ls, "failed", id, a, String.class, String.class, long.class)
        || overrides(ls, "timedOut", id, a, long.class)
        || overrides(ls, "cancelled", id, a, long.class)
        || overrides(ls, "resolveStarted", id, a, String.class)
        || overrides(ls, "resolveEnded", id, a, String.class, List.class, long.class)
        || overrides(ls, "resolveFailed", id, a, String.class, String.class, long.class);
  }

  /** Whether one of {@code listeners} has its own {@code name} method, not the interface's. */
  private static boolean overrides(
      ConnectionListener[] listeners, String name, Class<?>... parameters) {
    for (ConnectionListener l : listeners) {
      try {
        if (l.getClass().getMethod(name, parameters).getDeclaringClass()
            != ConnectionListener.class) {
          return true;
        }
      } catch (NoSuchMethodException | SecurityException e) {
        return true; // cannot tell: tell it everything
      }
    }
    return false;
  }

  /** A socket starting to connect now must report its attempts and stages (a listener or JFR). */
  boolean observesConnects() {
    return listening || JfrEvents.running();
  }

  // ---- requests ----

  /** What is kept of an observed request between its steps ({@link Request#trace}). */
  static final class Trace {
    /** When allocate() was called, and when its lookup started (clock nanos; listeners only). */
    long submittedAt;

    long resolveStartedAt;
    /** The JFR acquire event under way, or null. */
    JfrEvents.Acquire jfr;
  }

  private static Trace trace(Request r) {
    return (Trace) r.trace;
  }

  /** {@code r} was made by allocate(), on the caller's thread: stamp it for its wait. */
  void submitted(Request r) {
    boolean recorded = JfrEvents.running() && JfrEvents.Acquire.PROBE.isEnabled();
    if (!tracing && !recorded) {
      return;
    }
    Trace t = new Trace();
    if (tracing) {
      t.submittedAt = clock.nanoTime();
    }
    if (recorded) {
      t.jfr = new JfrEvents.Acquire();
      t.jfr.begin();
    }
    r.trace = t;
  }

  void queued(Request r) {
    if (listening && !r.isWarm()) {
      emit(l -> l.queued(r.id, r.allocation));
    }
  }

  void resolveStarted(Request r, String host) {
    if (tracing && !r.isWarm()) {
      trace(r).resolveStartedAt = clock.nanoTime();
      emit(l -> l.resolveStarted(r.id, r.allocation, host));
    }
  }

  void resolveEnded(Request r, String host, List<InetAddress> addresses, Failure f) {
    if (tracing && !r.isWarm()) {
      long nanos = clock.nanoTime() - trace(r).resolveStartedAt;
      if (f == null) {
        emit(l -> l.resolveEnded(r.id, r.allocation, host, addresses, nanos));
      } else {
        emit(l -> l.resolveFailed(r.id, r.allocation, host, f.errorStr(), nanos));
      }
    }
  }

  /** {@code r} has its outcome: a connection (its slot) or a failure. */
  void answered(Request r) {
    Trace t = trace(r);
    if (t == null) {
      return;
    }
    if (t.jfr != null) {
      acquired(r, t, r.failure == null ? r.fromCache.name() : outcome(r.failure));
    }
    if (!tracing || r.isWarm()) {
      return;
    }
    long now = clock.nanoTime();
    long wait = now - t.submittedAt;
    Failure f = r.failure;
    if (f == null) {
      if (!wantsHandedOut) {
        return;
      }
      Slot slot = r.slot;
      long idle = r.fromCache == FromCache.NEW ? 0 : Math.max(0, now - slot.idleSince);
      ConnectionInfo info = info(slot, now, null);
      emit(l -> l.handedOut(r.id, r.allocation, info, r.fromCache, wait, idle));
    } else if (f == Failure.TIMEOUT) {
      emit(l -> l.timedOut(r.id, r.allocation, wait));
    } else {
      emit(l -> l.failed(r.id, r.allocation, f.functionName(), f.errorStr(), wait));
    }
  }

  void cancelled(Request r) {
    Trace t = trace(r);
    if (t == null) {
      return;
    }
    if (t.jfr != null) {
      acquired(r, t, "cancelled");
    }
    if (tracing && !r.isWarm()) {
      long wait = clock.nanoTime() - t.submittedAt;
      emit(l -> l.cancelled(r.id, r.allocation, wait));
    }
  }

  private static String outcome(Failure f) {
    return f == Failure.TIMEOUT ? "timeout" : f.functionName();
  }

  private static void acquired(Request r, Trace t, String outcome) {
    JfrEvents.Acquire e = t.jfr;
    t.jfr = null;
    e.end();
    if (e.shouldCommit()) {
      Allocation a = r.allocation;
      e.scheme = a.scheme();
      e.host = a.addr();
      e.port = a.port();
      e.requestId = r.id;
      e.outcome = outcome;
      e.error = r.failure == null ? null : r.failure.errorStr();
      e.commit();
    }
  }

  // ---- sockets ----

  void attemptStarted(SocketIo s, InetSocketAddress to) {
    if (listening) {
      ConnectionInfo info = info((Slot) s.owner, clock.nanoTime(), to);
      emit(l -> l.connectStarted(info, to));
    }
    if (JfrEvents.running() && JfrEvents.Connect.PROBE.isEnabled()) {
      JfrEvents.Connect e = new JfrEvents.Connect();
      e.begin();
      s.trace = SocketTrace.of(s).connect(to, e);
    }
  }

  void attemptEnded(SocketIo s, InetSocketAddress to, long nanos, Failure f) {
    if (listening) {
      ConnectionInfo info = info((Slot) s.owner, clock.nanoTime(), to);
      if (f == null) {
        emit(l -> l.connectEnded(info, to, nanos));
      } else {
        emit(l -> l.connectFailed(info, to, nanos, f.errorStr()));
      }
    }
    if (s.trace instanceof SocketTrace t) {
      JfrEvents.Connect e = t.takeConnect(to);
      if (e != null) {
        e.end();
        if (e.shouldCommit()) {
          e.scheme = s.scheme;
          e.host = s.host;
          e.port = s.port;
          e.remoteAddress = to.toString();
          e.error = f == null ? null : f.errorStr();
          e.commit();
        }
      }
    }
  }

  void stageStarted(SocketIo s, boolean tls) {
    if (listening) {
      ConnectionInfo info = info((Slot) s.owner, clock.nanoTime(), null);
      if (tls) {
        emit(l -> l.tlsStarted(info));
      } else {
        emit(l -> l.tunnelStarted(info, ((Slot) s.owner).owner.key.proxy));
      }
    }
    if (tls && JfrEvents.running() && JfrEvents.TlsHandshake.PROBE.isEnabled()) {
      JfrEvents.TlsHandshake e = new JfrEvents.TlsHandshake();
      e.begin();
      SocketTrace t = SocketTrace.of(s);
      t.handshake = e;
      s.trace = t;
    }
  }

  void stageEnded(SocketIo s, boolean tls, long nanos, Failure f) {
    SSLSession session = tls && f == null && s.tls != null ? s.tls.engine().getSession() : null;
    String error = f == null ? null : f.errorStr();
    if (listening) {
      ConnectionInfo info = info((Slot) s.owner, clock.nanoTime(), null);
      if (tls) {
        emit(l -> l.tlsEnded(info, session, nanos, error));
      } else {
        emit(l -> l.tunnelEnded(info, ((Slot) s.owner).owner.key.proxy, nanos, error));
      }
    }
    if (tls && s.trace instanceof SocketTrace t && t.handshake != null) {
      JfrEvents.TlsHandshake e = t.handshake;
      t.handshake = null;
      e.end();
      if (e.shouldCommit()) {
        e.scheme = s.scheme;
        e.host = s.host;
        e.port = s.port;
        e.protocol = session == null ? null : session.getProtocol();
        e.cipherSuite = session == null ? null : session.getCipherSuite();
        e.error = error;
        e.commit();
      }
    }
    if (tls || f != null) {
      s.trace = null; // the connect path is over
    }
  }

  void givenBack(Slot slot, boolean pooled) {
    if (wantsGivenBack) {
      ConnectionInfo info = info(slot, clock.nanoTime(), null);
      emit(l -> l.givenBack(info, pooled));
    }
  }

  /** {@code slot} is about to close (still open), for {@code why}. */
  void closing(Slot slot, CloseReason why) {
    boolean debug = LOG.isLoggable(Level.DEBUG);
    boolean recorded = JfrEvents.running() && JfrEvents.Close.PROBE.isEnabled();
    if (!listening && !debug && !recorded) {
      return;
    }
    long now = clock.nanoTime();
    ConnectionInfo info = info(slot, now, null);
    if (listening) {
      emit(l -> l.closed(info, why));
    }
    if (debug) {
      LOG.log(
          Level.DEBUG,
          "closed {0}://{1}:{2} ({3}) after {4} use(s), age {5}: {6}",
          info.scheme(),
          info.addr(),
          String.valueOf(info.port()),
          String.valueOf(info.remoteAddress()),
          String.valueOf(info.uses()),
          info.age(),
          why);
    }
    if (recorded) {
      JfrEvents.Close e = new JfrEvents.Close();
      if (e.shouldCommit()) {
        e.scheme = info.scheme();
        e.host = info.addr();
        e.port = info.port();
        e.remoteAddress = String.valueOf(info.remoteAddress());
        e.reason = why.name();
        e.age = info.age().toNanos();
        e.uses = info.uses();
        e.commit();
      }
    }
  }

  /** A hand-out held past the leak threshold (reclaimed false), or reclaimed unreachable. */
  void leaked(Slot slot, String scheme, String addr, int port, boolean reclaimed, Throwable site) {
    if (listening && slot != null) {
      ConnectionInfo info = info(slot, clock.nanoTime(), null);
      emit(l -> l.leaked(info, reclaimed, site));
    }
    if (JfrEvents.running() && JfrEvents.Leak.PROBE.isEnabled()) {
      JfrEvents.Leak e = new JfrEvents.Leak();
      if (e.shouldCommit()) {
        e.scheme = scheme;
        e.host = addr;
        e.port = port;
        e.reclaimed = reclaimed;
        e.allocationSite = site == null ? null : callerFrame(site);
        e.commit();
      }
    }
  }

  /** The first frame of {@code site} outside the manager's own classes (the caller), or null. */
  private static String callerFrame(Throwable site) {
    for (StackTraceElement f : site.getStackTrace()) {
      String c = f.getClassName();
      if (!c.startsWith("dev.keepalive.internal.")
          && !c.startsWith("dev.keepalive.ConnectionManager")) {
        return f.toString();
      }
    }
    return null;
  }

  /**
   * A snapshot of one socket: its key, remote address ({@code remote} when given, else the
   * channel's), age and uses.
   */
  static ConnectionInfo info(Slot slot, long now, InetSocketAddress remote) {
    PoolKey k = slot.owner.key;
    SocketIo s = (SocketIo) slot.io;
    long age = 0;
    if (s != null) {
      SocketChannel ch = s.channel;
      if (remote == null) {
        remote = s.remoteSeen;
      }
      if (remote == null && ch != null) {
        try {
          java.net.SocketAddress a = ch.getRemoteAddress();
          remote = a instanceof InetSocketAddress ? (InetSocketAddress) a : null;
          s.remoteSeen = remote; // null until connected; then it stays (asked under a lock)
        } catch (java.io.IOException e) {
          remote = null; // closed under us: nothing to tell
        }
      }
      if (slot.state != Slot.State.CONNECTING && slot.connectedAt != 0) {
        age = now - slot.connectedAt;
      } else if (s.stage > 0) {
        age = now - s.tcpConnectedAt; // TCP is up, a later stage (TLS) runs
      }
    }
    return new ConnectionInfo(
        k.scheme,
        k.host,
        k.port,
        k.forScheme,
        k.forHost,
        k.forPort,
        remote,
        Duration.ofNanos(Math.max(0, age)),
        slot.handOuts,
        slot.state == Slot.State.LEASED);
  }

  private void emit(Consumer<ConnectionListener> event) {
    for (ConnectionListener l : listeners) {
      try {
        event.accept(l);
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        if (!warned) {
          warned = true;
          LOG.log(Level.WARNING, "a ConnectionListener threw; ignored (later ones: DEBUG)", e);
        } else {
          LOG.log(Level.DEBUG, "a ConnectionListener threw; ignored", e);
        }
      }
    }
  }

  /** What JFR keeps of one connecting socket: the attempts and handshake under way. */
  static final class SocketTrace {
    private InetSocketAddress[] to = new InetSocketAddress[1];
    private JfrEvents.Connect[] connects = new JfrEvents.Connect[1];
    JfrEvents.TlsHandshake handshake;

    static SocketTrace of(SocketIo s) {
      return s.trace instanceof SocketTrace t ? t : new SocketTrace();
    }

    SocketTrace connect(InetSocketAddress address, JfrEvents.Connect e) {
      for (int i = 0; i < to.length; i++) {
        if (to[i] == null) {
          to[i] = address;
          connects[i] = e;
          return this;
        }
      }
      int n = to.length;
      to = java.util.Arrays.copyOf(to, n * 2);
      connects = java.util.Arrays.copyOf(connects, n * 2);
      to[n] = address;
      connects[n] = e;
      return this;
    }

    JfrEvents.Connect takeConnect(InetSocketAddress address) {
      for (int i = 0; i < to.length; i++) {
        if (address.equals(to[i])) {
          JfrEvents.Connect e = connects[i];
          to[i] = null;
          connects[i] = null;
          return e;
        }
      }
      return null;
    }
  }
}
