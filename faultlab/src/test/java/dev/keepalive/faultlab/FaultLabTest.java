package dev.keepalive.faultlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.CloseReason;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.ProxyServer;
import dev.keepalive.Resolver;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpException;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import dev.keepalive.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * keepalive against real nginx and tinyproxy in the network namespace of
 * {@code scripts/faultlab.sh}, under faults made by the kernel (nftables rules in the
 * namespace) and by killing or restarting the servers. Every scenario keeps the
 * {@link Invariants}; each prints a line of figures ("FAULTLAB ...") to its output and to
 * target/faultlab-figures.txt, which docs/RELIABILITY.md quotes. Runs only with KEEPALIVE_LAB=1
 * ({@code scripts/faultlab.sh test}); skipped otherwise.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultLabTest {
  /** Every request's deadline unless a scenario says otherwise. */
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  private Invariants invariants;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeAll
  static void warmUp() throws Exception {
    if (!Lab.enabled()) {
      return;
    }
    // what the JDK opens on first use and keeps (jars, the selector provider...): open already
    // when the first scenario takes its descriptor baseline
    Lab.clear();
    try (ConnectionManager m = ConnectionManager.create();
        HttpClient c = HttpClient.create(m)) {
      assertThat(c.sendBlocking(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))).status())
          .isEqualTo(200);
    }
  }

  @BeforeEach
  void begin() {
    Lab.assumeUp();
    Lab.clear();
    invariants = Invariants.begin();
  }

  @AfterEach
  void end() throws Exception {
    if (invariants == null) {
      return;
    }
    try {
      for (int i = toClose.size() - 1; i >= 0; i--) {
        toClose.get(i).close();
      }
    } finally {
      Lab.clear();
      Lab.run("start-nginx");
      Lab.run("start-proxy");
    }
    invariants.end();
  }

  private <T extends AutoCloseable> T closing(T t) {
    toClose.add(t);
    return t;
  }

  private ConnectionManager manager(ConnectionManager.Builder b) {
    return closing(b.build());
  }

  /**
   * A builder with {@code maxPerHost} sockets a host, kept idle for 60 s: as long as the test
   * runs, and less than nginx's 65 s, so that only the faults end them.
   */
  private static ConnectionManager.Builder keepingAlive(int maxPerHost) {
    return ConnectionManager.builder().maxPerHost(maxPerHost).keepAlive(Duration.ofSeconds(60));
  }

  private HttpClient client(ConnectionManager m) {
    return closing(HttpClient.builder(m).timeout(DEADLINE).build());
  }

  private static void report(String scenario, String figures) throws IOException {
    String line = "FAULTLAB " + scenario + ": " + figures;
    System.out.println(line);
    Path file = Path.of("target", "faultlab-figures.txt");
    Files.createDirectories(file.getParent());
    Files.writeString(
        file,
        line + System.lineSeparator(),
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  private static HttpException httpFailure(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(HttpException.class);
      return (HttpException) e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no answer within " + Await.LONG, e);
    }
    throw new AssertionError("expected a failure, got " + f.join());
  }

  /**
   * 2% of the packets lost in each direction and every packet from the client held 50 ms
   * (round trip + 50 ms): 4,000 GETs, 16 at a time, one in 50 of them a 64 KiB body: every one
   * succeeds with its whole body, and at least 99% are served on a reused connection. The
   * deadline is 30 s here: a lost SYN costs 1 s and a lost segment of a body at least 200 ms
   * more per retransmission, and a slow answer must not count as an error.
   */
  @Test
  @Order(1)
  void twoPercentLossAndFiftyMillisecondsDelayLoseNoRequestAndKeepReuse() throws Exception {
    Duration deadline = Duration.ofSeconds(30);
    ConnectionManager m = manager(keepingAlive(16).timeout(deadline));
    HttpClient client = closing(HttpClient.builder(m).timeout(deadline).build());
    Lab.fault("loss", "2");
    Lab.fault("delay", "50");
    Load load = new Load(client, invariants, 16, deadline)
        .run(i -> HttpRequest.get(Lab.url(Lab.ADDR_A, i % 50 == 49 ? "/64k.bin" : "/")), 4000);
    report("loss 2% + delay 50 ms", load.summary());
    assertThat(load.unexpected()).isEmpty();
    assertThat(load.failed()).as(load.summary()).isZero();
    assertThat(load.badBodies()).as(load.summary()).isZero();
    assertThat(load.ok()).isEqualTo(4000);
    assertThat(load.reuse()).as(load.summary()).isGreaterThanOrEqualTo(0.99);
  }

  /**
   * nginx stopped (SIGTERM: it closes every connection) and started again while GETs run 16 at a
   * time: every request is answered once, with a response or an HttpException; every request
   * sent after nginx is back succeeds, and the pool refills: among them at most two connections
   * per slot are NEW (one to refill the slot, one more for a retry on a socket that died with
   * the old nginx), the rest are reused.
   */
  @Test
  @Order(2)
  void serverRestartUnderLoadAnswersEveryRequestOnceAndThePoolRefills() throws Exception {
    ConnectionManager m = manager(keepingAlive(16).timeout(DEADLINE));
    HttpClient client = client(m);
    AtomicInteger answered = new AtomicInteger();
    AtomicInteger restartedAt = new AtomicInteger(Integer.MAX_VALUE); // first index sent after
    AtomicInteger sent = new AtomicInteger();
    AtomicInteger afterOk = new AtomicInteger();
    AtomicInteger afterFailed = new AtomicInteger();
    AtomicInteger afterNew = new AtomicInteger();
    AtomicReference<String> afterFailure = new AtomicReference<>();
    AtomicBoolean restartStarted = new AtomicBoolean();
    CompletableFuture<Void> restart = new CompletableFuture<>();
    Load load = new Load(client, invariants, 16, DEADLINE)
        .run(
            i -> {
              sent.set(i);
              if (i >= 500 && restartStarted.compareAndSet(false, true)) {
                // in the background, while the load goes on
                new Thread(() -> {
                      try {
                        Lab.run("restart-nginx", "0.5");
                        restartedAt.set(sent.get() + 1);
                        restart.complete(null);
                      } catch (Throwable t) {
                        restart.completeExceptionally(t);
                      }
                    })
                    .start();
              }
              return HttpRequest.get(Lab.url(Lab.ADDR_A, "/"));
            },
            () -> !restart.isDone() || afterOk.get() + afterFailed.get() < 1000,
            (index, resp, e) -> {
              answered.incrementAndGet();
              if (index >= restartedAt.get()) {
                if (e == null) {
                  afterOk.incrementAndGet();
                  if (resp.servedBy() == FromCache.NEW) {
                    afterNew.incrementAndGet();
                  }
                } else {
                  afterFailed.incrementAndGet();
                  afterFailure.compareAndSet(null, String.valueOf(e));
                }
              }
            });
    restart.get(1, TimeUnit.SECONDS); // done, and it did not fail
    report(
        "nginx restart under load",
        load.summary() + " after-restart: ok=" + afterOk + " failed=" + afterFailed + " NEW="
            + afterNew);
    assertThat(load.unexpected()).isEmpty();
    assertThat(load.badBodies()).isZero();
    assertThat(answered.get()).isEqualTo(invariants.requests());
    invariants.checkAnswers();
    assertThat(load.failuresByStage().keySet()).isSubsetOf("connect", "send", "receive");
    assertThat(afterFailed.get())
        .as("failures after the restart: " + afterFailure)
        .isZero();
    assertThat(afterOk.get()).isGreaterThanOrEqualTo(1000);
    assertThat(afterNew.get()).isLessThanOrEqualTo(2 * 16);
  }

  /**
   * A GET on a kept-alive connection, reset by the network (an RST from nftables) once 200,000
   * bytes of the 1 MiB response have passed (nginx sends it at 128 KiB/s, so the reset comes in
   * the middle): it fails with stage "receive", well before its deadline, and is not retried
   * (response bytes had arrived: no new connection is opened); the next GET gets a NEW
   * connection and succeeds.
   */
  @Test
  @Order(3)
  void aResetInTheMiddleOfAResponseFailsInReceiveWithoutRetry() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().timeout(DEADLINE));
    HttpClient client = client(m);
    HttpResponse first = client.sendBlocking(HttpRequest.get(Lab.url(Lab.ADDR_A, "/")));
    assertThat(first.servedBy()).isEqualTo(FromCache.NEW);
    Lab.fault("reset-after", "200000");
    long synsBefore = Lab.syns();
    long start = System.nanoTime();
    CompletableFuture<HttpResponse> big = invariants.track(
        client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/slow/big.bin"))), DEADLINE);
    HttpException e = httpFailure(big);
    double took = (System.nanoTime() - start) / 1e9;
    long synsAfter = Lab.syns();
    assertThat(e.stage()).as(e.toString()).isEqualTo("receive");
    assertThat(e.getMessage()).doesNotContain("timed out");
    assertThat(synsAfter)
        .as("connections opened for the failed GET (a retry)")
        .isEqualTo(synsBefore);
    HttpResponse next = invariants
        .track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))), DEADLINE)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(next.status()).isEqualTo(200);
    assertThat(next.servedBy()).isEqualTo(FromCache.NEW);
    Await.await().until(() -> m.stats().open() == 1);
    report(
        "reset mid-response",
        String.format(
            "failed after %.2fs (deadline %ds) stage=%s retried-connections=%d: %s; next GET %s",
            took,
            DEADLINE.toSeconds(),
            e.stage(),
            synsAfter - synsBefore,
            e.getMessage(),
            next.servedBy()));
  }

  /** The parts of an HTTP response read from a raw connection. */
  private record Head(int status, long contentLength) {}

  private static Head readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("end of stream in the response head");
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int status = Integer.parseInt(text.substring(9, 12));
    long length = -1;
    for (String line : text.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Long.parseLong(line.substring(15).strip());
      }
    }
    return new Head(status, length);
  }

  /** GET {@code path} on {@code c}; returns the status after reading the whole body. */
  private static int get(Connection c, String path) throws IOException {
    OutputStream out = c.outputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: " + Lab.ADDR_A + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    c.readTimeout(DEADLINE);
    InputStream in = c.inputStream();
    Head head = readHead(in);
    assertThat(in.readNBytes((int) head.contentLength())).hasSize((int) head.contentLength());
    return head.status();
  }

  private Connection tunnel(ConnectionManager m, Allocation target) throws Exception {
    return invariants
        .track(m.allocate(target), DEADLINE)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
  }

  /**
   * tinyproxy killed (SIGKILL) while a tunnel carries a response (the 1 MiB body at 128 KiB/s)
   * and while another tunnel sits idle in the pool: the reader sees the stream end early or an
   * IOException (a truncated body, never a hang), the idle tunnel is discarded by the idle
   * watch, neither is pooled; a tunnel asked for while the proxy is down fails "connect" 111;
   * once the proxy is back a new tunnel works and is reused.
   */
  @Test
  @Order(4)
  void aProxyKilledMidTunnelFailsClearlyAndANewTunnelWorksOnceItIsBack() throws Exception {
    ConnectionManager m = manager(ConnectionManager.builder().timeout(DEADLINE));
    Allocation target = Allocation.to("http", Lab.ADDR_A, Lab.HTTP_PORT)
        .via(ProxyServer.http(Lab.ADDR_A, Lab.PROXY_PORT));
    Connection idle = tunnel(m, target);
    Connection busy = tunnel(m, target);
    assertThat(idle.fromCache()).isEqualTo(FromCache.NEW);
    assertThat(busy.fromCache()).isEqualTo(FromCache.NEW);
    assertThat(get(idle, "/")).isEqualTo(200);
    idle.close();
    Await.await().until(() -> m.stats(target).idle() == 1);

    OutputStream out = busy.outputStream();
    out.write(("GET /slow/big.bin HTTP/1.1\r\nHost: " + Lab.ADDR_A + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    busy.readTimeout(DEADLINE);
    InputStream in = busy.inputStream();
    Head head = readHead(in);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.contentLength()).isEqualTo(Lab.BIG);
    long read = in.readNBytes(100_000).length;
    assertThat(read).isEqualTo(100_000);
    long start = System.nanoTime();
    Lab.run("kill-proxy");
    String ending;
    byte[] buffer = new byte[65536];
    try {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        read += n;
      }
      ending = "end of stream";
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the tunnel's reader waited until its read timeout", e);
    } catch (IOException e) {
      ending = e.toString();
    }
    double took = (System.nanoTime() - start) / 1e9;
    assertThat(read).as("body bytes read before the tunnel ended").isLessThan(Lab.BIG);
    busy.close();
    Await.await().until(() -> m.stats(target).open() == 0);

    // the proxy is down: a new tunnel cannot connect
    AtomicReference<AllocationResult> down = new AtomicReference<>();
    m.allocate(target, invariants.callback(DEADLINE, (AllocationResult r) -> down.set(r)));
    Await.await().until(() -> down.get() != null);
    assertThat(down.get().isSuccess()).isFalse();
    assertThat(down.get().function()).isEqualTo("connect");
    assertThat(down.get().errorNum()).isEqualTo(111);

    Lab.run("start-proxy");
    Connection again = tunnel(m, target);
    assertThat(again.fromCache()).isEqualTo(FromCache.NEW);
    assertThat(get(again, "/")).isEqualTo(200);
    again.close();
    Connection reused = tunnel(m, target);
    assertThat(reused.fromCache()).isEqualTo(FromCache.IMMEDIATE);
    assertThat(get(reused, "/")).isEqualTo(200);
    reused.close();
    report(
        "proxy killed mid-tunnel",
        String.format(
            "tunnel read %,d of %,d body bytes, ended %.2fs after the kill by %s; idle tunnel"
                + " discarded; while down: %s %d; after restart NEW then IMMEDIATE",
            read, Lab.BIG, took, ending, down.get().function(), down.get().errorNum()));
  }

  /**
   * Every packet of the pooled connections' flows dropped (a NAT or firewall that forgot them:
   * no FIN, no RST). With maxLifetime (6 s) the pool retires the stale sockets by age and a GET
   * is served on a NEW connection and succeeds. Without it, a GET and a POST that get the stale
   * socket wait for an answer that never comes: each fails at its deadline (3 s) with a timeout,
   * never later, and the next GET gets a NEW connection and succeeds.
   */
  @Test
  @Order(5)
  void silentlyDroppedIdleFlowsAreRetiredByLifetimeOrEndAtTheDeadline() throws Exception {
    // with a lifetime
    ConnectionManager withLifetime =
        manager(keepingAlive(4).maxLifetime(Duration.ofSeconds(6)).timeout(DEADLINE));
    HttpClient client = client(withLifetime);
    List<CompletableFuture<HttpResponse>> warm = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      warm.add(invariants.track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))), DEADLINE));
    }
    for (CompletableFuture<HttpResponse> f : warm) {
      assertThat(f.get(Await.LONG.toSeconds(), TimeUnit.SECONDS).status()).isEqualTo(200);
    }
    Await.await()
        .until(() -> withLifetime.stats().idle() >= 1 && withLifetime.stats().leased() == 0);
    // this manager's sockets are the process's only ones to port 80: every one of them pooled
    // (one may retire by age meanwhile on a very slow machine: then it is simply not listed)
    int pooled = withLifetime.stats().idle();
    List<Integer> ports = Invariants.ownConnectionsTo(Lab.HTTP_PORT);
    assertThat(ports).isNotEmpty().hasSizeLessThanOrEqualTo(pooled);
    Lab.dropFlows(ports);
    long dropped = System.nanoTime();
    Await.await().until(() -> withLifetime.stats().open() == 0);
    double retiredAfter = (System.nanoTime() - dropped) / 1e9;
    HttpResponse fresh = invariants
        .track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))), DEADLINE)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(fresh.status()).isEqualTo(200);
    assertThat(fresh.servedBy()).isEqualTo(FromCache.NEW);
    assertThat(Invariants.ownConnectionsTo(Lab.HTTP_PORT)).doesNotContainAnyElementsOf(ports);
    Lab.clear();
    client.close();
    withLifetime.close();
    Await.await().until(() -> Invariants.ownConnectionsTo(Lab.HTTP_PORT).isEmpty());

    // without: the request on a stale socket ends at its deadline
    Duration deadline = Duration.ofSeconds(3);
    ConnectionManager plain = manager(ConnectionManager.builder().maxPerHost(1).timeout(DEADLINE));
    HttpClient plainClient = closing(HttpClient.builder(plain).timeout(deadline).build());
    assertThat(
            plainClient.sendBlocking(HttpRequest.get(Lab.url(Lab.ADDR_B, "/"))).status())
        .isEqualTo(200);
    Await.await().until(() -> plain.stats().idle() == 1);
    List<Integer> stale = Invariants.ownConnectionsTo(Lab.HTTP_PORT);
    assertThat(stale).hasSize(1);
    Lab.dropFlows(stale);
    long start = System.nanoTime();
    HttpException getFailure = httpFailure(
        invariants.track(plainClient.send(HttpRequest.get(Lab.url(Lab.ADDR_B, "/"))), deadline));
    double getTook = (System.nanoTime() - start) / 1e9;
    assertThat(getFailure.getMessage()).contains("timed out");
    assertThat(getFailure.stage()).isEqualTo("receive");
    // the stale socket was discarded: the POST gets a NEW one, which works; make it stale too
    Await.await().until(() -> plain.stats().open() == 0);
    assertThat(
            plainClient.sendBlocking(HttpRequest.get(Lab.url(Lab.ADDR_B, "/"))).servedBy())
        .isEqualTo(FromCache.NEW);
    Await.await().until(() -> plain.stats().idle() == 1);
    List<Integer> stale2 = Invariants.ownConnectionsTo(Lab.HTTP_PORT);
    assertThat(stale2).hasSize(1).doesNotContainAnyElementsOf(stale);
    Lab.dropFlows(stale2);
    start = System.nanoTime();
    HttpException postFailure = httpFailure(invariants.track(
        plainClient.send(
            HttpRequest.post(Lab.url(Lab.ADDR_B, "/"), "x".getBytes(StandardCharsets.US_ASCII))),
        deadline));
    double postTook = (System.nanoTime() - start) / 1e9;
    assertThat(postFailure.getMessage()).contains("timed out");
    Await.await().until(() -> plain.stats().open() == 0);
    HttpResponse after = invariants
        .track(plainClient.send(HttpRequest.get(Lab.url(Lab.ADDR_B, "/"))), deadline)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.servedBy()).isEqualTo(FromCache.NEW);
    report(
        "idle flows silently dropped",
        String.format(
            "maxLifetime 6s: %d stale sockets retired %.1fs after the drop, next GET NEW 200;"
                + " no lifetime, deadline 3s: GET failed after %.1fs (%s: %s), POST after %.1fs"
                + " (%s), next GET NEW 200",
            ports.size(),
            retiredAfter,
            getTook,
            getFailure.stage(),
            getFailure.getMessage(),
            postTook,
            postFailure.stage()));
  }

  /**
   * Every SYN to one of nginx's two addresses dropped (a blackholed path: connects hang): a GET
   * to it fails at its deadline (2 s) with stage "connect", never later, while GETs to the other
   * address are served meanwhile; once the path is back, the first address works. (Happy
   * Eyeballs over a name with both addresses: order 7.)
   */
  @Test
  @Order(6)
  void aBlackholedAddressTimesOutAtTheDeadlineWhileTheOtherIsServed() throws Exception {
    Duration deadline = Duration.ofSeconds(2);
    ConnectionManager m = manager(ConnectionManager.builder().timeout(DEADLINE));
    HttpClient client = closing(HttpClient.builder(m).timeout(deadline).build());
    Lab.fault("blackhole", Lab.ADDR_B);
    long start = System.nanoTime();
    CompletableFuture<HttpResponse> hanging =
        invariants.track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_B, "/"))), deadline);
    int servedMeanwhile = 0;
    while (!hanging.isDone()) {
      HttpResponse r = invariants
          .track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))), deadline)
          .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      servedMeanwhile++;
    }
    HttpException e = httpFailure(hanging);
    double took = (System.nanoTime() - start) / 1e9;
    assertThat(e.stage()).as(e.toString()).isEqualTo("connect");
    assertThat(e.getMessage()).contains("timed out");
    assertThat(servedMeanwhile).isPositive();
    Lab.clear();
    HttpResponse back = invariants
        .track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_B, "/"))), deadline)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(back.status()).isEqualTo(200);
    report(
        "SYNs to one address dropped",
        String.format(
            "GET to the blackholed address failed after %.2fs (deadline 2s, %s: %s); %d GETs to"
                + " the other served meanwhile; after clear: %s 200",
            took, e.stage(), e.getMessage(), servedMeanwhile, back.servedBy()));
  }

  /**
   * Every SYN to 10.77.0.2 dropped, and a name ("lab.test", through a resolver) answering both
   * of nginx's addresses, the blackholed one first: with the default connectAttemptDelay (250 ms)
   * Happy Eyeballs starts a connect to 10.77.0.3 while the first still hangs, and every GET
   * succeeds (deadline 2 s: none waits it out, or it would fail); the connections opened go to
   * 10.77.0.3.
   */
  @Test
  @Order(7)
  void happyEyeballsConnectsThroughTheOtherAddressWhenSynsToTheFirstAreDropped() throws Exception {
    Duration deadline = Duration.ofSeconds(2);
    InetAddress blackholed = InetAddress.getByName(Lab.ADDR_A);
    InetAddress other = InetAddress.getByName(Lab.ADDR_B);
    Resolver both = host -> CompletableFuture.completedFuture(List.of(blackholed, other));
    ConnectionManager m = manager(keepingAlive(4).resolver(both).timeout(deadline));
    HttpClient client = closing(HttpClient.builder(m).timeout(deadline).build());
    Lab.fault("blackhole", Lab.ADDR_A);
    String url = Lab.url("lab.test", "/");
    long start = System.nanoTime();
    HttpResponse first = invariants
        .track(client.send(HttpRequest.get(url)), deadline)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    double firstTook = (System.nanoTime() - start) / 1e9;
    assertThat(first.status()).isEqualTo(200);
    assertThat(first.servedBy()).isEqualTo(FromCache.NEW);
    Load load = new Load(client, invariants, 4, deadline).run(i -> HttpRequest.get(url), 400);
    assertThat(load.unexpected()).isEmpty();
    assertThat(load.failed()).as(load.summary()).isZero();
    assertThat(load.ok()).isEqualTo(400);
    assertThat(load.served(FromCache.NEW)).as(load.summary()).isBetween(1, 4);
    // the sockets the GETs used (and any opened now): every one connected to the other address
    Await.await().until(() -> m.stats().leased() == 0);
    Allocation target = Allocation.to("http", "lab.test", Lab.HTTP_PORT);
    List<Connection> held = new ArrayList<>();
    List<String> remotes = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Connection c = tunnel(m, target);
      held.add(c);
      remotes.add(c.fromCache() + " " + c.remoteAddress());
      assertThat(c.remoteAddress().getAddress()).as(remotes.toString()).isEqualTo(other);
    }
    held.forEach(Connection::close);
    long syns = Lab.syns();
    report(
        "SYNs to one of two addresses dropped, Happy Eyeballs",
        String.format(
            "first GET NEW 200 after %.2fs (attempt delay 250 ms, deadline 2s); %s; SYNs sent"
                + " (both addresses, retransmissions included) %d; connections: %s",
            firstTook, load.summary(), syns, remotes));
  }

  /**
   * Every packet of the pooled connections' flows dropped (as in order 5), with TCP keepalive on
   * (idle 1 s, interval 1 s, 2 probes): the kernel's probes go unanswered, it ends the sockets,
   * and the pool closes them with no request sent; then a GET and a POST are served on NEW
   * connections and succeed.
   */
  @Test
  @Order(8)
  void tcpKeepAliveFindsSilentlyDroppedIdleFlowsBeforeARequestPaysForThem() throws Exception {
    ConnectionManager m = manager(keepingAlive(4)
        .tcpKeepAlive(Duration.ofSeconds(1), Duration.ofSeconds(1), 2)
        .timeout(DEADLINE));
    HttpClient client = client(m);
    List<Integer> stale = warmThenDrop(m, 4);
    long dropped = System.nanoTime();
    Await.await().until(() -> m.stats().open() == 0);
    double foundAfter = (System.nanoTime() - dropped) / 1e9;
    HttpResponse get = invariants
        .track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))), DEADLINE)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(get.status()).isEqualTo(200);
    assertThat(get.servedBy()).isEqualTo(FromCache.NEW);
    HttpResponse post = invariants
        .track(
            client.send(HttpRequest.post(
                Lab.url(Lab.ADDR_A, "/post"), "x".getBytes(StandardCharsets.US_ASCII))),
            DEADLINE)
        .get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(post.status()).isEqualTo(200);
    assertThat(post.servedBy()).isIn(FromCache.NEW, FromCache.IMMEDIATE);
    assertThat(Invariants.ownConnectionsTo(Lab.HTTP_PORT)).doesNotContainAnyElementsOf(stale);
    // the kernel ended them with ETIMEDOUT: an error, not the peer closing them
    assertThat(m.totals().closed(CloseReason.ERROR)).isEqualTo(stale.size());
    report(
        "idle flows silently dropped, TCP keepalive 1s/1s/2",
        String.format(
            "%d stale sockets closed by the pool %.1fs after the drop (closed ERROR=%d"
                + " PEER_CLOSED=%d), no request sent on them; next GET %s %d, POST %s %d",
            stale.size(),
            foundAfter,
            m.totals().closed(CloseReason.ERROR),
            m.totals().closed(CloseReason.PEER_CLOSED),
            get.servedBy(),
            get.status(),
            post.servedBy(),
            post.status()));
  }

  /**
   * The same fault with an idle health check instead (an HTTP HEAD over the lent connection,
   * its answer awaited 1 s at most; every socket taken from the pool is checked): a GET and a POST sent together each get a stale socket,
   * its check hears nothing and fails, the socket is closed (HEALTH_CHECK_FAILED), and each is
   * served again on a NEW connection and succeeds, well within its deadline (3 s).
   */
  @Test
  @Order(9)
  void anIdleHealthCheckFindsSilentlyDroppedFlowsAndTheRequestsGoToNewConnections()
      throws Exception {
    Duration deadline = Duration.ofSeconds(3);
    ConnectionManager m = manager(
        keepingAlive(2).healthCheck(Duration.ZERO, FaultLabTest::headCheck).timeout(deadline));
    HttpClient client = closing(HttpClient.builder(m).timeout(deadline).build());
    List<Integer> stale = warmThenDrop(m, 2);
    long start = System.nanoTime();
    CompletableFuture<HttpResponse> post = invariants.track(
        client.send(HttpRequest.post(
            Lab.url(Lab.ADDR_A, "/post"), "x".getBytes(StandardCharsets.US_ASCII))),
        deadline);
    CompletableFuture<HttpResponse> get =
        invariants.track(client.send(HttpRequest.get(Lab.url(Lab.ADDR_A, "/"))), deadline);
    HttpResponse postResponse = post.get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    HttpResponse getResponse = get.get(Await.LONG.toSeconds(), TimeUnit.SECONDS);
    double took = (System.nanoTime() - start) / 1e9;
    assertThat(postResponse.status()).isEqualTo(200);
    assertThat(getResponse.status()).isEqualTo(200);
    assertThat(postResponse.servedBy()).isIn(FromCache.NEW, FromCache.DEFERRED);
    assertThat(getResponse.servedBy()).isIn(FromCache.NEW, FromCache.DEFERRED);
    assertThat(m.totals().closed(CloseReason.HEALTH_CHECK_FAILED)).isEqualTo(stale.size());
    assertThat(Invariants.ownConnectionsTo(Lab.HTTP_PORT)).doesNotContainAnyElementsOf(stale);
    report(
        "idle flows silently dropped, HEAD health check (1s bound)",
        String.format(
            "%d stale sockets failed the check (HEALTH_CHECK_FAILED=%d); POST %s %d and GET %s"
                + " %d answered %.2fs after they were sent (deadline 3s)",
            stale.size(),
            m.totals().closed(CloseReason.HEALTH_CHECK_FAILED),
            postResponse.servedBy(),
            postResponse.status(),
            getResponse.servedBy(),
            getResponse.status(),
            took));
  }

  /**
   * Opens {@code sockets} connections to nginx at once through {@code m} (held together, so each
   * is NEW), sends a GET on each, gives them back, waits until they are all idle in the pool,
   * then drops their flows silently; returns their local ports.
   */
  private List<Integer> warmThenDrop(ConnectionManager m, int sockets) throws Exception {
    Allocation target = Allocation.to("http", Lab.ADDR_A, Lab.HTTP_PORT);
    List<Connection> held = new ArrayList<>();
    for (int i = 0; i < sockets; i++) {
      Connection c = tunnel(m, target);
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      held.add(c);
    }
    for (Connection c : held) {
      assertThat(get(c, "/")).isEqualTo(200);
      c.close();
    }
    Await.await().until(() -> m.stats().idle() == sockets);
    List<Integer> ports = Invariants.ownConnectionsTo(Lab.HTTP_PORT);
    assertThat(ports).hasSize(sockets);
    Lab.dropFlows(ports);
    return ports;
  }

  /**
   * An HTTP health check: "HEAD /" over the lent connection; healthy when the whole response
   * head (a 200) arrives within 1 s and nothing more.
   */
  private static CompletableFuture<Boolean> headCheck(Connection connection) {
    CompletableFuture<Boolean> healthy = new CompletableFuture<>();
    StringBuilder head = new StringBuilder();
    connection.start(new ConnectionHandler() {
      @Override
      public void onInput(Connection c, ByteBuffer data) {
        while (data.hasRemaining() && !healthy.isDone()) {
          head.append((char) (data.get() & 0xff));
          if (head.length() >= 4 && head.lastIndexOf("\r\n\r\n") == head.length() - 4) {
            healthy.complete(head.toString().startsWith("HTTP/1.1 200") && !data.hasRemaining());
          }
        }
        if (data.hasRemaining()) {
          healthy.complete(false);
        }
      }

      @Override
      public void onEof(Connection c) {
        healthy.complete(false);
      }

      @Override
      public void onError(Connection c, IOException e) {
        healthy.complete(false);
      }
    });
    connection.write(ByteBuffer.wrap(("HEAD / HTTP/1.1\r\nHost: " + Lab.ADDR_A + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII)));
    return healthy.completeOnTimeout(false, 1, TimeUnit.SECONDS);
  }
}
