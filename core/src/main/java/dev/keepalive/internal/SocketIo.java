package dev.keepalive.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.List;
import tlschannel.impl.TlsChannelImpl;

/**
 * The I/O side of one socket: its channel, selection key and interest, the connect path's
 * progress, and once connected the {@link Transport} holders read and write through (plain, or TLS
 * with its record tracking). Confined to the event loop except where a field says otherwise.
 *
 * <p>Writers: the connect stages ({@link Connector}, {@link Tls}) set the channel, key, TLS
 * fields, transport and TCP connect time while connecting; the manager sets {@link #owner}, {@link #listener} and
 * {@link #cleanTurn}; {@link #interest(int)} is called by whoever drives the socket at the time
 * (a stage, the manager for an idle socket, the holder's lease).
 */
final class SocketIo {
  /** Who hears of readiness while the socket is handed out: the holder's lease. */
  interface Listener {
    void onReady(int readyOps);
  }

  /** The pool's record of this socket; opaque here, for the manager. */
  final Object owner;

  final String scheme;
  /** The host name or literal address to reach, normalized; and whether it is a literal. */
  final String host;

  final boolean literalHost;
  final int port;
  /** The port the TCP connection goes to: {@link #port}, or the proxy's. */
  int connectPort;
  /** The Unix domain socket to connect to instead of TCP, or null. */
  java.nio.file.Path unixSocket;
  /**
   * When the TCP connect completed, in clock nanos (written by {@link Connector}): a socket's age
   * counts from there, before any TLS handshake.
   */
  long tcpConnectedAt;
  /** The addresses to try (in the order tried, once the TCP stage started). */
  List<InetAddress> addresses;

  /**
   * The TCP attempts while several addresses are raced (Happy Eyeballs), else null; meanwhile
   * {@link #channel} and {@link #key} are null, and the winner's become them.
   */
  AttemptRace race;
  /** The connect stages of this socket and the one running (set by the {@link Dialer}). */
  ConnectStage[] stages;

  int stage;
  /**
   * When the running stage started, in clock nanos, while someone observes this socket's connect
   * path; 0 when nobody did as it started (Dialer.observed).
   */
  long stageStartedAt;
  /** What observers keep while it connects (JFR events under way), else null; opaque here. */
  Object trace;
  /**
   * The remote address once observers have asked the connected channel for it (it never changes
   * after), else null. Written by the observers (loop only); opaque here.
   */
  InetSocketAddress remoteSeen;
  /** What the running stage keeps between readiness calls (a proxy exchange), else null. */
  Object stageState;
  /** The tunnel a proxy stage opens to the target, or null without a proxy. */
  Tunnel tunnel;

  SocketChannel channel;
  /** Closed for good ({@link #close}); a socket still waiting for its connect then never starts. */
  boolean closed;

  SelectionKey key;
  /**
   * The interest ops last set on {@link #key}, kept here so an unchanged interest costs no touch
   * of the (often cold) key.
   */
  int interest;
  /** TLS over the channel, for TLS schemes (from the handshake on), else null. */
  TlsChannelImpl tls;
  /** What tls-channel reads through (TLS schemes only): knows when it holds part of a record. */
  TlsRecordTracker records;
  /** How holders read and write: plain or TLS (set once connected). Read by holder threads. */
  volatile Transport transport;
  /** The current holder while handed out, else null. */
  Listener listener;
  /** The loop turn in which a probe last found this socket clean as it came back, else -1. */
  long cleanTurn = -1;

  SocketIo(
      Object owner,
      String scheme,
      String host,
      boolean literalHost,
      int port,
      List<InetAddress> addresses) {
    this.owner = owner;
    this.scheme = scheme;
    this.host = host;
    this.literalHost = literalHost;
    this.port = port;
    this.connectPort = port;
    this.addresses = addresses;
  }

  /**
   * Makes this socket go through {@code key}'s proxy: TCP to the proxy's port (the addresses
   * given are the proxy's), then a tunnel to {@link #host}:{@link #port}.
   */
  void tunnelThrough(PoolKey key) {
    tunnel = key.tunnel();
    connectPort = key.connectPort();
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

  /**
   * {@link #probe} of a TLS socket whose TLS layer holds part of a record and nothing decrypted.
   * TLS 1.3 sends every record after the handshake as application_data (the real type is
   * encrypted inside), so until its last byte is in, the part of a post-handshake message (a
   * NewSessionTicket, a KeyUpdate) cannot be told from the part of an answer: such a socket is
   * not clean (never handed out), but not dirty either (not closed for it, idle or given back);
   * once the record is whole, the next probe decides (a ticket is consumed: clean; data: dirty).
   */
  static final int PART_RECORD = 2;

  /**
   * {@link #probe} of a socket whose connection failed other than by the peer closing it: an
   * I/O error that is not a reset, such as TCP keepalive finding the peer gone (ETIMEDOUT).
   */
  static final int PROBE_ERROR = -2;

  /**
   * Reads at most one byte into {@code one}: 0 when the socket has nothing to say (fit for
   * reuse), 1 when it had unread data, {@link #PART_RECORD}, -1 at EOF (TLS: close_notify), a
   * reset by the peer, or closed, {@link #PROBE_ERROR} on another I/O error. For TLS it reads
   * through the TLS layer, which also sees plaintext it already decrypted and consumes handshake
   * records (session tickets) that are no data for a holder.
   */
  int probe(ByteBuffer one) {
    SocketChannel ch = channel;
    if (ch == null || !ch.isOpen()) {
      return -1;
    }
    one.clear();
    try {
      if (tls == null) {
        return ch.read(one);
      }
      int n = transport.read(one);
      return n == 0 && records.midRecord() ? PART_RECORD : n;
    } catch (IOException e) {
      String text = e.getMessage();
      return text != null && text.startsWith("Connection reset") ? -1 : PROBE_ERROR;
    }
  }

  /** True when the transport holds nothing unsent (TLS: no part of a record). */
  boolean flushed() {
    try {
      Transport t = transport;
      return t == null || t.flush();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Closes the socket for good: with close_notify first for an established TLS socket (if it
   * goes out without blocking), or abortively (RST) when {@code reset}.
   */
  void close(boolean reset) {
    closed = true;
    SocketChannel ch = channel;
    if (!reset && tls != null && transport != null && ch != null && ch.isOpen()) {
      TlsTransport.closeNotify(tls);
    }
    if (reset && ch != null && ch.isOpen()) {
      try {
        ch.setOption(StandardSocketOptions.SO_LINGER, 0);
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    closeChannel();
  }

  /**
   * Closes the channel, if any, or every TCP attempt still raced; descriptors are released at
   * the next select.
   */
  void closeChannel() {
    AttemptRace r = race;
    if (r != null) {
      race = null;
      r.closeAll(); // every attempt still under way
    }
    SocketChannel ch = channel;
    if (ch == null) {
      return;
    }
    if (key != null) {
      key.cancel();
      key = null;
    }
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing more to release
    }
  }

  @Override
  public String toString() {
    return "SocketIo[" + scheme + "://" + host + ":" + port + "]";
  }
}
