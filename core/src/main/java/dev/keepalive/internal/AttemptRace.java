package dev.keepalive.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * Happy Eyeballs (RFC 8305) for one socket whose host has several addresses: the TCP stage's
 * attempts, raced on the event loop. Addresses are tried in {@link AddressOrder}; each attempt is
 * its own non-blocking channel registered with the selector (attached to the same
 * {@link SocketIo}, so readiness reaches the socket's connect stage). The next address starts when
 * the attempt delay passes with no attempt connected (a loop {@link EventLoop.Timer}, re-armed
 * at each start) or at once when an attempt fails. The first attempt to connect wins: the others
 * are closed at once and their channel and key become the socket's. When every attempt failed,
 * the first failure answers (as OkHttp and Go do: it is the preferred address's).
 *
 * <p>The pool sees one connecting socket throughout. Closing the socket ({@link
 * SocketIo#closeChannel}: its deadline, deallocate(), shutdown) closes every attempt. Loop only.
 */
final class AttemptRace extends EventLoop.Timer {
  /** Delays beyond this never arm the timer (the deadline arithmetic would overflow). */
  private static final long NEVER = Long.MAX_VALUE / 4;

  private final Connector connector;
  private final SocketIo s;
  private final List<InetAddress> addresses;
  /** Attempts under way by address index; null before an attempt starts and after it ends. */
  private final SocketChannel[] channels;

  private final SelectionKey[] keys;
  /** The next address to try; how many attempts are under way. */
  private int next;

  private int pending;
  /** The first attempt's failure, which answers when every attempt fails. */
  private Failure first;
  /** When each attempt started (clock nanos), only when the connect path is observed. */
  private final long[] startedAt;

  AttemptRace(Connector connector, SocketIo s) {
    this.connector = connector;
    this.s = s;
    this.addresses = AddressOrder.interleave(s.addresses);
    s.addresses = addresses;
    this.channels = new SocketChannel[addresses.size()];
    this.keys = new SelectionKey[addresses.size()];
    this.startedAt = connector.progress().observed(s) ? new long[addresses.size()] : null;
  }

  /** Starts the first attempt; a failure when every address failed at once (nothing open). */
  Failure start() {
    startNext();
    return pending == 0 ? first : null;
  }

  /** The attempt delay passed with no attempt connected: the next address joins the race. */
  @Override
  void fire() {
    if (s.race == this) {
      startNext();
      failIfDone();
    }
  }

  /** OP_CONNECT for one of the attempts (the socket does not say which: each is asked). */
  void onReady() {
    for (int i = 0; i < channels.length; i++) {
      SelectionKey k = keys[i];
      if (k == null || !k.isValid() || (k.readyOps() & SelectionKey.OP_CONNECT) == 0) {
        continue;
      }
      try {
        if (channels[i].finishConnect()) {
          win(i);
          return;
        }
      } catch (IOException e) {
        end(i);
        Failure f = Connector.failure(e);
        observeEnd(i, f);
        note(f);
        startNext(); // a failed attempt starts the next at once
      }
    }
    failIfDone();
  }

  /** Closes every attempt still under way and disarms the timer. */
  void closeAll() {
    connector.loop().cancel(this);
    for (int i = 0; i < channels.length; i++) {
      if (channels[i] != null) {
        end(i);
      }
    }
  }

  /**
   * Starts attempts in order until one is under way or no address is left, and (re)arms the
   * timer while addresses are left.
   */
  private void startNext() {
    while (next < addresses.size()) {
      int i = next++;
      InetAddress address = addresses.get(i);
      InetSocketAddress to = new InetSocketAddress(address, s.connectPort);
      if (startedAt != null) {
        startedAt[i] = connector.clock().nanoTime();
        connector.progress().attemptStarted(s, to);
      }
      try {
        SocketChannel ch = connector.open(address);
        channels[i] = ch;
        pending++;
        boolean now = ch.connect(to);
        keys[i] = ch.register(connector.loop().selector(), now ? 0 : SelectionKey.OP_CONNECT, s);
        if (now) {
          connector.loop().execute(() -> {
            if (s.race == this && channels[i] == ch) {
              win(i); // connected at once; go on off this stack
            }
          });
        }
        arm();
        return;
      } catch (IOException | RuntimeException e) {
        if (channels[i] != null) {
          end(i);
        }
        Failure f = Connector.failure(e);
        observeEnd(i, f);
        note(f);
      }
    }
    connector.loop().cancel(this); // nothing left to start
  }

  private void arm() {
    long delay = connector.attemptDelayNanos();
    if (next < addresses.size() && delay < NEVER) {
      connector.loop().schedule(this, connector.clock().nanoTime() + delay);
    } else {
      connector.loop().cancel(this);
    }
  }

  /** Attempt {@code i} connected: the others close, its channel becomes the socket's. */
  private void win(int i) {
    SocketChannel ch = channels[i];
    SelectionKey k = keys[i];
    channels[i] = null;
    keys[i] = null;
    pending--;
    s.race = null;
    closeAll();
    s.channel = ch;
    s.key = k;
    s.interest = k.interestOps();
    s.interest(0);
    observeEnd(i, null);
    connector.done(s);
  }

  /** Reports attempt {@code i}'s end, when observed: connected ({@code f} null) or failed. */
  private void observeEnd(int i, Failure f) {
    if (startedAt != null) {
      InetSocketAddress to = new InetSocketAddress(addresses.get(i), s.connectPort);
      connector.progress().attemptEnded(s, to, startedAt[i], f);
    }
  }

  /** No attempt is under way and none is left: the race failed. */
  private void failIfDone() {
    if (pending == 0 && next == addresses.size() && s.race == this) {
      s.race = null;
      connector.loop().cancel(this);
      connector.failed(s, first);
    }
  }

  private void note(Failure f) {
    if (first == null) {
      first = f;
    }
  }

  /** Closes attempt {@code i}. */
  private void end(int i) {
    SocketChannel ch = channels[i];
    SelectionKey k = keys[i];
    channels[i] = null;
    keys[i] = null;
    pending--;
    if (k != null) {
      k.cancel();
    }
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing more to release
    }
  }
}
