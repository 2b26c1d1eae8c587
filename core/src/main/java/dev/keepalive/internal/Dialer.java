package dev.keepalive.internal;

import java.net.InetSocketAddress;
import java.util.Set;

/**
 * The connect path: runs a socket through its stages in order (TCP, then TLS for TLS schemes)
 * and reports the outcome through one narrow interface, {@link Events}. Name lookup comes before
 * (the pool asks for it: {@link Dns}); through a proxy, a tunnel stage ({@link HttpTunnel},
 * {@link Socks5Tunnel}) runs between TCP (to the proxy) and TLS (with the target). The TCP stage
 * may race several attempts to a host's addresses ({@link AttemptRace}); the stages after it run
 * on the winner only, and the pool sees one connecting socket throughout.
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

  Dialer(EventLoop loop, Settings settings, Events events) {
    this.events = events;
    this.clock = settings.clock();
    this.tlsSchemes = settings.tlsSchemes();
    this.tcp = new Connector(
        loop,
        settings.clock(),
        settings.bindAddress(),
        settings.connectAttemptDelayNanos(),
        settings.tcpKeepAlive(),
        this);
    this.tls = new Tls(settings, this);
    ConnectStage http = new HttpTunnel(this);
    ConnectStage socks = new Socks5Tunnel(this);
    this.plain = new ConnectStage[] {tcp};
    this.secure = new ConnectStage[] {tcp, tls};
    this.plainHttpTunnel = new ConnectStage[] {tcp, http};
    this.secureHttpTunnel = new ConnectStage[] {tcp, http, tls};
    this.plainSocks = new ConnectStage[] {tcp, socks};
    this.secureSocks = new ConnectStage[] {tcp, socks, tls};
  }

  /** Starts connecting {@code s}; a failure when it could not even start (nothing reported). */
  Failure dial(SocketIo s) {
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
