package dev.keepalive.micrometer;

import dev.keepalive.Allocation;
import dev.keepalive.CloseReason;
import dev.keepalive.ConnectionInfo;
import dev.keepalive.ConnectionListener;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import javax.net.ssl.SSLSession;

/**
 * Micrometer meters for one {@link ConnectionManager}: a {@link ConnectionListener} that counts
 * and times what the manager does, plus gauges of its sockets and requests.
 *
 * <pre>{@code
 * KeepaliveMetrics metrics = KeepaliveMetrics.builder(registry).name("api").build();
 * ConnectionManager m = ConnectionManager.builder().listener(metrics).build();
 * metrics.bindTo(m); // the gauges
 * ...
 * m.close();
 * metrics.close(); // removes its meters from the registry
 * }</pre>
 *
 * <p><b>Meters.</b> Every meter has the tag {@code name} (the builder's {@link Builder#name},
 * "default" unless set) and the builder's common {@link Builder#tags}.
 *
 * <table>
 *   <caption>The meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 *   <tr><td>{@code keepalive.connections}</td><td>gauge</td><td>{@code state}: idle, leased,
 *       connecting</td><td>sockets in each state ({@link PoolStats})</td></tr>
 *   <tr><td>{@code keepalive.connections.open}</td><td>gauge</td><td></td><td>all open sockets
 *       (idle + leased + connecting)</td></tr>
 *   <tr><td>{@code keepalive.requests.pending}</td><td>gauge</td><td></td><td>requests resolving
 *       or queued, not yet connecting</td></tr>
 *   <tr><td>{@code keepalive.acquire}</td><td>timer</td><td>{@code kind}: new, immediate,
 *       deferred</td><td>from allocate() to the hand-out ({@link FromCache})</td></tr>
 *   <tr><td>{@code keepalive.handouts}</td><td>counter</td><td>{@code kind}</td><td>hand-outs
 *       (the acquire timer's count, as a counter)</td></tr>
 *   <tr><td>{@code keepalive.connect}</td><td>timer</td><td>{@code outcome}: success,
 *       failure</td><td>each TCP connect attempt</td></tr>
 *   <tr><td>{@code keepalive.tls.handshake}</td><td>timer</td><td>{@code outcome}</td><td>each
 *       TLS handshake</td></tr>
 *   <tr><td>{@code keepalive.closes}</td><td>counter</td><td>{@code reason}: the {@link
 *       CloseReason} in lower case ({@code keep_alive_expired}, {@code peer_closed}...)</td>
 *       <td>sockets closed</td></tr>
 *   <tr><td>{@code keepalive.failures}</td><td>counter</td><td>{@code function}: resolve,
 *       connect, sslify, proxy, queue, shutdown</td><td>requests that failed (not timeouts)</td>
 *       </tr>
 *   <tr><td>{@code keepalive.timeouts}</td><td>counter</td><td></td><td>requests whose timeout
 *       passed before a hand-out</td></tr>
 *   <tr><td>{@code keepalive.cancellations}</td><td>counter</td><td></td><td>requests cancelled
 *       before a hand-out</td></tr>
 *   <tr><td>{@code keepalive.leaks}</td><td>counter</td><td>{@code reclaimed}: true,
 *       false</td><td>connections held past the leak threshold (false) or reclaimed unreachable
 *       (true)</td></tr>
 * </table>
 *
 * <p>Every request ends in exactly one of {@code keepalive.handouts}, {@code keepalive.failures},
 * {@code keepalive.timeouts} and {@code keepalive.cancellations}; every socket the manager began to
 * open ends in exactly one {@code keepalive.closes}. The timers publish no histogram unless the
 * registry is told to (a {@code MeterFilter}, e.g. {@code publishPercentileHistogram} for names
 * starting with {@code keepalive.}).
 *
 * <p><b>The peers' names.</b> Micrometer's binder for Apache HttpClient 5's pool ({@code
 * PoolingHttpClientConnectionManagerMetricsBinder}) publishes {@code
 * httpcomponents.httpclient.pool.total.connections} with {@code state}: available, leased (here
 * {@code keepalive.connections} with {@code state}: idle, leased; "connecting" has no counterpart
 * there) and {@code httpcomponents.httpclient.pool.total.pending} (here {@code
 * keepalive.requests.pending}). Reactor Netty's {@code reactor.netty.connection.provider.*}
 * gauges {@code total.connections}, {@code active.connections}, {@code idle.connections} and
 * {@code pending.connections} are here {@code keepalive.connections.open}, {@code
 * keepalive.connections} with {@code state=leased} and {@code state=idle}, and {@code
 * keepalive.requests.pending}; its {@code pending.connections.time} timer is {@code
 * keepalive.acquire} (which also times the requests that never waited: kind immediate and new),
 * its {@code reactor.netty.http.client.connect.time} and {@code tls.handshake.time} are {@code
 * keepalive.connect} and {@code keepalive.tls.handshake} (its {@code status} tag: SUCCESS, ERROR
 * is {@code outcome} here). Neither peer counts closes by reason. Reactor Netty's {@code name}
 * tag (the provider's name) is the {@code name} tag here; its {@code remote.address} tag is on
 * every meter, which is how its meters grew without bound for churning hosts: here the per-key
 * tag is opt-in and bounded ({@link Builder#perKeyTags}).
 *
 * <p><b>Per-key tags.</b> Off unless {@link Builder#perKeyTags}{@code (n)} is set: then the event
 * meters (acquire, handouts, connect, TLS handshake, closes, failures, timeouts, cancellations,
 * leaks) also carry the tag {@code key}, the pool key's target as {@code scheme://host:port}
 * (lower case; IPv6 literals in brackets). The first {@code n} keys seen get their own value;
 * every later key shares {@code key=other}, so no meter has more than {@code n + 1} series per
 * manager. The gauges stay manager-wide (no {@code key} tag).
 *
 * <p><b>Cost.</b> The listener's methods run on the manager's event loop: each one increments or
 * records into a meter created in advance (per kind and per reason, in arrays indexed by the
 * enum's ordinal): no registry look-up and no allocation per event (with per-key tags, one map
 * look-up of the key, skipped for a hand-out whose {@link Allocation} is the same object as the
 * last one's). A manager without this listener pays nothing. The gauges read {@link
 * ConnectionManager#stats()} (a volatile read) when the registry reads them.
 *
 * <p><b>Threads.</b> One instance serves one manager: register it with one builder and bind it to
 * the manager that builder built. Its meters are Micrometer's and thread-safe; {@link #close()}
 * may be called from any thread.
 */
public final class KeepaliveMetrics implements ConnectionListener, AutoCloseable {
  /** The {@code key} tag's value shared by the keys past the {@link Builder#perKeyTags} bound. */
  public static final String OTHER_KEY = "other";

  /** The failure functions a manager reports (their counters exist from the start). */
  private static final List<String> FUNCTIONS =
      List.of("resolve", "connect", "sslify", "proxy", "queue", "shutdown");

  private static final FromCache[] KINDS = FromCache.values();
  private static final CloseReason[] REASONS = CloseReason.values();

  private final MeterRegistry registry;
  private final Tags common;
  private final int maxKeys;
  private final List<Meter> meters = new ArrayList<>();
  private final Meters all;
  private final Map<KeyId, Meters> byKey;
  private volatile boolean closed;
  private LastRequest lastRequest;
  private boolean bound;

  private KeepaliveMetrics(Builder b) {
    this.registry = b.registry;
    this.common = Tags.of(b.tags).and("name", b.name);
    this.maxKeys = b.maxKeys;
    if (maxKeys > 0) {
      this.byKey = new ConcurrentHashMap<>();
      this.all = new Meters(common.and("key", OTHER_KEY));
    } else {
      this.byKey = null;
      this.all = new Meters(common);
    }
  }

  /** A builder of metrics registered in {@code registry}. */
  public static Builder builder(MeterRegistry registry) {
    if (registry == null) {
      throw new IllegalArgumentException("registry must not be null");
    }
    return new Builder(registry);
  }

  /** The settings of a {@link KeepaliveMetrics}. */
  public static final class Builder {
    private final MeterRegistry registry;
    private String name = "default";
    private Tags tags = Tags.empty();
    private int maxKeys;

    private Builder(MeterRegistry registry) {
      this.registry = registry;
    }

    /**
     * The value of the {@code name} tag on every meter, which tells managers apart in one
     * registry ("default" unless set).
     */
    public Builder name(String name) {
      if (name == null || name.isEmpty()) {
        throw new IllegalArgumentException("name must not be empty");
      }
      this.name = name;
      return this;
    }

    /** Tags added to every meter (on top of {@code name}). */
    public Builder tags(Iterable<Tag> tags) {
      this.tags = this.tags.and(tags);
      return this;
    }

    /** Tags added to every meter, as key, value, key, value... */
    public Builder tags(String... keyValues) {
      this.tags = this.tags.and(keyValues);
      return this;
    }

    /**
     * Tags the event meters with the pool key ({@code key=scheme://host:port}) for the first
     * {@code maxKeys} keys seen; later keys share {@code key=other}. 0 (the default): no {@code
     * key} tag.
     */
    public Builder perKeyTags(int maxKeys) {
      if (maxKeys < 0) {
        throw new IllegalArgumentException("maxKeys must not be negative, was " + maxKeys);
      }
      this.maxKeys = maxKeys;
      return this;
    }

    /** The metrics; register them with {@link ConnectionManager.Builder#listener}. */
    public KeepaliveMetrics build() {
      return new KeepaliveMetrics(this);
    }
  }

  /**
   * Registers the gauges of {@code manager} (the one this listener was registered with): {@code
   * keepalive.connections}, {@code keepalive.connections.open}, {@code keepalive.requests.pending}.
   * Once per instance. The gauges hold the manager weakly.
   *
   * @return this
   * @throws IllegalStateException if already bound, or closed
   */
  public KeepaliveMetrics bindTo(ConnectionManager manager) {
    if (manager == null) {
      throw new IllegalArgumentException("manager must not be null");
    }
    synchronized (meters) {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (bound) {
        throw new IllegalStateException("already bound to a manager");
      }
      bound = true;
      gauge("keepalive.connections", "idle", manager, m -> m.stats().idle());
      gauge("keepalive.connections", "leased", manager, m -> m.stats().leased());
      gauge("keepalive.connections", "connecting", manager, m -> m.stats().connecting());
      meters.add(
          Gauge.builder("keepalive.connections.open", manager, m -> m.stats().open())
              .description("Open sockets: idle, leased and connecting")
              .tags(common)
              .register(registry));
      meters.add(
          Gauge.builder("keepalive.requests.pending", manager, m -> m.stats().pending())
              .description("Requests resolving or queued (not yet connecting)")
              .tags(common)
              .register(registry));
    }
    return this;
  }

  private void gauge(
      String name, String state, ConnectionManager manager, ToDoubleFunction<ConnectionManager> f) {
    meters.add(Gauge.builder(name, manager, f)
        .description("Sockets by state")
        .tags(common)
        .tag("state", state)
        .register(registry));
  }

  /**
   * Removes every meter this instance registered from the registry. Call it when the manager is
   * closed (a manager's close does not tell its listeners). Events after it go to meters no
   * longer in the registry. Idempotent.
   */
  @Override
  public void close() {
    synchronized (meters) {
      closed = true;
      for (Meter meter : meters) {
        registry.remove(meter);
      }
      meters.clear();
    }
  }

  // ---- the listener: on the manager's event loop ----

  @Override
  public void handedOut(
      long requestId,
      Allocation request,
      ConnectionInfo socket,
      FromCache how,
      long waitNanos,
      long idleNanos) {
    Meters k = of(request);
    int i = how.ordinal();
    k.acquire[i].record(waitNanos, TimeUnit.NANOSECONDS);
    k.handouts[i].increment();
  }

  @Override
  public void connectEnded(ConnectionInfo socket, InetSocketAddress address, long nanos) {
    of(socket).connectSuccess.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void connectFailed(
      ConnectionInfo socket, InetSocketAddress address, long nanos, String error) {
    of(socket).connectFailure.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void tlsEnded(ConnectionInfo socket, SSLSession session, long nanos, String error) {
    Meters k = of(socket);
    (session != null ? k.tlsSuccess : k.tlsFailure).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void closed(ConnectionInfo socket, CloseReason reason) {
    of(socket).closes[reason.ordinal()].increment();
  }

  @Override
  public void failed(
      long requestId, Allocation request, String function, String error, long waitNanos) {
    of(request).failure(function).increment();
  }

  @Override
  public void timedOut(long requestId, Allocation request, long waitNanos) {
    of(request).timeouts.increment();
  }

  @Override
  public void cancelled(long requestId, Allocation request, long waitNanos) {
    of(request).cancellations.increment();
  }

  @Override
  public void leaked(ConnectionInfo socket, boolean reclaimed, Throwable site) {
    Meters k = of(socket);
    (reclaimed ? k.leaksReclaimed : k.leaksHeld).increment();
  }

  // ---- per-key meters ----

  /**
   * The last request's meters: one object, so that the pair is read whole (the listener runs on
   * one loop thread; a reader elsewhere sees a whole pair or none, by final-field semantics).
   */
  private static final class LastRequest {
    final Allocation request;
    final Meters meters;

    LastRequest(Allocation request, Meters meters) {
      this.request = request;
      this.meters = meters;
    }
  }

  /** A pool key's target: scheme and address in lower case, IPv6 without brackets. */
  private record KeyId(String scheme, String addr, int port) {
    String text() {
      String host = addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr;
      return scheme + "://" + host + ":" + port;
    }
  }

  private Meters of(Allocation request) {
    if (byKey == null) {
      return all;
    }
    // callers usually reuse one Allocation per host: the last one's meters, without a look-up
    LastRequest last = lastRequest;
    if (last != null && last.request == request) {
      return last.meters;
    }
    Meters k = lookUp(request);
    lastRequest = new LastRequest(request, k);
    return k;
  }

  private Meters lookUp(Allocation request) {
    String addr = request.forAddr();
    if (addr.startsWith("[") && addr.endsWith("]")) {
      addr = addr.substring(1, addr.length() - 1);
    }
    return of(new KeyId(
        request.forScheme().toLowerCase(Locale.ROOT),
        addr.toLowerCase(Locale.ROOT),
        request.forPort()));
  }

  private Meters of(ConnectionInfo socket) {
    if (byKey == null) {
      return all;
    }
    // already normalized by the manager
    return of(new KeyId(socket.forScheme(), socket.forAddr(), socket.forPort()));
  }

  private Meters of(KeyId id) {
    Meters k = byKey.get(id);
    if (k != null) {
      return k;
    }
    synchronized (meters) {
      k = byKey.get(id);
      if (k != null) {
        return k;
      }
      if (byKey.size() >= maxKeys || closed) {
        return all;
      }
      k = new Meters(common.and("key", id.text()));
      byKey.put(id, k);
      return k;
    }
  }

  /** The event meters of one {@code key} tag value (or of the manager, without per-key tags). */
  private final class Meters {
    final Tags tags;
    final Timer[] acquire = new Timer[KINDS.length];
    final Counter[] handouts = new Counter[KINDS.length];
    final Timer connectSuccess;
    final Timer connectFailure;
    final Timer tlsSuccess;
    final Timer tlsFailure;
    final Counter[] closes = new Counter[REASONS.length];
    final Map<String, Counter> failures = new ConcurrentHashMap<>();
    final Counter timeouts;
    final Counter cancellations;
    final Counter leaksHeld;
    final Counter leaksReclaimed;

    Meters(Tags tags) {
      this.tags = tags;
      synchronized (meters) {
        for (FromCache kind : KINDS) {
          String k = kind.name().toLowerCase(Locale.ROOT);
          acquire[kind.ordinal()] = add(Timer.builder("keepalive.acquire")
              .description("From allocate() to the hand-out, by how the connection was found")
              .tags(tags)
              .tag("kind", k)
              .register(registry));
          handouts[kind.ordinal()] = add(Counter.builder("keepalive.handouts")
              .description("Connections handed out, by how they were found")
              .tags(tags)
              .tag("kind", k)
              .register(registry));
        }
        connectSuccess = connectTimer("success");
        connectFailure = connectTimer("failure");
        tlsSuccess = tlsTimer("success");
        tlsFailure = tlsTimer("failure");
        for (CloseReason reason : REASONS) {
          closes[reason.ordinal()] = add(Counter.builder("keepalive.closes")
              .description("Sockets closed, by reason")
              .tags(tags)
              .tag("reason", reason.name().toLowerCase(Locale.ROOT))
              .register(registry));
        }
        for (String function : FUNCTIONS) {
          failures.put(function, failureCounter(function));
        }
        timeouts = add(Counter.builder("keepalive.timeouts")
            .description("Requests whose timeout passed before a hand-out")
            .tags(tags)
            .register(registry));
        cancellations = add(Counter.builder("keepalive.cancellations")
            .description("Requests cancelled before a hand-out")
            .tags(tags)
            .register(registry));
        leaksHeld = leakCounter(false);
        leaksReclaimed = leakCounter(true);
      }
    }

    private Timer connectTimer(String outcome) {
      return add(Timer.builder("keepalive.connect")
          .description("TCP connect attempts")
          .tags(tags)
          .tag("outcome", outcome)
          .register(registry));
    }

    private Timer tlsTimer(String outcome) {
      return add(Timer.builder("keepalive.tls.handshake")
          .description("TLS handshakes")
          .tags(tags)
          .tag("outcome", outcome)
          .register(registry));
    }

    private Counter leakCounter(boolean reclaimed) {
      return add(Counter.builder("keepalive.leaks")
          .description("Connections held past the leak threshold, or reclaimed unreachable")
          .tags(tags)
          .tag("reclaimed", Boolean.toString(reclaimed))
          .register(registry));
    }

    private Counter failureCounter(String function) {
      return add(Counter.builder("keepalive.failures")
          .description("Requests that failed, by the function that failed")
          .tags(tags)
          .tag("function", function)
          .register(registry));
    }

    Counter failure(String function) {
      Counter c = failures.get(function);
      if (c != null) {
        return c;
      }
      // a function this class does not know yet: rare, registered once
      synchronized (meters) {
        c = failures.computeIfAbsent(function, this::failureCounter);
        if (closed) {
          registry.remove(c); // counted, but not published any more
        }
        return c;
      }
    }

    private <M extends Meter> M add(M meter) {
      meters.add(meter);
      return meter;
    }
  }
}
