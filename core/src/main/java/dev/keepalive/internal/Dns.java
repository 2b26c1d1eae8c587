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
 * Name lookups for one manager, off the event loop: the connect path's first stage. Literal IPv4
 * and IPv6 addresses never get here ({@link IpLiteral}). Concurrent waiters for one host share
 * one lookup; a waiter that leaves (timeout, cancel, shutdown) is dropped from its lookup, and a
 * lookup nobody waits for any more is forgotten, so a resolver that never answers leaks nothing.
 * Answers come back as loop tasks, to {@link Answers}; everything but the resolver call runs on
 * the loop (asserted).
 *
 * @param <W> who waits for an answer (the manager's requests)
 */
final class Dns<W> {
  /** Where answers go, on the loop. */
  interface Answers<W> {
    void resolved(W waiter, List<InetAddress> addresses);

    void failed(W waiter, Failure failure);
  }

  /** One lookup in flight and who waits for it. */
  private static final class Lookup<W> {
    final String host;
    final List<W> waiters = new ArrayList<>(2);

    Lookup(String host) {
      this.host = host;
    }
  }

  private final Resolver resolver;
  private final EventLoop loop;
  private final Answers<W> answers;
  private final Map<String, Lookup<W>> inflight = new HashMap<>();
  private final Map<W, Lookup<W>> byWaiter = new HashMap<>();

  Dns(Resolver resolver, EventLoop loop, Answers<W> answers) {
    this.resolver = resolver;
    this.loop = loop;
    this.answers = answers;
  }

  /** Lookups in flight (for leak tests). */
  int inflight() {
    return inflight.size();
  }

  /** Looks {@code host} up for {@code waiter}; the answer goes to {@link Answers} later. */
  void resolve(String host, W waiter) {
    assert loop.inLoop() : "DNS state used off its loop";
    Lookup<W> l = inflight.get(host);
    if (l == null) {
      l = new Lookup<>(host);
      inflight.put(host, l);
      start(l);
    }
    l.waiters.add(waiter);
    byWaiter.put(waiter, l);
  }

  /** {@code waiter} no longer wants its answer. */
  void abandon(W waiter) {
    assert loop.inLoop() : "DNS state used off its loop";
    Lookup<W> l = byWaiter.remove(waiter);
    if (l == null) {
      return;
    }
    l.waiters.remove(waiter);
    if (l.waiters.isEmpty()) {
      inflight.remove(l.host, l);
    }
  }

  private void start(Lookup<W> l) {
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

  private void done(Lookup<W> l, List<InetAddress> addresses, Throwable error) {
    assert loop.inLoop() : "DNS state used off its loop";
    if (inflight.get(l.host) != l) {
      return; // everyone left; a later lookup may be in flight
    }
    inflight.remove(l.host);
    Failure failure = null;
    List<InetAddress> usable = null;
    if (error != null) {
      failure = resolveFailure(error);
    } else if (addresses == null || addresses.isEmpty()) {
      failure = new Failure(Failure.Function.RESOLVE, null, "Host has no address.");
    } else {
      try {
        usable = List.copyOf(addresses); // also rejects null elements
      } catch (RuntimeException e) {
        failure = new Failure(
            Failure.Function.RESOLVE, null, "The resolver answered an invalid address list: " + e);
      }
    }
    List<W> waiters = new ArrayList<>(l.waiters);
    for (W w : waiters) {
      byWaiter.remove(w);
    }
    for (W w : waiters) {
      if (failure != null) {
        answers.failed(w, failure);
      } else {
        answers.resolved(w, usable);
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
      return new Failure(Failure.Function.RESOLVE, null, text == null ? "Unknown host" : text);
    }
    return new Failure(
        Failure.Function.RESOLVE, null, text == null ? e.getClass().getName() : text);
  }
}
