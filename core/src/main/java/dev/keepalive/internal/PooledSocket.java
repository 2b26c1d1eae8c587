package dev.keepalive.internal;

import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One socket the manager owns, for its whole life: CONNECTING, then LEASED and IDLE in turn,
 * then CLOSED. The pool's decisions use only its state, host and list links; the channel and
 * selection key are for the I/O side (null in tests that drive the pool without sockets).
 */
public final class PooledSocket {
  static final int CONNECTING = 0;
  static final int LEASED = 1;
  static final int IDLE = 2;
  static final int CLOSED = 3;

  final Host host;
  int state = CONNECTING;
  /** The request this socket is being connected for (CONNECTING only). */
  Request request;
  /** When it last entered the pool (IDLE only), in clock nanos. */
  long idleSince;
  /** The loop turn in which a probe last found this socket clean as it came back, else -1. */
  long cleanTurn = -1;

  // Links in the host's idle list (most recently used first).
  PooledSocket hostPrev;
  PooledSocket hostNext;
  // Links in the pool-wide list it is in: idle sockets by age (LRU first), or leased sockets.
  PooledSocket prev;
  PooledSocket next;

  // I/O side
  SocketChannel channel;
  SelectionKey key;
  /** The interest ops last set on {@link #key}, kept here so an unchanged interest costs no
   *  touch of the (often cold) key. */
  int interest;
  /** The next address to try while connecting. */
  int addressIndex;
  /** The current holder's state (LEASED only). */
  Lease lease;
  /** TLS over the channel, for TLS schemes (from the handshake on), else null. */
  tlschannel.TlsChannel tls;
  /** What tls-channel reads through (TLS schemes only): knows when it holds part of a record. */
  TlsRecordTracker records;
  /** How holders read and write: plain or TLS (set once connected). */
  Transport transport;

  PooledSocket(Host host) {
    this.host = host;
  }

  /** Sets the selection key's interest ops when they change. */
  void interest(int ops) {
    if (interest != ops) {
      interest = ops;
      SelectionKey k = key;
      if (k != null && k.isValid()) {
        k.interestOps(ops);
      }
    }
  }

  @Override
  public String toString() {
    return "PooledSocket[" + host.key + " state " + state + "]";
  }
}
