package dev.keepalive.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.Resolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.SinkServer;
import dev.keepalive.testkit.TlsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLParameters;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.lifecycle.BeforeProperty;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.awaitility.Awaitility;

/**
 * Bad input over the whole public API: random strings (null, empty, blank, control characters,
 * any Unicode, 100,000 characters), ports (every int), durations (null, zero, negative, one
 * nanosecond, {@code Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)}), nulls, foreign and stale
 * connections, calls after shutdown and close, misbehaving resolvers, any bind address, junk TLS
 * parameters. Each call either works or throws the documented exception
 * ({@link IllegalArgumentException} whose message starts with the argument's name,
 * {@link IllegalStateException} after shutdown, a failed allocation with the documented function
 * for what cannot be connected, the JDK stream contract's exceptions on the streams); every
 * request is answered exactly once; after every try the manager still works: a real allocation to
 * a {@link AcceptingServer} succeeds and nothing is left leased, connecting or pending.
 *
 * <p>Most properties share one manager per property (it must survive all the tries); those about
 * builder settings make one per try.
 */
class BadInputPropertiesTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  static AcceptingServer server;
  static SinkServer sink;
  static TlsServer notTls;
  static Allocation good;

  /** Every host name is 127.0.0.1 (no DNS in these tests). */
  static final Resolver LOOPBACK =
      host -> CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));

  /** One request of one manager. */
  record Request(ConnectionManager manager, long id) {}

  /** The manager a property shares across its tries, and how often each request was answered. */
  ConnectionManager manager;

  final Map<Request, AtomicInteger> answers = new ConcurrentHashMap<>();

  @BeforeContainer
  static void startServers() {
    server = new AcceptingServer();
    sink = new SinkServer();
    notTls = TlsServer.notTls();
    good = Allocation.to("http", "127.0.0.1", server.port());
  }

  @AfterContainer
  static void stopServers() {
    server.close();
    sink.close();
    notTls.close();
  }

  @BeforeProperty
  void openManager() {
    manager = ConnectionManager.builder()
        .resolver(LOOPBACK)
        .maxPerHost(4)
        .maxOpen(64)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  /** After close() every request of the property (pending ones: "shutdown") was answered once. */
  @AfterProperty
  void closeManager() {
    manager.close();
    assertThat(manager.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
    everyRequestAnsweredOnce();
  }

  // ---------------------------------------------------------------- helpers

  /** Throws IllegalArgumentException whose message starts with one of {@code names}. */
  static void rejects(ThrowingCallable call, List<String> names) {
    Throwable t = catchThrowable(call);
    assertThat(t)
        .as("a bad %s must be rejected", names)
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(names.stream().anyMatch(n -> t.getMessage().startsWith(n + " ")))
        .as("message \"%s\" names one of %s", t.getMessage(), names)
        .isTrue();
  }

  static void rejects(ThrowingCallable call, String name) {
    rejects(call, List.of(name));
  }

  /**
   * True when {@code call} threw: then an IllegalArgumentException naming one of
   * {@code doubtful} (which includes every {@code bad} argument). False when it returned, which
   * it may only when no argument is bad.
   */
  static boolean rejectedAsItMust(ThrowingCallable call, List<String> bad, List<String> doubtful) {
    Throwable t = catchThrowable(call);
    if (t == null) {
      assertThat(bad).as("accepted although bad").isEmpty();
      return false;
    }
    assertThat(t).isInstanceOf(IllegalArgumentException.class);
    assertThat(doubtful.stream().anyMatch(n -> t.getMessage().startsWith(n + " ")))
        .as("message \"%s\" names one of %s", t.getMessage(), doubtful)
        .isTrue();
    return true;
  }

  /** Not blank to String.isBlank(), but nothing left after String.trim() (control characters). */
  static boolean trimsToNothing(String s) {
    return s != null && !s.isBlank() && s.trim().isEmpty();
  }

  /** A host with a control character is never valid: Allocation rejects it (addr, forAddr). */
  static boolean hasControl(String s) {
    return s != null && s.chars().anyMatch(c -> Character.isISOControl(c));
  }

  static boolean isText(String s) {
    return s != null && !s.isBlank();
  }

  static boolean isPort(int p) {
    return p >= 1 && p <= 65535;
  }

  static boolean isPositive(Duration d) {
    return d != null && !d.isZero() && !d.isNegative();
  }

  /** Allocates in callback style, counts the answers, waits for the first. */
  AllocationResult answerOf(ConnectionManager m, Allocation a) {
    CompletableFuture<AllocationResult> first = new CompletableFuture<>();
    AtomicInteger count = new AtomicInteger();
    long id = m.allocate(a, r -> {
      count.incrementAndGet();
      first.complete(r);
    });
    assertThat(id).isPositive();
    assertThat(answers.put(new Request(m, id), count))
        .as("request id %d given twice", id)
        .isNull();
    AllocationResult r = get(first);
    try {
      checkEcho(a, id, r);
    } catch (AssertionError e) {
      if (r.isSuccess()) {
        r.connection().discard(); // a failed check must not keep a slot of the shared manager
      }
      throw e;
    }
    return r;
  }

  private static void checkEcho(Allocation a, long id, AllocationResult r) {
    assertThat(r.requestId()).isEqualTo(id);
    assertThat(r.scheme()).isEqualTo(a.scheme());
    assertThat(r.addr()).isEqualTo(a.addr());
    assertThat(r.port()).isEqualTo(a.port());
    assertThat(r.context()).isSameAs(a.context());
    if (r.isSuccess()) {
      assertThat(r.function()).isNull();
      assertThat(r.fromCache()).isNotNull();
      assertThat(r.connection().fromCache()).isEqualTo(r.fromCache());
    } else {
      assertThat(r.function()).isIn("resolve", "connect", "sslify", "shutdown");
      assertThat(r.errorStr()).isNotBlank();
      assertThat(r.connection()).isNull();
    }
  }

  static <T> T get(CompletableFuture<T> f) {
    try {
      return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("not answered within " + WAIT, e);
    } catch (InterruptedException | ExecutionException e) {
      throw new AssertionError(e);
    }
  }

  void everyRequestAnsweredOnce() {
    for (Map.Entry<Request, AtomicInteger> e : answers.entrySet()) {
      assertThat(e.getValue().get())
          .as("answers to request %d", e.getKey().id())
          .isEqualTo(1);
    }
  }

  /** The manager still works: a real allocation succeeds, and nothing is left out. */
  static void assertWorks(ConnectionManager m) {
    Connection c = get(m.allocate(good));
    assertThat(c.isOpen()).isTrue();
    assertThat(c.port()).isEqualTo(server.port());
    c.close();
    Awaitility.await()
        .atMost(WAIT)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(2))
        .untilAsserted(() -> {
          PoolStats s = m.stats();
          assertThat(s.leased() + s.connecting() + s.pending()).as("%s", s).isZero();
          assertThat(s.open()).isEqualTo(s.idle());
        });
  }

  // ---------------------------------------------------------------- generators

  @Provide
  Arbitrary<String> texts() {
    return Arbitraries.frequencyOf(
            Tuple.of(
                3,
                Arbitraries.of(
                    "http",
                    "https",
                    "127.0.0.1",
                    "localhost",
                    "::1",
                    "[::1]",
                    "HTTP",
                    "example.org",
                    "10.0.0.1",
                    "x")),
            Tuple.of(
                2, Arbitraries.of("", " ", "\t", "\r\n", "\u2003", "\u3000 ", " \u000B\u001F ")),
            Tuple.of(1, controlOnly()),
            Tuple.of(
                3, Arbitraries.strings().alpha().numeric().withChars(".-:[]%_ ").ofMaxLength(40)),
            Tuple.of(3, Arbitraries.strings().all().ofMaxLength(30)),
            Tuple.of(1, Arbitraries.strings().withCharRange('a', 'z').ofLength(100_000)))
        .injectNull(0.08);
  }

  /** Strings of control characters that are not whitespace to String.isBlank(). */
  @Provide
  Arbitrary<String> controlOnly() {
    return Arbitraries.strings()
        .withCharRange('\u0000', '\u0008')
        .withCharRange('\u000E', '\u001B')
        .ofMinLength(1)
        .ofMaxLength(4);
  }

  @Provide
  Arbitrary<Integer> ports() {
    return Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.integers()),
        Tuple.of(
            3,
            Arbitraries.of(Integer.MIN_VALUE, -65536, -1, 0, 1, 65535, 65536, Integer.MAX_VALUE)),
        Tuple.of(2, Arbitraries.integers().between(1, 65535)),
        Tuple.of(2, Arbitraries.just(server.port())));
  }

  @Provide
  Arbitrary<Duration> durations() {
    return Arbitraries.frequencyOf(
            Tuple.of(
                3,
                Arbitraries.of(
                    Duration.ZERO,
                    Duration.ofNanos(1),
                    Duration.ofNanos(-1),
                    Duration.ofSeconds(Long.MAX_VALUE, 999_999_999),
                    Duration.ofSeconds(Long.MIN_VALUE),
                    Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L + 1),
                    Duration.ofMillis(300),
                    Duration.ofDays(365 * 300))),
            Tuple.of(2, Arbitraries.longs().map(Duration::ofNanos)),
            Tuple.of(2, Arbitraries.longs().map(Duration::ofSeconds)),
            Tuple.of(1, Arbitraries.longs().between(1, 2_000_000_000L).map(Duration::ofNanos)))
        .injectNull(0.08);
  }

  // ---------------------------------------------------------------- Allocation

  @Property(tries = 400)
  void allocationToEitherRejectsTheArgumentOrIsAnsweredOnce(
      @ForAll("texts") String scheme, @ForAll("texts") String addr, @ForAll("ports") int port) {
    List<String> bad = new ArrayList<>();
    if (!isText(scheme)) {
      bad.add("scheme");
    }
    if (!isText(addr)) {
      bad.add("addr");
    }
    if (!isPort(port)) {
      bad.add("port");
    }
    List<String> doubtful = new ArrayList<>(bad);
    if (trimsToNothing(scheme)) {
      doubtful.add("scheme"); // control characters only: rejecting it is right too
    }
    if (trimsToNothing(addr) || hasControl(addr)) {
      doubtful.add("addr");
    }
    if (rejectedAsItMust(() -> Allocation.to(scheme, addr, port), bad, doubtful)) {
      assertWorks(manager);
      return;
    }
    Allocation a = Allocation.to(scheme, addr, port);
    assertThat(a.scheme()).isEqualTo(scheme);
    assertThat(a.addr()).isEqualTo(addr);
    assertThat(a.port()).isEqualTo(port);
    assertThat(a.forScheme()).isEqualTo(scheme);
    assertThat(a.forAddr()).isEqualTo(addr);
    assertThat(a.forPort()).isEqualTo(port);
    assertThat(a.context()).isNull();
    assertThat(a.timeout()).isNull();
    assertThat(a.toString()).isNotNull();
    // connected (every name is 127.0.0.1 here), refused, timed out or not TLS: answered once
    AllocationResult r = answerOf(manager, a.timeout(Duration.ofMillis(300)).context(addr));
    if (r.isSuccess()) {
      r.connection().close();
    }
    assertWorks(manager);
  }

  @Property(tries = 250)
  void forTargetEitherRejectsTheArgumentOrIsAnsweredOnce(
      @ForAll("texts") String forScheme,
      @ForAll("texts") String forAddr,
      @ForAll("ports") int forPort) {
    List<String> bad = new ArrayList<>();
    if (!isText(forScheme)) {
      bad.add("forScheme");
    }
    if (!isText(forAddr)) {
      bad.add("forAddr");
    }
    if (!isPort(forPort)) {
      bad.add("forPort");
    }
    List<String> doubtful = new ArrayList<>(bad);
    if (trimsToNothing(forScheme)) {
      doubtful.add("forScheme");
    }
    if (trimsToNothing(forAddr) || hasControl(forAddr)) {
      doubtful.add("forAddr");
    }
    if (rejectedAsItMust(() -> good.forTarget(forScheme, forAddr, forPort), bad, doubtful)) {
      assertWorks(manager);
      return;
    }
    Allocation a = good.forTarget(forScheme, forAddr, forPort);
    assertThat(a.forScheme()).isEqualTo(forScheme);
    assertThat(a.forAddr()).isEqualTo(forAddr);
    assertThat(a.forPort()).isEqualTo(forPort);
    assertThat(a.addr()).isEqualTo(good.addr());
    AllocationResult r = answerOf(manager, a);
    assertThat(r.isSuccess()).as("%s", r).isTrue();
    try {
      assertThat(r.forScheme()).isEqualTo(forScheme);
      assertThat(r.forAddr()).isEqualTo(forAddr);
      assertThat(r.forPort()).isEqualTo(forPort);
    } finally {
      r.connection().close();
    }
    assertWorks(manager);
  }

  @Property(tries = 250)
  void durationsArePositiveOrRejectedNamingTheArgument(@ForAll("durations") Duration d) {
    ConnectionManager.Builder b = ConnectionManager.builder();
    if (!isPositive(d)) {
      rejects(() -> good.timeout(d), "timeout");
      rejects(() -> b.timeout(d), "timeout");
      rejects(() -> b.keepAlive(d), "keepAlive");
    } else {
      assertThat(b.timeout(d)).isSameAs(b);
      assertThat(b.keepAlive(d)).isSameAs(b);
      Allocation a = good.timeout(d);
      assertThat(a.timeout()).isEqualTo(d);
      // the server is there: connected, or timed out when the timeout is a few nanoseconds
      AllocationResult r = answerOf(manager, a);
      if (r.isSuccess()) {
        r.connection().close();
      } else {
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum()).isEqualTo(110);
      }
    }
    assertWorks(manager);
  }

  @Property(tries = 100)
  void anyContextIsEchoedBack(@ForAll("texts") String text, @ForAll int n) {
    Object context = n % 3 == 0 ? null : n % 3 == 1 ? text : List.of(n, String.valueOf(text));
    AllocationResult r = answerOf(manager, good.context(context));
    r.connection().close();
    assertThat(r.context()).isSameAs(context);
    assertWorks(manager);
  }

  // ---------------------------------------------------------------- the builder

  record Settings(
      int maxPerHost,
      int maxOpen,
      Duration keepAlive,
      Duration timeout,
      long maxPendingWriteBytes,
      String tlsScheme) {}

  @Provide
  Arbitrary<Settings> settings() {
    Arbitrary<Integer> counts = Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.integers().between(1, 64)),
        Tuple.of(1, Arbitraries.of(Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE)),
        Tuple.of(1, Arbitraries.integers()));
    Arbitrary<Duration> durations = Arbitraries.frequencyOf(
        Tuple.of(
            4,
            Arbitraries.of(
                Duration.ofSeconds(30),
                Duration.ofSeconds(Long.MAX_VALUE),
                Duration.ofDays(365 * 300))),
        Tuple.of(1, durations()));
    Arbitrary<Long> bytes = Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.longs().between(1, Long.MAX_VALUE)),
        Tuple.of(1, Arbitraries.of(Long.MIN_VALUE, -1L, 0L, 1L, Long.MAX_VALUE)));
    Arbitrary<String> schemes = Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.of("wss", "HTTPS", "ftps")), Tuple.of(2, texts()));
    return Combinators.combine(counts, counts, durations, durations, bytes, schemes)
        .as(Settings::new);
  }

  @Property(tries = 60)
  @SuppressWarnings("try") // close() inside try-with-resources: closing twice must be harmless
  void builderTakesEveryValidSettingAndRejectsTheFirstBadOne(@ForAll("settings") Settings s) {
    ConnectionManager.Builder b = ConnectionManager.builder();
    String bad = s.maxPerHost() < 1
        ? "maxPerHost"
        : s.maxOpen() < 1
            ? "maxOpen"
            : !isPositive(s.keepAlive())
                ? "keepAlive"
                : !isPositive(s.timeout())
                    ? "timeout"
                    : s.maxPendingWriteBytes() < 1
                        ? "maxPendingWriteBytes"
                        : !isText(s.tlsScheme()) ? "scheme" : null;
    ThrowingCallable apply = () -> b.maxPerHost(s.maxPerHost())
        .maxOpen(s.maxOpen())
        .keepAlive(s.keepAlive())
        .timeout(s.timeout())
        .maxPendingWriteBytes(s.maxPendingWriteBytes())
        .tlsScheme(s.tlsScheme());
    if (bad != null) {
      rejects(apply, bad);
      return;
    }
    assertThat(catchThrowable(apply)).isNull();
    // "http" may be registered as a TLS scheme too: then only a TLS server could be connected
    boolean httpIsTls = s.tlsScheme().toLowerCase(java.util.Locale.ROOT).equals("http");
    Allocation target = httpIsTls ? Allocation.to("http", "127.0.0.1", notTls.port()) : good;
    try (ConnectionManager m = b.build()) {
      for (int i = 0; i < 2; i++) {
        AllocationResult r = answerOf(m, target);
        if (httpIsTls && (r.isSuccess() || !"connect".equals(r.function()))) {
          assertThat(r.function()).as("%s", r).isEqualTo("sslify");
        } else if (r.isSuccess()) {
          r.connection().write(ByteBuffer.wrap(new byte[64]));
          r.connection().close();
        } else {
          // only a manager timeout of a few nanoseconds can fail a connect to the server
          assertThat(r.function()).isEqualTo("connect");
          assertThat(r.errorNum()).isEqualTo(110);
          assertThat(s.timeout()).isLessThan(Duration.ofSeconds(1));
        }
      }
      m.close();
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
      assertThatThrownBy(() -> m.allocate(good)).isInstanceOf(IllegalStateException.class);
    }
  }

  @Property(tries = 30)
  void builderRejectsNullObjects(@ForAll("texts") String scheme) {
    ConnectionManager.Builder b = ConnectionManager.builder();
    rejects(() -> b.resolver(null), "resolver");
    rejects(() -> b.bindAddress(null), "bindAddress");
    rejects(() -> b.sslContext(null), "sslContext");
    rejects(() -> b.sslParameters(null), "sslParameters");
    rejects(() -> b.tlsTaskExecutor(null), "tlsTaskExecutor");
    if (isText(scheme)) {
      assertThat(b.tlsScheme(scheme)).isSameAs(b);
    } else {
      rejects(() -> b.tlsScheme(scheme), "scheme");
    }
  }

  @Provide
  Arbitrary<InetAddress> bindAddresses() {
    return Arbitraries.of(
            "127.0.0.1",
            "127.0.0.2",
            "0.0.0.0",
            "10.255.1.2",
            "192.0.2.1",
            "::ffff:127.0.0.1",
            "::1",
            "::",
            "fe80::1")
        .map(s -> {
          try {
            return InetAddress.getByName(s); // literals: parsed, never looked up
          } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  /**
   * Whatever local address the sockets are bound to, a connect to 127.0.0.1 is answered at once:
   * connected, or failed with function "connect" and the real cause. The request's timeout is a
   * second: a "Connection timed out" answer means the error was lost and the request only ended
   * by its deadline (holding its slots until then).
   */
  @Property(tries = 20)
  void anyBindAddressIsAnsweredWithTheRealError(@ForAll("bindAddresses") InetAddress bind) {
    try (ConnectionManager m = ConnectionManager.builder().bindAddress(bind).build()) {
      AllocationResult r = answerOf(m, good.timeout(Duration.ofSeconds(1)));
      if (r.isSuccess()) {
        assertThat(r.connection().localAddress().getAddress())
            .isEqualTo(
                bind.isAnyLocalAddress() ? r.connection().localAddress().getAddress() : bind);
        r.connection().close();
      } else {
        assertThat(r.function()).isEqualTo("connect");
        assertThat(r.errorNum())
            .as("bind %s answered %s: the real error was lost", bind, r)
            .isNotEqualTo(110);
      }
      assertThat(m.stats().connecting()).as("%s", m.stats()).isZero();
    }
  }

  /**
   * Junk TLS parameters (unknown protocols and cipher suites, none at all) and any registered TLS
   * scheme: the handshake fails with "sslify" and the manager goes on.
   */
  @Property(tries = 30)
  void junkTlsParametersFailTheHandshakeOnly(
      @ForAll("tlsNames") List<String> protocols,
      @ForAll("tlsNames") List<String> suites,
      @ForAll boolean registerScheme) {
    SSLParameters p =
        new SSLParameters(suites.toArray(new String[0]), protocols.toArray(new String[0]));
    String scheme = registerScheme ? "x-secure" : "https";
    try (ConnectionManager m =
        ConnectionManager.builder().sslParameters(p).tlsScheme("X-Secure").build()) {
      AllocationResult r = answerOf(m, Allocation.to(scheme, "127.0.0.1", notTls.port()));
      assertThat(r.isSuccess()).as("%s", r).isFalse();
      assertThat(r.function()).as("%s", r).isEqualTo("sslify");
      assertWorks(m);
    }
  }

  @Provide
  Arbitrary<List<String>> tlsNames() {
    return Arbitraries.frequencyOf(
            Tuple.of(
                2,
                Arbitraries.of(
                    "TLSv1.3", "TLSv1.2", "TLS_AES_128_GCM_SHA256", "SSLv2Hello", "TLSv1")),
            Tuple.of(2, Arbitraries.strings().alpha().numeric().withChars("._-").ofMaxLength(20)))
        .list()
        .ofMaxSize(3);
  }

  // ---------------------------------------------------------------- the manager

  @Property(tries = 200)
  void managerCallsRejectBadArgumentsAndIgnoreUnknownIds(
      @ForAll long id, @ForAll("texts") String context) {
    rejects(() -> manager.allocate(null, r -> {}), "request");
    rejects(() -> manager.allocate(good, null), "event");
    rejects(() -> manager.allocate(null), "request");
    rejects(() -> manager.free(null), "connection");
    // ids are > 0 and no request of this manager is pending between tries
    assertThat(manager.deallocate(id)).isFalse();
    assertThat(manager.deallocate(Long.MIN_VALUE)).isFalse();
    assertThat(manager.deallocate(Long.MAX_VALUE)).isFalse();
    assertThat(manager.deallocate(0)).isFalse();
    // a callback that throws is the caller's problem: logged, answered once, nothing broken
    CompletableFuture<Connection> got = new CompletableFuture<>();
    AtomicInteger count = new AtomicInteger();
    long requestId = manager.allocate(good.context(context), r -> {
      count.incrementAndGet();
      got.complete(r.connection());
      throw new IllegalStateException("a callback that throws");
    });
    answers.put(new Request(manager, requestId), count);
    Connection c = get(got);
    try {
      assertThat(manager.deallocate(requestId)).as("an answered request").isFalse();
    } finally {
      manager.free(c);
    }
    manager.free(c); // idempotent
    assertThat(c.isOpen()).isFalse();
    assertWorks(manager);
  }

  @Property(tries = 20)
  void aForeignConnectionIsRejectedAndLeftAlone(@ForAll boolean discardAfter) throws Exception {
    try (ConnectionManager other = ConnectionManager.create()) {
      Connection foreign = get(other.allocate(good));
      rejects(() -> manager.free(foreign), "connection");
      assertThat(foreign.isOpen()).isTrue();
      if (discardAfter) {
        foreign.discard();
      } else {
        other.free(foreign);
      }
      assertThat(foreign.isOpen()).isFalse();
      rejects(() -> manager.free(foreign), "connection");
      assertWorks(other);
    }
    assertWorks(manager);
  }

  enum Late {
    ALLOCATE,
    ALLOCATE_CALLBACK,
    DEALLOCATE,
    STATS,
    FREE_HELD,
    SHUTDOWN,
    CLOSE
  }

  /**
   * After shutdown() (and after close()) allocate throws IllegalStateException, deallocate
   * answers false, shutdown and close may be repeated, and a connection still held can be given
   * back, in any order; pending requests were answered "shutdown" once.
   */
  @Property(tries = 40)
  @SuppressWarnings("try") // close() inside try-with-resources: closing twice must be harmless
  void afterShutdownEveryCallEitherWorksOrThrowsIllegalState(
      @ForAll("lateCalls") List<Late> calls, @ForAll long id) {
    try (HangingListener hang = new HangingListener();
        ConnectionManager m = ConnectionManager.create()) {
      Connection held = get(m.allocate(good));
      AllocationResult[] pending = new AllocationResult[1];
      CompletableFuture<AllocationResult> hanging = new CompletableFuture<>();
      AtomicInteger count = new AtomicInteger();
      long pendingId = m.allocate(Allocation.to("http", "127.0.0.1", hang.port()), r -> {
        count.incrementAndGet();
        hanging.complete(r);
      });
      answers.put(new Request(m, pendingId), count);
      m.shutdown();
      pending[0] = get(hanging);
      assertThat(pending[0].function()).isEqualTo("shutdown");
      boolean closed = false;
      for (Late call : calls) {
        switch (call) {
          case ALLOCATE ->
            assertThatThrownBy(() -> m.allocate(good)).isInstanceOf(IllegalStateException.class);
          case ALLOCATE_CALLBACK ->
            assertThatThrownBy(() -> m.allocate(good, r -> {}))
                .isInstanceOf(IllegalStateException.class);
          case DEALLOCATE -> {
            assertThat(m.deallocate(id)).isFalse();
            assertThat(m.deallocate(pendingId)).isFalse();
          }
          case STATS -> {
            PoolStats s = m.stats();
            assertThat(s.open()).isEqualTo(s.idle() + s.leased() + s.connecting());
            assertThat(s.idle()).isZero();
          }
          case FREE_HELD -> {
            if (!closed) {
              m.free(held);
            } else {
              held.close();
            }
            assertThat(held.isOpen()).isFalse();
          }
          case SHUTDOWN -> m.shutdown();
          case CLOSE -> {
            m.close();
            closed = true;
            assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
          }
          default -> throw new IllegalStateException();
        }
      }
      held.close();
      m.close();
      assertThat(held.isOpen()).isFalse();
      assertThat(m.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
      assertThatThrownBy(() -> m.allocate(good)).isInstanceOf(IllegalStateException.class);
    }
  }

  @Provide
  Arbitrary<List<Late>> lateCalls() {
    return Arbitraries.of(Late.class).list().ofMaxSize(8);
  }

  enum Misbehaviour {
    THROWS,
    RETURNS_NULL,
    FAILS,
    NULL_LIST,
    EMPTY_LIST,
    NULL_ELEMENT,
    NEVER,
    LATER,
    VALID
  }

  /** A misbehaving resolver fails its own requests ("resolve", or the timeout), nothing else. */
  @Property(tries = 30)
  void aMisbehavingResolverOnlyFailsItsOwnRequests(@ForAll Misbehaviour how) {
    Resolver resolver = host -> switch (how) {
      case THROWS -> throw new IllegalStateException("resolver bug");
      case RETURNS_NULL -> null;
      case FAILS -> CompletableFuture.failedFuture(new UnknownHostException(host));
      case NULL_LIST -> CompletableFuture.completedFuture(null);
      case EMPTY_LIST -> CompletableFuture.completedFuture(List.of());
      case NULL_ELEMENT ->
        CompletableFuture.completedFuture(Arrays.asList(InetAddress.getLoopbackAddress(), null));
      case NEVER -> new CompletableFuture<>();
      case LATER -> CompletableFuture.supplyAsync(() -> List.of(InetAddress.getLoopbackAddress()));
      case VALID -> CompletableFuture.completedFuture(List.of(InetAddress.getLoopbackAddress()));
    };
    try (ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
      AllocationResult r = answerOf(
          m,
          Allocation.to("http", "some.name.test", server.port()).timeout(Duration.ofMillis(300)));
      switch (how) {
        case VALID, LATER -> {
          assertThat(r.isSuccess()).as("%s", r).isTrue();
          r.connection().close();
        }
        case NEVER -> assertThat(r.errorNum()).isEqualTo(110);
        default -> assertThat(r.function()).as("%s", r).isEqualTo("resolve");
      }
      assertWorks(m); // literal addresses never reach the resolver
    }
  }

  /**
   * An address made only of control characters is not blank to {@link String#isBlank()}, so it
   * passes Allocation's check; it must then fail (or be rejected naming "addr"), never be
   * connected to some other host. (The pool key trims it to "", and the JDK resolver answers ""
   * with the loopback address.)
   */
  @Property(tries = 40)
  void anAddressOfControlCharactersIsNeverConnectedToLoopback(@ForAll("controlOnly") String addr) {
    try (ConnectionManager m =
        ConnectionManager.builder().resolver(Resolver.system()).build()) {
      Allocation a;
      try {
        a = Allocation.to("http", addr, server.port());
      } catch (IllegalArgumentException e) {
        assertThat(e.getMessage()).startsWith("addr ");
        return;
      }
      AllocationResult r = answerOf(m, a.timeout(Duration.ofSeconds(5)));
      if (r.isSuccess()) {
        Connection c = r.connection();
        String where = String.valueOf(c.remoteAddress());
        c.discard();
        throw new AssertionError("the address " + addr.chars().boxed().toList()
            + " (control characters only) was connected to " + where);
      }
      assertWorks(m);
    }
  }

  // ---------------------------------------------------------------- Connection

  enum Op {
    WRITE,
    WRITE_NULL,
    READ_TIMEOUT,
    START,
    START_NULL,
    READ_STREAM,
    READ_NULL_ARRAY,
    READ_BAD_RANGE,
    WRITE_STREAM,
    WRITE_BAD_RANGE,
    CHANNEL_READ,
    CHANNEL_WRITE,
    SHUTDOWN_OUTPUT,
    ACCESSORS,
    CLOSE,
    DISCARD,
    FREE
  }

  record Call(Op op, Duration duration, int size) {}

  @Provide
  Arbitrary<List<Call>> calls() {
    return Combinators.combine(
            Arbitraries.of(Op.class), durations(), Arbitraries.integers().between(0, 2048))
        .as(Call::new)
        .list()
        .ofMinSize(1)
        .ofMaxSize(12);
  }

  /**
   * Random calls on a connection, before and after its holder gave it back: each works, or
   * throws what its documentation says (IllegalArgumentException naming the argument; closed:
   * ClosedChannelException, a failed write future, IllegalStateException from start; the
   * InputStream/OutputStream contract's NullPointerException and IndexOutOfBoundsException).
   */
  @Property(tries = 150)
  void connectionCallsWorkOrThrowTheDocumentedException(@ForAll("calls") List<Call> calls)
      throws Exception {
    Allocation toSink = Allocation.to("http", "127.0.0.1", sink.port()); // reads and drops
    AllocationResult r = answerOf(manager, toSink);
    assertThat(r.isSuccess()).as("%s", r).isTrue();
    Connection c = r.connection();
    try {
      callAll(c, calls);
    } finally {
      c.discard(); // a no-op when a call gave it back already; never leaks a slot
    }
    assertThat(c.isOpen()).isFalse();
    assertWorks(manager);
  }

  private void callAll(Connection c, List<Call> calls) throws Exception {
    boolean done = false; // the holder closed, discarded or freed it
    boolean outputShut = false;
    for (Call call : calls) {
      switch (call.op()) {
        case WRITE -> {
          CompletableFuture<Void> f = c.write(ByteBuffer.wrap(new byte[call.size()]));
          Throwable t = catchThrowable(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS));
          if (done) {
            assertThat(t)
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(ClosedChannelException.class);
          } else if (outputShut && call.size() > 0) {
            assertThat(t)
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IOException.class);
          } else if (outputShut) {
            // nothing to write; after a failed write the stream is broken: closed
            assertThat(t == null || t.getCause() instanceof IOException)
                .as("%s", t)
                .isTrue();
          } else {
            assertThat(t).isNull();
          }
        }
        case WRITE_NULL -> rejects(() -> c.write(null), "src");
        case READ_TIMEOUT -> {
          Duration d = call.duration();
          if (d != null && d.isNegative()) {
            rejects(() -> c.readTimeout(d), "timeout");
          } else {
            assertThat(c.readTimeout(d)).isSameAs(c);
          }
        }
        case START -> {
          ConnectionHandler h = (conn, data) -> {};
          if (done) {
            assertThatThrownBy(() -> c.start(h)).isInstanceOf(IllegalStateException.class);
          } else {
            c.start(h);
          }
        }
        case START_NULL -> rejects(() -> c.start(null), "handler");
        case READ_STREAM -> {
          c.readTimeout(Duration.ofMillis(1));
          int[] n = new int[1];
          Throwable t = catchThrowable(() -> n[0] = c.inputStream().read(new byte[16]));
          // the sink never writes: nothing to read in time, or closed; once our output is shut
          // the sink closes its side too: end of stream
          if (done) {
            assertThat(t).isInstanceOf(ClosedChannelException.class);
          } else if (outputShut) {
            assertThat(t == null ? n[0] == -1 : t instanceof IOException)
                .as("%s", t)
                .isTrue();
          } else {
            assertThat(t).isInstanceOf(SocketTimeoutException.class);
          }
        }
        case READ_NULL_ARRAY ->
          assertThatThrownBy(() -> c.inputStream().read(null, 0, 1))
              .isInstanceOf(NullPointerException.class);
        case READ_BAD_RANGE ->
          assertThatThrownBy(() -> c.inputStream().read(new byte[4], 3, 5))
              .isInstanceOf(IndexOutOfBoundsException.class);
        case WRITE_STREAM -> {
          Throwable t = catchThrowable(() -> c.outputStream().write(new byte[call.size()]));
          if (call.size() == 0) {
            assertThat(t == null || t instanceof IOException).as("%s", t).isTrue();
          } else if (done || outputShut) {
            assertThat(t).isInstanceOf(IOException.class);
          } else {
            assertThat(t).isNull();
          }
        }
        case WRITE_BAD_RANGE ->
          assertThatThrownBy(() -> c.outputStream().write(new byte[4], -1, 2))
              .isInstanceOf(IndexOutOfBoundsException.class);
        case CHANNEL_READ -> {
          int[] n = new int[1];
          Throwable t = catchThrowable(() -> n[0] = c.channel().read(ByteBuffer.allocate(8)));
          if (done) {
            assertThat(t).isInstanceOf(ClosedChannelException.class);
          } else if (outputShut) {
            assertThat(t == null ? n[0] <= 0 : t instanceof IOException)
                .as("%s", t)
                .isTrue();
          } else {
            assertThat(t).isNull();
            assertThat(n[0]).isZero(); // non-blocking: nothing there
          }
        }
        case CHANNEL_WRITE -> {
          ByteBuffer one = ByteBuffer.wrap(new byte[] {'x'});
          Throwable t = catchThrowable(() -> c.channel().write(one));
          if (done) {
            assertThat(t).isInstanceOf(ClosedChannelException.class);
          } else if (outputShut) {
            assertThat(t).isInstanceOf(IOException.class);
          } else {
            assertThat(t).isNull();
          }
        }
        case SHUTDOWN_OUTPUT -> {
          if (done) {
            assertThatThrownBy(c::shutdownOutput).isInstanceOf(ClosedChannelException.class);
          } else {
            c.shutdownOutput();
            outputShut = true;
          }
        }
        case ACCESSORS -> {
          assertThat(c.scheme()).isEqualTo("http");
          assertThat(c.addr()).isEqualTo("127.0.0.1");
          assertThat(c.port()).isEqualTo(sink.port());
          assertThat(c.fromCache()).isIn((Object[]) FromCache.values());
          assertThat(c.sslSession()).isNull();
          assertThat(c.pendingWriteBytes()).isGreaterThanOrEqualTo(0);
          assertThat(c.isOpen()).isEqualTo(!done);
          c.localAddress();
          c.remoteAddress();
          assertThat(c.toString()).isNotNull();
        }
        case CLOSE -> {
          c.close();
          done = true;
        }
        case DISCARD -> {
          c.discard();
          done = true;
        }
        case FREE -> {
          manager.free(c);
          done = true;
        }
        default -> throw new IllegalStateException();
      }
    }
  }

  static AllocationException failureOf(CompletableFuture<Connection> f) {
    Throwable t = catchThrowable(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    assertThat(t)
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(AllocationException.class);
    return (AllocationException) t.getCause();
  }

  @Property(tries = 50)
  void theFutureStyleFailsWithAllocationException(@ForAll("ports") int port) {
    if (!isPort(port) || port == server.port()) {
      return;
    }
    CompletableFuture<Connection> f =
        manager.allocate(Allocation.to("http", "127.0.0.1", port).timeout(Duration.ofMillis(300)));
    Throwable t = catchThrowable(() -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    if (t == null) {
      f.join().close(); // something listens there
    } else {
      AllocationException e = failureOf(f);
      assertThat(e.function()).isEqualTo("connect");
      assertThat(e.result().isSuccess()).isFalse();
      assertThat(e.getMessage()).contains("127.0.0.1:" + port);
    }
    assertWorks(manager);
  }
}
