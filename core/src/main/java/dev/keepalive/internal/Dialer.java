package dev.keepalive.internal;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * The connect path: runs a socket through its stages in order (TCP, then TLS for TLS schemes)
 * and reports the outcome through one narrow interface, {@link Events}. Name lookup comes before
 * (the pool asks for it: {@link Dns}); through a proxy, a tunnel stage ({@link HttpTunnel},
 * {@link Socks5Tunnel}) runs between TCP (to the proxy) and TLS (with the target). The TCP stage
 * may race several attempts to a host's addresses ({@link AttemptRace}); the stages after it run
 * on the winner only, and the pool sees one connecting socket throughout.
 *
 * <p>Fair intake: at most {@code dialBatch} connects start per loop turn. Starting one (a socket,
 * its options, the connect and the selector registration: about 35 us of loop CPU) is the
 * costliest step of taking a request in, so a burst of thousands of requests for new sockets
 * used to hold everything queued behind it (a request the pool could serve at once, a give-back)
 * for as long as all their connects took to start: 1.2-1.5 s for 18,000. Past the batch, a
 * socket waits here, in order, and starts on a later turn ({@link #newTurn}); the loop takes the
 * rest of its tasks and its I/O in between. A socket closed while it waits (its request timed
 * out, was cancelled, the manager shut down) never starts. The pool does not know: to it the
 * socket is connecting from the moment it asked.
 */
final class Dialer implements ConnectStage.Progress {
  /** What the dialer reports. */
  interface Events {
    /** {@code s} is connected (and through TLS when its scheme needs it). */
    void connected(SocketIo s);

    /** {@code s} could not connect; it is closed already. */
    void failed(SocketIo s, Failure f);

    /**
     * True while someone watches the connect path (a listener, a running Flight Recorder): asked
     * once per socket as it starts connecting; that socket then reports its attempts and stages
     * to the methods below, and one that starts unobserved reads no clock for them.
     */
    default boolean observing() {
      return false;
    }

    /** A TCP connect attempt of {@code s} to {@code to} starts. */
    default void attemptStarted(SocketIo s, InetSocketAddress to) {}

    /** The attempt to {@code to} connected ({@code f} null) or failed, after {@code nanos}. */
    default void attemptEnded(SocketIo s, InetSocketAddress to, long nanos, Failure f) {}

    /** A stage after TCP starts on {@code s}: the TLS handshake ({@code tls}) or a tunnel. */
    default void stageStarted(SocketIo s, boolean tls) {}

    /** That stage ended after {@code nanos}: done ({@code f} null) or failed. */
    default void stageEnded(SocketIo s, boolean tls, long nanos, Failure f) {}
  }

  private final ConnectStage[] plain;
  private final ConnectStage[] secure;
  /** The same through an HTTP CONNECT tunnel, and through SOCKS5. */
  private final ConnectStage[] plainHttpTunnel;

  private final ConnectStage[] secureHttpTunnel;
  private final ConnectStage[] plainSocks;
  private final ConnectStage[] secureSocks;
  private final Set<String> tlsSchemes;
  private final Events events;
  /** The TCP stage, and the TLS stage: every other stage is a tunnel. */
  private final ConnectStage tcp;

  private final ConnectStage tls;
  private final Clock clock;

  /**
   * Most connects started per loop turn ({@code dev.keepalive.dialBatch}). 8 start in about
   * 0.3 ms on a 2-core VM over loopback. Opening 18,000 sockets submitted at once
   * (bench/run-idle-bench.sh, its opening phase), an allocate of another key waited at most
   * 1.2-1.5 s unbatched, 38-73 ms with 8 (27-40 ms with 2, 67-125 ms with 32; the opening took
   * 1.7-1.8 s unbatched, 1.9-2.4 s with 8).
   */
  static final int DEFAULT_DIAL_BATCH =
      Math.max(1, Integer.getInteger("dev.keepalive.dialBatch", 8));

  private final int dialBatch;
  /** Connects started in this turn so far. */
  private int dialed;
  /** Sockets past this turn's batch, in the order they were dialed. */
  private final ArrayDeque<SocketIo> waiting = new ArrayDeque<>();

  Dialer(EventLoop loop, Settings settings, Events events) {
    this.events = events;
    this.clock = settings.clock();
    this.dialBatch = settings.dialBatch();
    this.tlsSchemes = settings.tlsSchemes();
    this.tcp = new Connector(
        loop,
        settings.clock(),
        settings.bindAddress(),
        settings.connectAttemptDelayNanos(),
        settings.tcpKeepAlive(),
        this);
    this.tls = new Tls(loop, settings, this);
    ConnectStage http = new HttpTunnel(this);
    ConnectStage socks = new Socks5Tunnel(this);
    this.plain = new ConnectStage[] {tcp};
    this.secure = new ConnectStage[] {tcp, tls};
    this.plainHttpTunnel = new ConnectStage[] {tcp, http};
    this.secureHttpTunnel = new ConnectStage[] {tcp, http, tls};
    this.plainSocks = new ConnectStage[] {tcp, socks};
    this.secureSocks = new ConnectStage[] {tcp, socks, tls};
  }

  /**
   * Starts connecting {@code s}, or queues it for a later turn when this turn's batch is spent
   * (or others wait before it); a failure when it could not even start (nothing reported).
   */
  Failure dial(SocketIo s) {
    if (dialed >= dialBatch || !waiting.isEmpty()) {
      waiting.add(s);
      return null;
    }
    dialed++;
    return start(s);
  }

  /**
   * A new loop turn: starts the next batch of waiting sockets (a failure to start is reported
   * as any other); true when some still wait, so the loop must not sleep.
   */
  boolean newTurn() {
    dialed = 0;
    SocketIo s;
    while (dialed < dialBatch && (s = waiting.poll()) != null) {
      if (s.closed) {
        continue; // given up while it waited: never opened
      }
      dialed++;
      Failure f = start(s);
      if (f != null) {
        events.failed(s, f);
      }
    }
    return !waiting.isEmpty();
  }

  private Failure start(SocketIo s) {
    boolean secured = tlsSchemes.contains(s.scheme);
    if (s.tunnel == null) {
      s.stages = secured ? secure : plain;
    } else if (s.tunnel.kind() == Tunnel.Kind.HTTP) {
      s.stages = secured ? secureHttpTunnel : plainHttpTunnel;
    } else {
      s.stages = secured ? secureSocks : plainSocks;
    }
    s.stage = 0;
    s.stageStartedAt = events.observing() ? observedNow() : 0;
    Failure f = s.stages[0].start(s);
    if (f != null) {
      s.closeChannel();
    }
    return f;
  }

  /** Readiness of a socket that is still connecting. */
  void onReady(SocketIo s) {
    s.stages[s.stage].onReady(s);
  }

  @Override
  public void done(SocketIo s) {
    boolean observed = observed(s);
    if (observed) {
      stageEnded(s, null);
    }
    if (++s.stage == s.stages.length) {
      if (s.transport == null) {
        s.transport = new PlainTransport(s.channel); // no stage wrapped the socket
      }
      events.connected(s);
      return;
    }
    ConnectStage next = s.stages[s.stage];
    if (observed) {
      s.stageStartedAt = observedNow();
      events.stageStarted(s, next == tls);
    }
    Failure f = next.start(s);
    if (f != null) {
      failed(s, f);
    }
  }

  @Override
  public void failed(SocketIo s, Failure f) {
    s.closeChannel();
    if (observed(s)) {
      stageEnded(s, f);
    }
    events.failed(s, f);
  }

  /** {@code s} reports its connect path: it was observed when it started ({@link #dial}). */
  @Override
  public boolean observed(SocketIo s) {
    return s.stageStartedAt != 0;
  }

  /** The clock, never 0 (which marks a socket nobody observes). */
  private long observedNow() {
    long now = clock.nanoTime();
    return now == 0 ? 1 : now;
  }

  @Override
  public void attemptStarted(SocketIo s, InetSocketAddress to) {
    events.attemptStarted(s, to);
  }

  @Override
  public void attemptEnded(SocketIo s, InetSocketAddress to, long startedAt, Failure f) {
    events.attemptEnded(s, to, clock.nanoTime() - startedAt, f);
  }

  /** The running stage ended (observed only); the TCP stage reports its attempts instead. */
  private void stageEnded(SocketIo s, Failure f) {
    ConnectStage ended = s.stages[s.stage];
    if (ended != tcp) {
      events.stageEnded(s, ended == tls, clock.nanoTime() - s.stageStartedAt, f);
    }
  }
}
