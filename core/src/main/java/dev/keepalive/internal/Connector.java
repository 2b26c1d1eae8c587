package dev.keepalive.internal;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * The TCP stage: non-blocking connects on the event loop. Opens a channel, starts the connect,
 * finishes it on OP_CONNECT. A host with one address gets one attempt (the common case: no timer,
 * nothing allocated). A host with several is raced by an {@link AttemptRace} (Happy Eyeballs, RFC
 * 8305): addresses in {@link AddressOrder}, the next one started when the attempt delay passes or
 * an attempt fails, the first to connect kept. The request's single deadline covers every
 * attempt.
 */
final class Connector implements ConnectStage {
  private final EventLoop loop;
  private final Clock clock;
  private final InetAddress bindAddress;
  private final long attemptDelayNanos;
  /** TCP keepalive for every socket, or null for off (the system's default). */
  private final TcpKeepAlive keepAlive;

  private final Progress progress;

  Connector(
      EventLoop loop,
      Clock clock,
      InetAddress bindAddress,
      long attemptDelayNanos,
      TcpKeepAlive keepAlive,
      Progress progress) {
    this.loop = loop;
    this.clock = clock;
    this.bindAddress = bindAddress;
    this.attemptDelayNanos = attemptDelayNanos;
    this.keepAlive = keepAlive;
    this.progress = progress;
  }

  @Override
  public Failure start(SocketIo s) {
    if (s.addresses.size() > 1) {
      AttemptRace race = new AttemptRace(this, s);
      s.race = race;
      Failure f = race.start();
      if (f != null) {
        s.race = null;
      }
      return f;
    }
    try {
      if (s.unixSocket != null ? attemptUnix(s) : attempt(s, s.addresses.get(0))) {
        SocketChannel ch = s.channel;
        loop.execute(() -> {
          if (s.channel == ch && ch.isOpen()) {
            done(s); // connected at once; go on off this stack
          }
        });
      }
      return null;
    } catch (IOException | RuntimeException e) {
      s.closeChannel();
      Failure f = failure(e);
      if (progress.observed(s) && s.unixSocket == null) {
        progress.attemptEnded(s, target(s), s.stageStartedAt, f);
      }
      return f;
    }
  }

  /** OP_CONNECT fired for {@code s} (for one of its attempts when they are raced). */
  @Override
  public void onReady(SocketIo s) {
    AttemptRace race = s.race;
    if (race != null) {
      race.onReady();
      return;
    }
    try {
      if (s.channel.finishConnect()) {
        s.interest(0);
        done(s);
      }
    } catch (IOException e) {
      Failure f = failure(e);
      if (progress.observed(s) && s.unixSocket == null) {
        progress.attemptEnded(s, target(s), s.stageStartedAt, f);
      }
      s.closeChannel();
      progress.failed(s, f);
    }
  }

  /** TCP is up: the socket's age counts from now (its lifetime, maxLifetime). */
  void done(SocketIo s) {
    s.tcpConnectedAt = clock.nanoTime();
    if (progress.observed(s) && s.unixSocket == null && s.addresses.size() == 1) {
      progress.attemptEnded(s, target(s), s.stageStartedAt, null); // the single attempt
    }
    progress.done(s);
  }

  /** The address of a single attempt (observation only). */
  private static InetSocketAddress target(SocketIo s) {
    return new InetSocketAddress(s.addresses.get(0), s.connectPort);
  }

  /** The receiver of attempts' observation (the dialer). */
  Progress progress() {
    return progress;
  }

  /** Every attempt of {@code s} failed; {@code f} answers. */
  void failed(SocketIo s, Failure f) {
    progress.failed(s, f);
  }

  EventLoop loop() {
    return loop;
  }

  Clock clock() {
    return clock;
  }

  /** How long an attempt runs alone before the next address is tried (nanos, > 0). */
  long attemptDelayNanos() {
    return attemptDelayNanos;
  }

  /** What a connect attempt that threw answers: "connect" with the error's errno. */
  static Failure failure(Exception e) {
    if (e instanceof UnsupportedAddressTypeException) {
      // e.g. an IPv6 bindAddress for an IPv4 peer
      return new Failure(Failure.Function.CONNECT, 97, Errno.strerror(97));
    }
    if (e instanceof IOException io) {
      return Errno.failure(Failure.Function.CONNECT, io);
    }
    return Errno.failure(Failure.Function.CONNECT, e);
  }

  /** The socket options of every TCP socket, set before it connects. */
  private void configure(SocketChannel ch) throws IOException {
    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    if (keepAlive != null) {
      keepAlive.apply(ch);
    }
  }

  /**
   * The connect to a Unix domain socket ({@link SocketIo#unixSocket}) instead of TCP: no address,
   * no socket option, no bind address. True when connected at once (the usual case: the kernel
   * answers a local connect at once, or refuses it).
   */
  private boolean attemptUnix(SocketIo s) throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    s.channel = ch;
    ch.configureBlocking(false);
    boolean done = ch.connect(UnixDomainSocketAddress.of(s.unixSocket));
    s.interest = done ? 0 : SelectionKey.OP_CONNECT;
    s.key = ch.register(loop.selector(), s.interest, s);
    return done;
  }

  /** True when connected at once. */
  private boolean attempt(SocketIo s, InetAddress address) throws IOException {
    InetSocketAddress to = new InetSocketAddress(address, s.connectPort);
    if (progress.observed(s)) {
      progress.attemptStarted(s, to);
    }
    SocketChannel ch = open(address);
    s.channel = ch;
    boolean done = ch.connect(to);
    s.interest = done ? 0 : SelectionKey.OP_CONNECT;
    s.key = ch.register(loop.selector(), s.interest, s);
    return done;
  }

  /**
   * A new non-blocking channel for a connect to {@code address}, configured (every socket option
   * the manager sets is set here) and bound to the bind address if one is set. Closed again if
   * that fails.
   */
  SocketChannel open(InetAddress address) throws IOException {
    SocketChannel ch = SocketChannel.open(
        address instanceof Inet6Address
            ? StandardProtocolFamily.INET6
            : StandardProtocolFamily.INET);
    try {
      ch.configureBlocking(false);
      configure(ch);
      if (bindAddress != null) {
        ch.bind(new InetSocketAddress(bindAddress, 0));
      }
      return ch;
    } catch (IOException | RuntimeException e) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // failing anyway
      }
      throw e;
    }
  }
}
