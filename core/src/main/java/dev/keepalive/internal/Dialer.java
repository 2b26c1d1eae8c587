package dev.keepalive.internal;

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

  Dialer(EventLoop loop, Settings settings, Events events) {
    this.events = events;
    this.tlsSchemes = settings.tlsSchemes();
    ConnectStage tcp = new Connector(
        loop,
        settings.clock(),
        settings.bindAddress(),
        settings.connectAttemptDelayNanos(),
        settings.tcpKeepAlive(),
        this);
    ConnectStage tls = new Tls(settings, this);
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
    if (++s.stage == s.stages.length) {
      if (s.transport == null) {
        s.transport = new PlainTransport(s.channel); // no stage wrapped the socket
      }
      events.connected(s);
      return;
    }
    Failure f = s.stages[s.stage].start(s);
    if (f != null) {
      failed(s, f);
    }
  }

  @Override
  public void failed(SocketIo s, Failure f) {
    s.closeChannel();
    events.failed(s, f);
  }
}
