package dev.keepalive;

import static dev.keepalive.testing.Managers.EMPTY;
import static dev.keepalive.testing.Managers.ascii;
import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.assertReused;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.EchoServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TestCertificates.Identity;
import dev.keepalive.testkit.TlsClientHello;
import dev.keepalive.testkit.TlsReferenceClient;
import dev.keepalive.testkit.TlsServer;
import dev.keepalive.testkit.TlsServer.Behaviour;
import dev.keepalive.testkit.TlsServer.Ending;
import dev.keepalive.testkit.TlsServer.Peer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.WritePendingException;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TLS schemes against JSSE servers on 127.0.0.1 with certificates generated at test time
 * ({@link TestCertificates}): the secure defaults (verification, SNI, protocols), every way a
 * handshake fails ("sslify", leaking nothing), the request timeout and deallocate() during the
 * handshake, pooling of TLS sockets (reuse, session tickets, close_notify, buffered plaintext,
 * http/https separation, close_notify on discard), resumption, the new Connection members
 * (sslSession, readTimeout, write backpressure) and byte round trips through every I/O style.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsTest {
  private static final TestCertificates FIX = TestCertificates.get();

  /** Maps "localhost" to 127.0.0.1 only (the test servers listen there). */
  private static Resolver localhostResolver() {
    return TestResolver.answering(Map.of("localhost", List.of(Loopback.ipv4())));
  }

  /** A manager that trusts the test CA and resolves localhost to 127.0.0.1. */
  private static ConnectionManager.Builder trusting() {
    return ConnectionManager.builder()
        .sslContext(FIX.clientContext())
        .resolver(localhostResolver());
  }

  private static Allocation https(String host, TlsServer server) {
    return Allocation.to("https", host, server.port());
  }

  /** {@code server}, a manager that trusts it, and https to it. */
  private static ServerRig<TlsServer> trusting(TlsServer server) {
    return ServerRig.https(server, () -> trusting().build());
  }

  private static Allocation https(TlsServer server) {
    return https("127.0.0.1", server);
  }

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Writes {@code text} with the blocking stream and reads its echo back the same way. */
  private static void echoThroughStreams(Connection c, String text) throws IOException {
    OutputStream out = c.outputStream();
    out.write(ascii(text));
    out.flush();
    byte[] back = c.inputStream().readNBytes(text.length());
    assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo(text);
  }

  /** The server's side of {@code c}. */
  private static Peer peerOf(TlsServer server, Connection c) {
    return server.peerOf(c.localAddress().getPort());
  }

  /** Asserts the sslify result the contract gives for a failed handshake. */
  private static void assertSslify(AllocationResult r, String expectedError) {
    assertThat(r.isSuccess()).isFalse();
    assertThat(r.connection()).isNull();
    assertThat(r.fromCache()).isNull();
    assertThat(r.function()).isEqualTo("sslify");
    assertThat(r.errorNum()).isNull();
    if (expectedError == null) {
      assertThat(r.errorStr()).isNotBlank();
    } else {
      assertThat(r.errorStr()).isEqualTo(expectedError);
    }
  }

  // ---------------------------------------------------------------- secure defaults

  @Test
  void httpsToAHostNameVerifiesItSendsSniAndExposesTheSession() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = trusting().build()) {
      Connection c = get(m.allocate(https("localhost", server)));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c.scheme()).isEqualTo("https");
      assertThat(c.addr()).isEqualTo("localhost");
      SSLSession s = c.sslSession();
      assertThat(s).isNotNull();
      assertThat(s.isValid()).isTrue();
      assertThat(s.getProtocol()).isEqualTo("TLSv1.3");
      assertThat(s.getPeerHost())
          .as("the engine is made with the peer's host")
          .isEqualTo("localhost");
      assertThat(s.getPeerPort()).as("and port").isEqualTo(server.port());
      Certificate[] chain = s.getPeerCertificates();
      assertThat(chain[0]).isEqualTo(FIX.certificate(Identity.LOCALHOST));

      Peer peer = peerOf(server, c);
      within(peer.handshake());
      assertThat(peer.requestedServerNames()).containsExactly(new SNIHostName("localhost"));
      echoThroughStreams(c, "over tls");
      c.close();
    }
  }

  @Test
  void httpsToAnIpLiteralMatchesTheIpSanAndSendsNoSni() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = trusting().resolver(TestResolver.forbidden()).build()) {
      Connection c = get(m.allocate(https("127.0.0.1", server)));
      SSLSession s = c.sslSession();
      assertThat(s).isNotNull();
      assertThat(s.getPeerHost()).isEqualTo("127.0.0.1");
      assertThat(s.getPeerPort()).isEqualTo(server.port());
      Peer peer = peerOf(server, c);
      within(peer.handshake());
      assertThat(peer.requestedServerNames()).as("no SNI for an IP literal").isEmpty();
      echoThroughStreams(c, "ip san");
      c.close();
    }
  }

  /** What the ClientHello offers by default, read off the wire by a server that never answers. */
  @ParameterizedTest
  @ValueSource(strings = {"localhost", "127.0.0.1"})
  void theDefaultClientHelloOffersTls13And12OnlyAndSniForHostNamesOnly(String host)
      throws Exception {
    try (TlsServer silent = TlsServer.builder().behaviour(Behaviour.SILENT).build();
        ConnectionManager m = trusting().build()) {
      ResultRecorder rec = new ResultRecorder();
      long id = m.allocate(https(host, silent), rec);
      AtomicReference<TlsClientHello> hello = new AtomicReference<>();
      await().ignoreException(IllegalArgumentException.class).until(() -> {
        List<Peer> peers = silent.peers();
        if (peers.isEmpty()) {
          return false;
        }
        hello.set(TlsClientHello.parse(peers.get(0).rawPrefix()));
        return true;
      });
      assertThat(hello.get().supportedVersions()).containsExactly("TLSv1.3", "TLSv1.2");
      if (host.equals("localhost")) {
        assertThat(hello.get().serverName()).contains("localhost");
      } else {
        assertThat(hello.get().serverName()).isEmpty();
      }
      assertThat(m.deallocate(id)).isTrue();
      awaitStats(m, EMPTY);
      m.close();
      assertThat(rec.all()).isEmpty();
    }
  }

  @Test
  void plainConnectionsHaveNoSslSession() throws Exception {
    try (EchoServer echo = new EchoServer();
        ConnectionManager m = trusting().build()) {
      Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", echo.port())));
      assertThat(c.sslSession()).isNull();
      c.close();
    }
  }

  @Test
  void tlsSchemeWrapsOtherSchemesAndOnlyThose() throws Exception {
    try (TlsServer tls = TlsServer.echo();
        EchoServer plain = new EchoServer();
        ConnectionManager wss = trusting().tlsScheme("wss").build();
        ConnectionManager other = trusting().build()) {
      Connection c = get(wss.allocate(Allocation.to("wss", "localhost", tls.port())));
      assertThat(c.sslSession()).isNotNull();
      assertThat(c.scheme()).isEqualTo("wss");
      echoThroughStreams(c, "web socket over tls");
      c.close();
      assertNextServed(wss, Allocation.to("wss", "localhost", tls.port()), FromCache.IMMEDIATE);

      // "https" stays TLS when other schemes are added
      Connection h = get(wss.allocate(https(tls)));
      assertThat(h.sslSession()).isNotNull();
      h.close();

      // a manager that did not register "wss" speaks plain TCP for it
      Connection p = get(other.allocate(Allocation.to("wss", "127.0.0.1", plain.port())));
      assertThat(p.sslSession()).isNull();
      echoThroughStreams(p, "plain");
      p.close();
    }
  }

  @Test
  void sslParametersReplaceTheDefaultsButSniIsStillSet() throws Exception {
    SSLContext ctx = FIX.clientContext();
    SSLParameters onlyTls12NoVerification = ctx.getDefaultSSLParameters();
    onlyTls12NoVerification.setProtocols(new String[] {"TLSv1.2"});
    onlyTls12NoVerification.setEndpointIdentificationAlgorithm(null);
    try (TlsServer wrongName = TlsServer.builder().identity(Identity.WRONG_HOST).build();
        TlsServer tls13Only = TlsServer.builder().protocols("TLSv1.3").build();
        ConnectionManager m = ConnectionManager.builder()
            .sslContext(ctx)
            .sslParameters(onlyTls12NoVerification)
            .resolver(localhostResolver())
            .build()) {
      // no host name verification: the wrong name is accepted; TLS 1.2 as asked
      Connection c = get(m.allocate(https("localhost", wrongName)));
      assertThat(c.sslSession().getProtocol()).isEqualTo("TLSv1.2");
      Peer peer = peerOf(wrongName, c);
      within(peer.handshake());
      assertThat(peer.requestedServerNames())
          .as("parameters that name no server still get SNI")
          .containsExactly(new SNIHostName("localhost"));
      echoThroughStreams(c, "unverified");
      c.close();

      // a protocol the server does not speak: the handshake fails with the SSL error
      SSLParameters reference = ctx.getDefaultSSLParameters();
      reference.setProtocols(new String[] {"TLSv1.2"});
      String expected = TlsReferenceClient.handshakeError(
          FIX.clientContext(), reference, "127.0.0.1", tls13Only.port());
      assertSslify(failureOf(m.allocate(https(tls13Only))).result(), expected);
      awaitStats(m, new PoolStats(1, 1, 0, 0, 0));
    }
    // the manager's default parameters do verify that same server's name
    try (TlsServer wrongName = TlsServer.builder().identity(Identity.WRONG_HOST).build();
        ConnectionManager m = trusting().build()) {
      AllocationException e = failureOf(m.allocate(https("localhost", wrongName)));
      assertThat(e.function()).isEqualTo("sslify");
    }
  }

  // ---------------------------------------------------------------- failed handshakes

  @ParameterizedTest(name = "{0} certificate, https://{1}")
  @CsvSource({
    "UNTRUSTED,  127.0.0.1",
    "UNTRUSTED,  localhost",
    "WRONG_HOST, localhost",
    "WRONG_HOST, 127.0.0.1",
    "EXPIRED,    localhost"
  })
  void aCertificateThatFailsVerificationAnswersSslify(Identity identity, String host)
      throws Exception {
    try (TlsServer server = TlsServer.builder().identity(identity).build();
        ConnectionManager m = trusting().build()) {
      SSLContext ctx = FIX.clientContext();
      String expected = TlsReferenceClient.handshakeError(
          ctx, TlsReferenceClient.defaultParameters(ctx, host), host, server.port());

      ResultRecorder rec = new ResultRecorder();
      long id = m.allocate(https(host, server).context("ctx"), rec);
      AllocationResult r = rec.next();
      assertThat(r.requestId()).isEqualTo(id);
      assertThat(r.context()).isEqualTo("ctx");
      assertThat(r.scheme()).isEqualTo("https");
      assertSslify(r, expected);
      assertThat(rec.threads()).doesNotContain(Thread.currentThread());

      AllocationException e = failureOf(m.allocate(https(host, server)));
      assertSslify(e.result(), expected);
      assertThat(e.function()).isEqualTo("sslify");
      assertThat(e.errorNum()).isNull();
      assertThat(e.errorStr()).isEqualTo(expected);

      awaitStats(m, EMPTY);
      // the server saw the client give up (its side ends), for all three connections
      for (Peer p : server.peers()) {
        within(p.ended());
      }
      assertThat(rec.all()).hasSize(1);
    }
  }

  @Test
  void theDefaultSslContextDoesNotTrustTheTestCa() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = ConnectionManager.create()) {
      SSLContext ctx = SSLContext.getDefault();
      String expected = TlsReferenceClient.handshakeError(
          ctx, TlsReferenceClient.defaultParameters(ctx, "127.0.0.1"), "127.0.0.1", server.port());
      assertSslify(failureOf(m.allocate(https(server))).result(), expected);
      awaitStats(m, EMPTY);
    }
  }

  @Test
  void aServerLimitedToTls11AnswersSslify() throws Exception {
    try (TlsServer old = TlsServer.builder().protocols("TLSv1.1").build();
        ConnectionManager m = trusting().build()) {
      AllocationException e = failureOf(m.allocate(https(old)));
      assertSslify(e.result(), null);
      awaitStats(m, EMPTY);
      within(old.peers().get(0).ended());
      assertThat(old.handshakesCompleted()).isZero();
    }
  }

  @Test
  void aPlainServerAnsweringGarbageAnswersSslify() throws Exception {
    try (TlsServer garbage = TlsServer.builder().behaviour(Behaviour.GARBAGE).build();
        ConnectionManager m = trusting().build()) {
      SSLContext ctx = FIX.clientContext();
      String expected = TlsReferenceClient.handshakeError(
          ctx, TlsReferenceClient.defaultParameters(ctx, "127.0.0.1"), "127.0.0.1", garbage.port());
      AllocationException e = failureOf(m.allocate(https(garbage)));
      assertSslify(e.result(), expected);
      awaitStats(m, EMPTY);
      // the socket was closed: the server reads to its end
      for (Peer p : garbage.peers()) {
        within(p.ended());
      }
    }
  }

  @Test
  void aPeerClosingDuringTheHandshakeAnswersSslify() throws Exception {
    try (TlsServer closing =
            TlsServer.builder().behaviour(Behaviour.CLOSE_ON_CLIENT_HELLO).build();
        ConnectionManager m = trusting().build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(https(closing), rec);
      assertSslify(rec.next(), null);
      assertSslify(failureOf(m.allocate(https("localhost", closing))).result(), null);
      awaitStats(m, EMPTY);
      assertThat(rec.all()).hasSize(1);
    }
  }

  @Test
  void failedAndCancelledHandshakesLeakNoDescriptor() throws Exception {
    failureRound(); // warm-up: loads every class and opens every jar first
    int baseline = Descriptors.count();
    failureRound();
    await().until(() -> Descriptors.count() <= baseline);
  }

  /** Every kind of failure and a few successes, on one manager; everything closed at the end. */
  private static void failureRound() throws Exception {
    try (TlsServer untrusted = TlsServer.builder().identity(Identity.UNTRUSTED).build();
        TlsServer wrongName = TlsServer.builder().identity(Identity.WRONG_HOST).build();
        TlsServer garbage = TlsServer.builder().behaviour(Behaviour.GARBAGE).build();
        TlsServer closing =
            TlsServer.builder().behaviour(Behaviour.CLOSE_ON_CLIENT_HELLO).build();
        TlsServer old = TlsServer.builder().protocols("TLSv1.1").build();
        TlsServer silent = TlsServer.builder().behaviour(Behaviour.SILENT).build();
        TlsServer echo = TlsServer.echo()) {
      ConnectionManager m = trusting().maxPerHost(8).build();
      try {
        for (TlsServer s : List.of(untrusted, garbage, closing, old)) {
          assertThat(failureOf(m.allocate(https(s))).function()).isEqualTo("sslify");
        }
        assertThat(failureOf(m.allocate(https("localhost", wrongName))).function())
            .isEqualTo("sslify");
        AllocationException timedOut =
            failureOf(m.allocate(https(silent).timeout(Duration.ofMillis(200))));
        assertThat(timedOut.function()).isEqualTo("connect");
        CompletableFuture<Connection> cancelled = m.allocate(https(silent));
        await().until(() -> silent.acceptedCount() == 2);
        assertThat(cancelled.cancel(true)).isTrue();
        Connection pooled = get(m.allocate(https(echo)));
        Connection discarded = get(m.allocate(https(echo)));
        Connection leased = get(m.allocate(https(echo)));
        echoThroughStreams(pooled, "a");
        pooled.close();
        discarded.discard();
        awaitStats(m, new PoolStats(2, 1, 1, 0, 0));
        m.close(); // closes the leased one too
        assertThat(leased.isOpen()).isFalse();
        assertThat(m.stats()).isEqualTo(EMPTY);
        for (TlsServer s : List.of(untrusted, wrongName, garbage, silent, echo)) {
          for (Peer p : s.peers()) {
            within(p.ended());
          }
        }
      } finally {
        m.close();
      }
    }
  }

  // ---------------------------------------------------------------- timeout and cancel

  @Test
  void theRequestTimeoutCoversTheHandshake() throws Exception {
    try (TlsServer silent = TlsServer.builder().behaviour(Behaviour.SILENT).build();
        ConnectionManager m = trusting().timeout(Duration.ofMillis(300)).build()) {
      // the manager's timeout, callback style
      ResultRecorder rec = new ResultRecorder();
      m.allocate(https(silent), rec);
      AllocationResult r = rec.next();
      assertThat(r.isSuccess()).isFalse();
      assertThat(r.function()).isEqualTo("connect");
      assertThat(r.errorNum()).isEqualTo(110);
      assertThat(r.errorStr()).isEqualTo("Connection timed out");
      assertThat(r.connection()).isNull();
      await().until(() -> silent.acceptedCount() == 1);
      Peer first = silent.peers().get(0);
      await().until(() -> first.rawReceived() > 0); // the ClientHello was sent, never answered
      within(first.ended()); // the socket was closed

      // the request's own timeout, future style
      AllocationException e =
          failureOf(m.allocate(https("localhost", silent).timeout(Duration.ofMillis(200))));
      assertThat(e.function()).isEqualTo("connect");
      assertThat(e.errorNum()).isEqualTo(110);
      assertThat(e.errorStr()).isEqualTo("Connection timed out");
      awaitStats(m, EMPTY);
      await().until(() -> silent.acceptedCount() == 2);
      within(silent.peers().get(1).ended());
      assertThat(rec.all()).hasSize(1);
    }
  }

  @Test
  void deallocateDuringTheHandshakeCancelsIt() throws Exception {
    try (TlsServer silent = TlsServer.builder().behaviour(Behaviour.SILENT).build();
        TlsServer echo = TlsServer.echo();
        ConnectionManager m = trusting().maxOpen(1).build()) {
      AtomicInteger called = new AtomicInteger();
      long id = m.allocate(https(silent), r -> called.incrementAndGet());
      // the ClientHello arrived: the request is in its handshake
      await().until(() -> silent.acceptedCount() == 1 && silent.peers().get(0).rawReceived() > 0);
      awaitStats(m, new PoolStats(1, 0, 0, 1, 0));
      CompletableFuture<Connection> queued = m.allocate(https(echo)); // waits for the only slot
      await().until(() -> m.stats().pending() == 1);
      assertThat(m.deallocate(id)).isTrue();
      assertThat(m.deallocate(id)).isFalse();
      Connection c = get(queued); // the slot was released
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      within(silent.peers().get(0).ended()); // the socket was closed
      c.discard();
      awaitStats(m, EMPTY);

      // future style: cancel() deallocates
      CompletableFuture<Connection> f = m.allocate(https(silent));
      await().until(() -> silent.acceptedCount() == 2 && silent.peers().get(1).rawReceived() > 0);
      assertThat(f.cancel(true)).isTrue();
      assertThat(f.isCancelled()).isTrue();
      awaitStats(m, EMPTY);
      within(silent.peers().get(1).ended());
      m.close();
      assertThat(called.get()).isZero();
    }
  }

  // ---------------------------------------------------------------- pooling

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void aTlsSocketIsReusedNewThenImmediate(String protocol) throws Exception {
    try (TlsServer server = TlsServer.builder().protocols(protocol).build();
        ConnectionManager m = trusting().build()) {
      Allocation a = https("localhost", server);
      Connection c1 = get(m.allocate(a));
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c1.sslSession().getProtocol()).isEqualTo(protocol);
      byte[] sessionId = c1.sslSession().getId();
      int port = c1.localAddress().getPort();
      echoThroughStreams(c1, "first");
      c1.close();
      awaitStats(m, new PoolStats(1, 1, 0, 0, 0));

      Connection c2 = get(m.allocate(a));
      assertReused(c2, port);
      assertThat(c2.sslSession().getId()).isEqualTo(sessionId);
      echoThroughStreams(c2, "second");
      c2.close();
      assertNextServed(m, a, FromCache.IMMEDIATE);
      assertThat(server.acceptedCount()).isEqualTo(1);
    }
  }

  /**
   * A TLS 1.3 server sends its session tickets after the handshake: they reach the socket while
   * it waits in the pool, and are TLS housekeeping, not data.
   */
  @Test
  void sessionTicketsArrivingWhileIdleDoNotSpoilThePooledSocket() throws Exception {
    try (ServerRig<TlsServer> rig =
        trusting(TlsServer.builder().protocols("TLSv1.3").build())) {
      Connection c1 = rig.connect();
      assertThat(c1.sslSession().getProtocol()).isEqualTo("TLSv1.3");
      int port = c1.localAddress().getPort();
      c1.close(); // at once: the tickets are still on their way
      // the server's handshake ends after it wrote the tickets
      within(rig.server.peerOf(port).handshake());
      assertThat(rig.server.handshakesCompleted()).isEqualTo(1);
      awaitStats(rig.m, new PoolStats(1, 1, 0, 0, 0));

      Connection c2 = rig.connect();
      assertReused(c2, port);
      echoThroughStreams(c2, "after the tickets");
      c2.close();
      assertNextServed(rig.m, rig.a, FromCache.IMMEDIATE);
      assertThat(rig.server.acceptedCount()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void anIdleTlsSocketThatReceivesCloseNotifyIsDiscarded(String protocol) throws Exception {
    try (ServerRig<TlsServer> rig =
        trusting(TlsServer.builder().protocols(protocol).build())) {
      Connection c1 = rig.connect();
      echoThroughStreams(c1, "ping");
      Peer peer = peerOf(rig.server, c1);
      c1.close();
      awaitStats(rig.m, new PoolStats(1, 1, 0, 0, 0));

      peer.close(); // the server closes its SSLSocket: close_notify, then FIN
      await().until(() -> rig.m.stats().idle() == 0);
      awaitStats(rig.m, EMPTY);
      Connection c2 = rig.connect();
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      echoThroughStreams(c2, "fresh");
      c2.close();
    }
  }

  @Test
  void aLeasedTlsConnectionSeesTheServersCloseNotifyAsEof() throws Exception {
    try (ServerRig<TlsServer> rig =
        trusting(TlsServer.builder().behaviour(Behaviour.CLOSE_AFTER_HANDSHAKE).build())) {
      Connection c = rig.connect();
      HandlerRecorder h = HandlerRecorder.startedOn(c);
      await().until(() -> h.eofs.get() == 1);
      c.close(); // at EOF: not pooled
      Connection next = rig.connect();
      assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
      next.discard();
      rig.m.close();
      assertThat(h.eofs.get()).isEqualTo(1);
      assertThat(h.errors.get()).isZero();
      assertThat(h.size()).isZero();
    }
  }

  /** Plaintext the TLS layer already decrypted but nobody read makes the socket not reusable. */
  @Test
  void unreadPlaintextThroughTheStreamPreventsReuse() throws Exception {
    byte[] greeting = randomBytes(100, 1);
    try (ServerRig<TlsServer> rig = trusting(TlsServer.builder()
        .behaviour(Behaviour.WRITE_THEN_IDLE)
        .greeting(greeting)
        .build())) {
      Connection c = rig.connect();
      int port = c.localAddress().getPort();
      byte[] head = c.inputStream().readNBytes(10); // one TLS record: 90 bytes stay buffered
      assertThat(head).isEqualTo(Arrays.copyOf(greeting, 10));
      c.close();
      Connection next = rig.connect();
      assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(next.localAddress().getPort()).isNotEqualTo(port);
      byte[] again = next.inputStream().readNBytes(100);
      assertThat(again).isEqualTo(greeting);
      next.close(); // read to the end: reusable
      assertNextServed(rig.m, rig.a, FromCache.IMMEDIATE);
    }
  }

  @Test
  void unreadPlaintextThroughTheChannelPreventsReuse() throws Exception {
    byte[] greeting = randomBytes(100, 2);
    try (ServerRig<TlsServer> rig = trusting(TlsServer.builder()
        .behaviour(Behaviour.WRITE_THEN_IDLE)
        .greeting(greeting)
        .build())) {
      Connection c = rig.connect();
      ByteChannel ch = c.channel();
      ByteBuffer head = ByteBuffer.allocate(10);
      await().until(() -> {
        ch.read(head);
        return !head.hasRemaining();
      });
      assertThat(head.array()).isEqualTo(Arrays.copyOf(greeting, 10));
      c.close(); // 90 decrypted bytes were never read
      Connection next = rig.connect();
      assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
      next.discard();
    }
  }

  @Test
  void applicationDataTheClientNeverReadsPreventsReuse() throws Exception {
    try (ServerRig<TlsServer> rig = trusting(TlsServer.builder()
        .behaviour(Behaviour.WRITE_THEN_IDLE)
        .greeting(randomBytes(5_000, 3))
        .build())) {
      Connection c = rig.connect();
      within(peerOf(rig.server, c).greeted()); // written and flushed on the server's side
      c.close();
      // whether the bytes were in before the give-back or came while it was idle, the socket
      // must not stay in the pool
      awaitStats(rig.m, EMPTY);
      Connection next = rig.connect();
      assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
      next.discard();
    }
  }

  @Test
  void httpAndHttpsToOneAddressNeverShareASocket() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = trusting().build()) {
      Allocation tls = https(server);
      Allocation plain = Allocation.to("http", "127.0.0.1", server.port());

      Connection t1 = get(m.allocate(tls));
      echoThroughStreams(t1, "tls");
      int tlsPort = t1.localAddress().getPort();
      t1.close();
      awaitStats(m, new PoolStats(1, 1, 0, 0, 0));

      // an idle https socket is not an http one
      Connection p1 = get(m.allocate(plain));
      assertThat(p1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(p1.sslSession()).isNull();
      int plainPort = p1.localAddress().getPort();
      p1.close(); // never spoke: clean, pooled under http
      awaitStats(m, new PoolStats(2, 2, 0, 0, 0));

      Connection t2 = get(m.allocate(tls));
      assertReused(t2, tlsPort);
      Connection t3 = get(m.allocate(tls)); // the http socket is not an https one
      assertThat(t3.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(t3.localAddress().getPort()).isNotIn(tlsPort, plainPort);
      assertThat(t3.sslSession()).isNotNull();
      echoThroughStreams(t3, "still tls");
      Connection p2 = get(m.allocate(plain));
      assertReused(p2, plainPort);
      assertThat(p2.sslSession()).isNull();
      t2.close();
      t3.close();
      p2.discard();
      assertThat(server.acceptedCount()).isEqualTo(3);
    }
  }

  /**
   * discard() sends close_notify: the server's read ends with -1, not an exception, and (seen
   * on the wire with TLS 1.2, where alerts are visible) the last record the client sent is an
   * alert.
   */
  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
  void discardSendsCloseNotify(String protocol) throws Exception {
    try (TlsServer server = TlsServer.builder().protocols(protocol).build();
        ConnectionManager m = trusting().build()) {
      Connection c = get(m.allocate(https(server)));
      echoThroughStreams(c, "bye soon");
      Peer peer = peerOf(server, c);
      c.discard();
      assertThat(within(peer.ended())).as("%s", peer).isEqualTo(Ending.EOF);
      assertThat(peer.readError()).isNull();
      if (protocol.equals("TLSv1.2")) {
        assertThat(peer.lastRecordType())
            .as("the last record is an alert (close_notify)")
            .isEqualTo(TlsServer.RECORD_ALERT);
      }
      awaitStats(m, EMPTY);
    }
  }

  @Test
  void aSecondNewConnectionResumesTheSession() throws Exception {
    try (TlsServer server = TlsServer.builder().protocols("TLSv1.2").build();
        ConnectionManager m = trusting().build()) {
      Allocation a = https("localhost", server);
      Connection c1 = get(m.allocate(a));
      echoThroughStreams(c1, "one");
      Connection c2 = get(m.allocate(a)); // c1 is still leased: a second socket
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c2.localAddress().getPort()).isNotEqualTo(c1.localAddress().getPort());
      assertThat(c2.sslSession().getId())
          .as("resumed: the JDK found the session by the engine's peer host and port")
          .isEqualTo(c1.sslSession().getId());
      assertThat(within(peerOf(server, c2).handshake()).getId())
          .as("the server resumed it too")
          .isEqualTo(c1.sslSession().getId());
      echoThroughStreams(c2, "two");
      c1.close();
      c2.close();
    }
  }

  // ---------------------------------------------------------------- connection members

  @Test
  void aBlockingReadTimesOutAndTheConnectionStaysUsable() throws Exception {
    try (ServerRig<TlsServer> rig = trusting(TlsServer.echo())) {
      Connection c = rig.connect();
      assertThatThrownBy(() -> c.readTimeout(Duration.ofMillis(-1)))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(c.readTimeout(Duration.ofMillis(200))).isSameAs(c);
      InputStream in = c.inputStream();
      assertThatThrownBy(in::read).isInstanceOf(SocketTimeoutException.class);
      assertThatThrownBy(() -> in.read(new byte[8])).isInstanceOf(SocketTimeoutException.class);
      assertThat(c.isOpen()).isTrue();
      echoThroughStreams(c, "still usable");
      c.readTimeout(null); // no limit again
      echoThroughStreams(c, "and again");
      c.close();
      assertNextServed(rig.m, rig.a, FromCache.IMMEDIATE);
    }
  }

  @Test
  void writesBeyondMaxPendingWriteBytesFailAtOnceWithWritePending() throws Exception {
    final int limit = 64 * 1024;
    final int big = 32 << 20; // far more than the socket buffers hold while the peer waits
    try (TlsServer sink = TlsServer.builder().behaviour(Behaviour.SINK_PAUSED).build();
        ConnectionManager m = trusting().maxPendingWriteBytes(limit).build()) {
      Allocation a = https(sink);
      Connection c = get(m.allocate(a));
      assertThat(c.pendingWriteBytes()).isZero();
      // one write into an empty queue is always taken, however large
      CompletableFuture<Void> first = c.write(ByteBuffer.allocateDirect(big));
      await().until(() -> c.pendingWriteBytes() > limit);
      assertThat(c.pendingWriteBytes()).isLessThanOrEqualTo(big);
      assertThat(first).isNotDone(); // the server reads nothing yet: it cannot complete

      // while it is pending, a write that goes past the limit fails at once: it does not wait
      // for the earlier write (which cannot complete before the server reads)
      CompletableFuture<Void> refused = c.write(ByteBuffer.wrap(new byte[1]));
      Throwable t = catchThrowable(() -> refused.get(LONG.toSeconds(), TimeUnit.SECONDS));
      assertThat(t).isInstanceOf(ExecutionException.class);
      assertThat(t.getCause()).isInstanceOf(WritePendingException.class);
      assertThat(first).isNotDone();
      assertThat(c.isOpen()).isTrue();

      sink.releaseReaders();
      within(first);
      await().until(() -> c.pendingWriteBytes() == 0);
      byte[] tail = ascii("tail");
      within(c.write(ByteBuffer.wrap(tail)));
      Peer peer = peerOf(sink, c);
      await().until(() -> peer.received() == big + tail.length);
      c.close(); // everything written, nothing to read: reusable
      assertNextServed(m, a, FromCache.IMMEDIATE);
    }
  }

  // ---------------------------------------------------------------- I/O styles

  /** What a test does with a connection to the echo. */
  @FunctionalInterface
  interface RoundTrip {
    void run(Connection c) throws Exception;
  }

  /**
   * Runs {@code roundTrip} on a connection to an echoing TLS server, gives the connection back
   * and asserts that it is reused: a round trip leaves nothing unread.
   */
  private static void roundTripThenReused(RoundTrip roundTrip) throws Exception {
    try (ServerRig<TlsServer> rig = trusting(TlsServer.echo())) {
      Connection c = rig.connect();
      roundTrip.run(c);
      c.close();
      assertNextServed(rig.m, rig.a, FromCache.IMMEDIATE);
    }
  }

  @Test
  void handlerAndWritesRoundTripOverTls() throws Exception {
    roundTripThenReused(c -> {
      HandlerRecorder h = HandlerRecorder.startedOn(c);
      int[] sizes = {1, 17, 16_384, 16_385, 1 << 20, 3, 100_000, 70_001};
      ByteArrayOutputStream sent = new ByteArrayOutputStream();
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int i = 0; i < sizes.length; i++) {
        byte[] b = randomBytes(sizes[i], 10 + i);
        sent.write(b);
        writes.add(c.write(
            i % 2 == 0
                ? ByteBuffer.wrap(b)
                : ByteBuffer.allocateDirect(b.length).put(b).flip()));
      }
      within(CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0])));
      await().until(() -> h.size() == sent.size());
      assertThat(h.bytes()).isEqualTo(sent.toByteArray());
      assertThat(h.eofs.get() + h.errors.get()).isZero();
    });
  }

  @Test
  void streamsRoundTripOverTls() throws Exception {
    roundTripThenReused(c -> {
      byte[] payload = randomBytes(300_000, 3);
      CompletableFuture<byte[]> read = new CompletableFuture<>();
      Thread reader = new Thread(
          () -> {
            try {
              read.complete(c.inputStream().readNBytes(payload.length));
            } catch (Throwable e) {
              read.completeExceptionally(e);
            }
          },
          "tls-stream-reader");
      reader.setDaemon(true);
      reader.start();
      OutputStream out = c.outputStream();
      out.write(payload, 0, 1);
      out.write(payload, 1, 99_999);
      out.write(payload, 100_000, payload.length - 100_000);
      out.flush();
      assertThat(within(read)).isEqualTo(payload);
    });
  }

  @Test
  void theNonBlockingChannelRoundTripsOverTls() throws Exception {
    roundTripThenReused(c -> {
      ByteChannel ch = c.channel();
      assertThat(ch.read(ByteBuffer.allocate(64)))
          .as("nothing there: a read returns 0")
          .isZero();
      byte[] payload = randomBytes(200_000, 4);
      ByteBuffer out = ByteBuffer.wrap(payload);
      ByteBuffer in = ByteBuffer.allocate(payload.length);
      // write and read in turns: the echo stops reading when its replies are not read
      await().until(() -> {
        if (out.hasRemaining()) {
          ch.write(out);
        }
        ch.read(in);
        return !in.hasRemaining();
      });
      assertThat(in.array()).isEqualTo(payload);
      assertThat(ch.read(ByteBuffer.allocate(64))).isZero();
    });
  }

  // ---------------------------------------------------------------- a server that is no TLS

  @Test
  void httpsFailsCleanlyWithSslify() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m = ConnectionManager.create()) {
      // the peer answers the ClientHello with plain text: the handshake fails
      Allocation https = Allocation.to("https", "127.0.0.1", notTls.port()).context(7);
      AllocationException e = failureOf(m.allocate(https));
      assertThat(e.function()).isEqualTo("sslify");
      assertThat(e.errorStr()).isNotBlank();
      assertThat(e.result().isSuccess()).isFalse();
      assertThat(e.result().connection()).isNull();
      assertThat(e.result().scheme()).isEqualTo("https");

      CompletableFuture<AllocationResult> cb = new CompletableFuture<>();
      m.allocate(https, cb::complete);
      AllocationResult r = cb.get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(r.isSuccess()).isFalse();
      assertThat(r.function()).isEqualTo("sslify");
      assertThat(r.context()).isEqualTo(7);
      assertThat(r.fromCache()).isNull();
      await().until(() -> m.stats().equals(new PoolStats(0, 0, 0, 0, 0)));

      // the manager still works
      assertNextServed(m, Allocation.to("http", "127.0.0.1", server.port()), FromCache.NEW);
    }
  }
}
