package dev.keepalive.internal;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * The TCP stage: non-blocking connects on the event loop. Opens a channel, starts the connect,
 * finishes it on OP_CONNECT. When an address fails (refused, unreachable) the next address of the
 * socket is tried before the stage fails; the request's single deadline covers every attempt.
 */
final class Connector implements ConnectStage {
  private final EventLoop loop;
  private final Clock clock;
  private final InetAddress bindAddress;
  /** TCP keepalive for every socket, or null for off (the system's default). */
  private final TcpKeepAlive keepAlive;

  private final Progress progress;

  Connector(
      EventLoop loop,
      Clock clock,
      InetAddress bindAddress,
      TcpKeepAlive keepAlive,
      Progress progress) {
    this.loop = loop;
    this.clock = clock;
    this.bindAddress = bindAddress;
    this.keepAlive = keepAlive;
    this.progress = progress;
  }

  @Override
  public Failure start(SocketIo s) {
    s.addressIndex = 0;
    return tryAddresses(s, null);
  }

  /** OP_CONNECT fired for {@code s}. */
  @Override
  public void onReady(SocketIo s) {
    try {
      if (s.channel.finishConnect()) {
        s.interest(0);
        done(s);
      }
    } catch (IOException e) {
      s.closeChannel();
      Failure f = tryAddresses(s, Errno.failure(Failure.Function.CONNECT, e));
      if (f != null) {
        progress.failed(s, f);
      }
    }
  }

  private Failure tryAddresses(SocketIo s, Failure last) {
    while (s.addressIndex < s.addresses.size()) {
      InetAddress address = s.addresses.get(s.addressIndex++);
      try {
        if (attempt(s, address)) {
          SocketChannel ch = s.channel;
          loop.execute(() -> {
            if (s.channel == ch && ch.isOpen()) {
              done(s); // connected at once; go on off this stack
            }
          });
        }
        return null;
      } catch (IOException e) {
        s.closeChannel();
        last = Errno.failure(Failure.Function.CONNECT, e);
      } catch (UnsupportedAddressTypeException e) {
        s.closeChannel(); // e.g. an IPv6 bindAddress for an IPv4 peer
        last = new Failure(Failure.Function.CONNECT, 97, Errno.strerror(97));
      } catch (RuntimeException e) {
        s.closeChannel();
        last = Errno.failure(Failure.Function.CONNECT, e);
      }
    }
    return last;
  }

  /** TCP is up: the socket's age counts from now (its lifetime, maxLifetime). */
  private void done(SocketIo s) {
    s.tcpConnectedAt = clock.nanoTime();
    progress.done(s);
  }

  /** The socket options of every socket, set before it connects. */
  private void configure(SocketChannel ch) throws IOException {
    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    if (keepAlive != null) {
      keepAlive.apply(ch);
    }
  }

  /** True when connected at once. */
  private boolean attempt(SocketIo s, InetAddress address) throws IOException {
    SocketChannel ch = SocketChannel.open(
        address instanceof Inet6Address
            ? StandardProtocolFamily.INET6
            : StandardProtocolFamily.INET);
    s.channel = ch;
    ch.configureBlocking(false);
    configure(ch);
    if (bindAddress != null) {
      ch.bind(new InetSocketAddress(bindAddress, 0));
    }
    boolean done = ch.connect(new InetSocketAddress(address, s.port));
    s.interest = done ? 0 : SelectionKey.OP_CONNECT;
    s.key = ch.register(loop.selector(), s.interest, s);
    return done;
  }
}
