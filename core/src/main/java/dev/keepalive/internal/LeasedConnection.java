package dev.keepalive.internal;

import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.FromCache;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLSession;

/**
 * The {@link Connection} a holder gets: a thin, thread-safe face over one {@link Lease}. Calls
 * from other threads are handed to the event loop; calls on the loop run inline.
 */
final class LeasedConnection implements Connection {
  final Lease lease;
  private ByteChannel channelView;
  private InputStream in;
  private OutputStream out;

  /**
   * @param allocationSite where allocate() was called, for leak reports; null when leak
   *     detection is off
   * @param leakDeadline when holding it becomes a leak, in clock nanos (with a site only)
   */
  LeasedConnection(
      Lease.Owner owner,
      SocketIo socket,
      String scheme,
      String addr,
      int port,
      FromCache fromCache,
      boolean ended,
      Throwable allocationSite,
      long leakDeadline) {
    this.lease = new Lease(
        this, owner, socket, scheme, addr, port, fromCache, ended, allocationSite, leakDeadline);
  }

  @Override
  public String scheme() {
    return lease.scheme;
  }

  @Override
  public String addr() {
    return lease.addr;
  }

  @Override
  public int port() {
    return lease.port;
  }

  @Override
  public FromCache fromCache() {
    return lease.fromCache;
  }

  @Override
  public InetSocketAddress localAddress() {
    try {
      return inet(lease.channel.getLocalAddress());
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public InetSocketAddress remoteAddress() {
    try {
      return inet(lease.channel.getRemoteAddress());
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public boolean isOpen() {
    return lease.isOpen();
  }

  @Override
  public SSLSession sslSession() {
    tlschannel.impl.TlsChannelImpl tls = lease.socket.tls;
    return tls == null ? null : tls.engine().getSession();
  }

  @Override
  public long pendingWriteBytes() {
    return lease.pendingBytes;
  }

  @Override
  public Connection readTimeout(Duration timeout) {
    if (timeout != null && timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
    }
    long nanos;
    try {
      nanos = timeout == null ? 0 : timeout.toNanos();
    } catch (ArithmeticException e) {
      nanos = 0; // beyond any wait: no limit
    }
    lease.readTimeoutNanos = nanos;
    return this;
  }

  @Override
  public synchronized ByteChannel channel() {
    if (channelView == null) {
      channelView = new LeaseChannel(this);
    }
    return channelView;
  }

  @Override
  public void start(ConnectionHandler handler) {
    if (handler == null) {
      throw new IllegalArgumentException("handler must not be null");
    }
    if (lease.holderDone()) {
      throw new IllegalStateException("connection is closed");
    }
    lease.owner.onLoop(() -> lease.start(handler, this));
  }

  @Override
  public CompletableFuture<Void> write(ByteBuffer src) {
    if (src == null) {
      throw new IllegalArgumentException("src must not be null");
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (lease.holderDone() || !lease.owner.onLoop(() -> lease.write(src, done))) {
      done.completeExceptionally(new ClosedChannelException());
    }
    return done;
  }

  @Override
  public synchronized InputStream inputStream() {
    if (in == null) {
      in = new LeaseInputStream(this);
    }
    return in;
  }

  @Override
  public synchronized OutputStream outputStream() {
    if (out == null) {
      out = new LeaseOutputStream(this);
    }
    return out;
  }

  @Override
  public void shutdownOutput() throws IOException {
    if (!isOpen()) {
      throw new ClosedChannelException();
    }
    lease.outputShutdown = true;
    lease.io.shutdownOutput();
  }

  @Override
  public Connection keepAliveTimeout(Duration timeout) {
    if (timeout == null || timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be null or negative, was " + timeout);
    }
    long nanos;
    try {
      nanos = timeout.toNanos();
    } catch (ArithmeticException e) {
      nanos = Long.MAX_VALUE; // beyond any keep-alive: no limit
    }
    lease.keepAliveTimeoutNanos = nanos;
    return this;
  }

  @Override
  public Connection keepAliveMax(int moreUses) {
    if (moreUses < 0) {
      throw new IllegalArgumentException("moreUses must be >= 0, was " + moreUses);
    }
    lease.keepAliveMax = moreUses;
    return this;
  }

  @Override
  public void close() {
    end(false);
  }

  @Override
  public void discard() {
    end(true);
  }

  private void end(boolean discard) {
    if (!lease.markHolderDone()) {
      return;
    }
    lease.clear(); // closed on purpose: never reaped
    lease.owner.giveBack(lease, discard);
  }

  @Override
  public String toString() {
    return "Connection[" + scheme() + "://" + addr() + ":" + port() + " " + fromCache()
        + (isOpen() ? "" : " closed") + "]";
  }

  /** {@code a} when it is an IP socket address; null for a Unix domain socket's. */
  private static InetSocketAddress inet(java.net.SocketAddress a) {
    return a instanceof InetSocketAddress ? (InetSocketAddress) a : null;
  }
}
