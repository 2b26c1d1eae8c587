package dev.keepalive.internal;

import dev.keepalive.Resolver;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * Name lookups for one manager, off the event loop. Literal IPv4 and IPv6 addresses never get
 * here ({@link #literal}). Concurrent requests for one host share one lookup; a request that
 * leaves (timeout, cancel, shutdown) is dropped from its lookup, and a lookup nobody waits for any
 * more is forgotten, so a resolver that never answers leaks nothing. Answers come back as loop
 * tasks; everything but the resolver call runs on the loop.
 */
final class Dns {
  /** One lookup in flight and the requests waiting for it. */
  static final class Lookup {
    final String host;
    final List<Request> waiters = new ArrayList<>(2);

    Lookup(String host) {
      this.host = host;
    }
  }

  private final Resolver resolver;
  private final EventLoop loop;
  private final Map<String, Lookup> inflight = new HashMap<>();
  private Pool pool;

  Dns(Resolver resolver, EventLoop loop) {
    this.resolver = resolver;
    this.loop = loop;
  }

  void attach(Pool pool) {
    this.pool = pool;
  }

  /** Lookups in flight (for leak tests). */
  int inflight() {
    return inflight.size();
  }

  void resolve(Request r) {
    String host = r.key.host;
    Lookup l = inflight.get(host);
    if (l == null) {
      l = new Lookup(host);
      inflight.put(host, l);
      start(l);
    }
    l.waiters.add(r);
    r.lookup = l;
  }

  void abandon(Request r) {
    Lookup l = r.lookup;
    if (l == null) {
      return;
    }
    r.lookup = null;
    l.waiters.remove(r);
    if (l.waiters.isEmpty()) {
      inflight.remove(l.host, l);
    }
  }

  private void start(Lookup l) {
    CompletionStage<List<InetAddress>> stage;
    try {
      stage = resolver.resolve(l.host);
      if (stage == null) {
        throw new IllegalStateException("the resolver returned no CompletionStage");
      }
    } catch (RuntimeException | Error e) {
      loop.execute(() -> done(l, null, e));
      return;
    }
    stage.whenComplete((addresses, error) -> loop.execute(() -> done(l, addresses, error)));
  }

  private void done(Lookup l, List<InetAddress> addresses, Throwable error) {
    if (inflight.get(l.host) != l) {
      return; // everyone left; a later lookup may be in flight
    }
    inflight.remove(l.host);
    Failure failure = null;
    List<InetAddress> usable = null;
    if (error != null) {
      failure = resolveFailure(error);
    } else if (addresses == null || addresses.isEmpty()) {
      failure = new Failure("resolve", null, "Host has no address.");
    } else {
      try {
        usable = List.copyOf(addresses); // also rejects null elements
      } catch (RuntimeException e) {
        failure = new Failure("resolve", null, "The resolver answered an invalid address list: " + e);
      }
    }
    for (Request r : l.waiters.toArray(new Request[0])) {
      r.lookup = null;
      if (failure != null) {
        pool.resolveFailed(r, failure);
      } else {
        pool.resolved(r, usable);
      }
    }
  }

  private static Failure resolveFailure(Throwable error) {
    Throwable e = error;
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    String text = e.getMessage();
    if (e instanceof UnknownHostException) {
      return new Failure("resolve", null, text == null ? "Unknown host" : text);
    }
    return new Failure("resolve", null, text == null ? e.getClass().getName() : text);
  }

  /**
   * The address when {@code host} (normalized) is a literal IPv4 or IPv6 address, else null.
   * No lookup is made either way.
   */
  static InetAddress literal(String host) {
    if (host.indexOf(':') >= 0) {
      if (!isIpv6Literal(host)) {
        return null;
      }
      try {
        return InetAddress.getByName(host); // a literal: parsed, never looked up
      } catch (UnknownHostException e) {
        return null;
      }
    }
    byte[] b = parseIpv4(host);
    if (b == null) {
      return null;
    }
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static boolean isIpv6Literal(String s) {
    int end = s.indexOf('%'); // zone id
    if (end < 0) {
      end = s.length();
    }
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (!hex && c != ':' && c != '.') {
        return false;
      }
    }
    return true;
  }

  private static byte[] parseIpv4(String s) {
    byte[] out = new byte[4];
    int part = 0;
    int value = -1;
    for (int i = 0; i <= s.length(); i++) {
      char c = i < s.length() ? s.charAt(i) : '.';
      if (c >= '0' && c <= '9') {
        value = (value < 0 ? 0 : value * 10) + (c - '0');
        if (value > 255) {
          return null;
        }
      } else if (c == '.') {
        if (value < 0 || part == 4) {
          return null;
        }
        out[part++] = (byte) value;
        value = -1;
      } else {
        return null;
      }
    }
    return part == 4 ? out : null;
  }
}
