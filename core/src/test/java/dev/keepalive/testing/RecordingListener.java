package dev.keepalive.testing;

import dev.keepalive.Allocation;
import dev.keepalive.CloseReason;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.FromCache;
import dev.keepalive.ProxyServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLSession;

/**
 * A {@link ConnectionListener} that writes each event as one line ("handedOut NEW 127.0.0.1:80
 * idle=0"), in order, for tests to compare; it also keeps the last TLS session and the thread
 * each event came on.
 */
public final class RecordingListener implements ConnectionListener {
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final List<String> threads = new CopyOnWriteArrayList<>();
  public volatile SSLSession lastSession;
  public volatile long lastWaitNanos = -1;
  public volatile long lastIdleNanos = -1;

  /** The events so far, in order. */
  public List<String> events() {
    return new ArrayList<>(events);
  }

  /** The names of the threads the events came on, one per event. */
  public List<String> threads() {
    return new ArrayList<>(threads);
  }

  /** The events whose line starts with {@code kind}. */
  public List<String> events(String kind) {
    List<String> out = new ArrayList<>();
    for (String e : events) {
      if (e.startsWith(kind + " ") || e.equals(kind)) {
        out.add(e);
      }
    }
    return out;
  }

  private void add(String e) {
    threads.add(Thread.currentThread().getName());
    events.add(e);
  }

  private static String key(Allocation a) {
    return a.scheme() + "://" + a.addr() + ":" + a.port();
  }

  private static String key(ConnectionInfo s) {
    return s.scheme() + "://" + s.addr() + ":" + s.port();
  }

  @Override
  public void queued(long id, Allocation request) {
    add("queued " + key(request));
  }

  @Override
  public void resolveStarted(long id, Allocation request, String host) {
    add("resolveStarted " + host);
  }

  @Override
  public void resolveEnded(
      long id, Allocation request, String host, List<InetAddress> addresses, long nanos) {
    add("resolveEnded " + host + " " + addresses.size());
  }

  @Override
  public void resolveFailed(long id, Allocation request, String host, String error, long nanos) {
    add("resolveFailed " + host);
  }

  @Override
  public void connectStarted(ConnectionInfo socket, InetSocketAddress address) {
    add("connectStarted " + address.getAddress().getHostAddress());
  }

  @Override
  public void connectEnded(ConnectionInfo socket, InetSocketAddress address, long nanos) {
    add("connectEnded " + address.getAddress().getHostAddress());
  }

  @Override
  public void connectFailed(
      ConnectionInfo socket, InetSocketAddress address, long nanos, String error) {
    add("connectFailed " + address.getAddress().getHostAddress());
  }

  @Override
  public void tunnelStarted(ConnectionInfo socket, ProxyServer proxy) {
    add("tunnelStarted " + proxy.type());
  }

  @Override
  public void tunnelEnded(ConnectionInfo socket, ProxyServer proxy, long nanos, String error) {
    add("tunnelEnded " + (error == null ? "ok" : "failed"));
  }

  @Override
  public void tlsStarted(ConnectionInfo socket) {
    add("tlsStarted " + key(socket));
  }

  @Override
  public void tlsEnded(ConnectionInfo socket, SSLSession session, long nanos, String error) {
    lastSession = session;
    add("tlsEnded " + (error == null ? session.getProtocol() : "failed"));
  }

  @Override
  public void handedOut(
      long id, Allocation request, ConnectionInfo socket, FromCache how, long wait, long idle) {
    lastWaitNanos = wait;
    lastIdleNanos = idle;
    add("handedOut " + how + " uses=" + socket.uses());
  }

  @Override
  public void givenBack(ConnectionInfo socket, boolean pooled) {
    add("givenBack " + (pooled ? "pooled" : "closed"));
  }

  @Override
  public void closed(ConnectionInfo socket, CloseReason reason) {
    add("closed " + reason);
  }

  @Override
  public void failed(long id, Allocation request, String function, String error, long wait) {
    add("failed " + function);
  }

  @Override
  public void timedOut(long id, Allocation request, long wait) {
    add("timedOut " + key(request));
  }

  @Override
  public void cancelled(long id, Allocation request, long wait) {
    add("cancelled " + key(request));
  }

  @Override
  public void leaked(ConnectionInfo socket, boolean reclaimed, Throwable site) {
    add("leaked " + (reclaimed ? "reclaimed" : "held"));
  }
}
