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
import java.util.List;

/**
 * Non-blocking connects on the event loop: open a channel, start the connect, finish it on
 * OP_CONNECT. When an address fails (refused, unreachable) the next resolved address is tried
 * before the request is answered; the request's single deadline covers every attempt.
 */
final class Connector {
  private final EventLoop loop;
  private final InetAddress bindAddress;
  private Pool pool;
  private java.util.function.Consumer<PooledSocket> connected;

  Connector(EventLoop loop, InetAddress bindAddress) {
    this.loop = loop;
    this.bindAddress = bindAddress;
  }

  /** Connect results go to {@code connected} (success) and the pool (failure). */
  void attach(Pool pool, java.util.function.Consumer<PooledSocket> connected) {
    this.pool = pool;
    this.connected = connected;
  }

  /** Starts connecting {@code s}; a failure when no address could even be tried. */
  Failure connect(PooledSocket s, Request r) {
    s.addressIndex = 0;
    return tryAddresses(s, r, null);
  }

  /** OP_CONNECT fired for {@code s}. */
  void finish(PooledSocket s) {
    try {
      if (s.channel.finishConnect()) {
        s.interest(0);
        connected.accept(s);
      }
    } catch (IOException e) {
      closeChannel(s);
      Failure f = tryAddresses(s, s.request, Errno.failure("connect", e));
      if (f != null) {
        pool.connectFailed(s, f);
      }
    }
  }

  private Failure tryAddresses(PooledSocket s, Request r, Failure last) {
    List<InetAddress> addresses = r.addresses;
    while (s.addressIndex < addresses.size()) {
      InetAddress address = addresses.get(s.addressIndex++);
      try {
        if (attempt(s, address, r.key.port)) {
          loop.execute(() -> {
            if (s.state == PooledSocket.CONNECTING) {
              connected.accept(s); // connected at once; go on off this stack
            }
          });
        }
        return null;
      } catch (IOException e) {
        closeChannel(s);
        last = Errno.failure("connect", e);
      } catch (UnsupportedAddressTypeException e) {
        closeChannel(s); // e.g. an IPv6 bindAddress for an IPv4 peer
        last = new Failure("connect", 97, Errno.strerror(97));
      } catch (RuntimeException e) {
        closeChannel(s);
        last = Errno.failure("connect", e);
      }
    }
    return last;
  }

  /** True when connected at once. */
  private boolean attempt(PooledSocket s, InetAddress address, int port) throws IOException {
    SocketChannel ch = SocketChannel.open(address instanceof Inet6Address
        ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
    s.channel = ch;
    ch.configureBlocking(false);
    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    if (bindAddress != null) {
      ch.bind(new InetSocketAddress(bindAddress, 0));
    }
    boolean done = ch.connect(new InetSocketAddress(address, port));
    s.interest = done ? 0 : SelectionKey.OP_CONNECT;
    s.key = ch.register(loop.selector(), s.interest, s);
    return done;
  }

  /** Closes {@code s}'s channel, if any; the fd is released at the next select. */
  static void closeChannel(PooledSocket s) {
    SocketChannel ch = s.channel;
    if (ch == null) {
      return;
    }
    if (s.key != null) {
      s.key.cancel();
      s.key = null;
    }
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing more to release
    }
  }
}
