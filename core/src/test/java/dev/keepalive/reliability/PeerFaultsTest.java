package dev.keepalive.reliability;

import static dev.keepalive.reliability.Harness.onLoop;
import static dev.keepalive.testing.Managers.EMPTY;
import static dev.keepalive.testing.Managers.ascii;
import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.assertRefused;
import static dev.keepalive.testing.Managers.assertReused;
import static dev.keepalive.testing.Managers.assertRoundTrip;
import static dev.keepalive.testing.Managers.assertTimedOut;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testing.Managers.stats;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.EchoServer;
import dev.keepalive.testkit.HangingListener;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.ScriptedPeer;
import dev.keepalive.testkit.TcpTable;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsReferenceClient;
import dev.keepalive.testkit.TlsServer;
import dev.keepalive.testkit.TlsServer.Behaviour;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Peer faults on a leased, an idle and a connecting socket: FIN, RST, garbage, a server that
 * accepts and never answers, TLS handshakes that stall or break, a full accept queue, a refused
 * connect, the peer closing exactly while a socket is handed out, and all of them at once under
 * load. Each case asserts the exact answer or the socket's fate (pooled: the next allocation is
 * IMMEDIATE on the same socket; discarded: NEW), that the manager still works afterwards, that
 * every request was answered once, and (through {@link NoFdLeaks}) that no descriptor is left.
 */
@ReliabilityTest
class PeerFaultsTest {
  private static final TestCertificates FIX = TestCertificates.get();

  /** What the peer does to an established connection. */
  enum Fault {
    /** An orderly close of the peer's sending side. */
    FIN,
    /** An abortive close: SO_LINGER 0. */
    RST,
    /** Seven bytes nobody asked for. */
    GARBAGE
  }

  static void inflict(Fault fault, Socket peer) throws IOException {
    switch (fault) {
      case FIN -> peer.shutdownOutput();
      case RST -> {
        peer.setSoLinger(true, 0);
        peer.close();
      }
      case GARBAGE -> {
        peer.getOutputStream().write(ascii("garbage"));
        peer.getOutputStream().flush();
      }
      default -> throw new AssertionError(fault);
    }
  }

  /** Waits until the fault has reached the client's socket in the kernel (unread). */
  static void awaitArrived(Connection c) {
    Harness.awaitReadable(c);
  }

  /** Waits until a started handler has heard of the fault. */
  static void awaitSeen(Fault fault, HandlerRecorder h) {
    switch (fault) {
      case FIN -> await().until(() -> h.eofs.get() == 1);
      case RST -> await().until(() -> h.errors.get() == 1);
      case GARBAGE -> await().until(() -> h.text().equals("garbage"));
      default -> throw new AssertionError(fault);
    }
  }

  /** What a started handler heard in all, once the fault is long over. */
  static void assertHeardExactly(Fault fault, HandlerRecorder h) {
    assertThat(h.eofs.get()).isEqualTo(fault == Fault.FIN ? 1 : 0);
    assertThat(h.errors.get()).isEqualTo(fault == Fault.RST ? 1 : 0);
    if (fault == Fault.RST) {
      assertThat(h.errorList.get(0)).isInstanceOf(IOException.class).hasMessage("Connection reset");
    }
    assertThat(h.text()).isEqualTo(fault == Fault.GARBAGE ? "garbage" : "");
  }

  private static ConnectionManager.Builder trusting() {
    return ConnectionManager.builder().sslContext(FIX.clientContext());
  }

  // ---------------------------------------------------------------- idle

  /** A pooled socket hit by FIN, RST or garbage is closed at once; the next request is NEW. */
  @ParameterizedTest
  @EnumSource(Fault.class)
  void anIdleSocketHitByAPeerFaultIsDiscardedAtOnce(Fault fault) throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m =
            ConnectionManager.builder().keepAlive(Harness.NO_EXPIRY).build()) {
      Allocation a = plain(server.port());
      Connection c1 = get(m.allocate(a));
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      int port1 = c1.localAddress().getPort();
      Socket peer1 = peerOf(server, port1);
      c1.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));

      inflict(fault, peer1);
      awaitStats(m, EMPTY); // the idle watch closed it; nothing waited for a request
      if (fault == Fault.FIN) {
        assertThat(PeerIo.awaitClosed(peer1)).isEqualTo(PeerIo.Ending.EOF);
      } else if (fault == Fault.GARBAGE) {
        assertThat(PeerIo.awaitClosed(peer1)).isEqualTo(PeerIo.Ending.RESET);
      }

      Connection c2 = get(m.allocate(a));
      assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c2.localAddress().getPort()).isNotEqualTo(port1);
      assertRoundTrip(c2, peerOf(server, c2), "alive");
      c2.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      assertThat(server.acceptedCount()).isEqualTo(2);
    }
  }

  // ---------------------------------------------------------------- leased

  static Stream<Arguments> faultsAndReaders() {
    return everyFaultWith(true, false);
  }

  /** Every fault paired with each of {@code seconds}: the arguments of a two-way matrix. */
  static Stream<Arguments> everyFaultWith(Object... seconds) {
    List<Arguments> out = new ArrayList<>();
    for (Fault f : Fault.values()) {
      for (Object second : seconds) {
        out.add(Arguments.of(f, second));
      }
    }
    return out.stream();
  }

  /**
   * A leased socket hit by a fault: a started handler hears it once (onEof, onError, onInput);
   * given back, the socket is discarded unless its holder consumed everything (garbage read by
   * the handler: pooled, the next request is IMMEDIATE on it). Unread garbage is reset.
   */
  @ParameterizedTest(name = "{0}, handler started: {1}")
  @MethodSource("faultsAndReaders")
  void aLeasedSocketHitByAPeerFaultIsNeverPooledUnlessItsHolderReadEverything(
      Fault fault, boolean handler) throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m =
            ConnectionManager.builder().keepAlive(Harness.NO_EXPIRY).build()) {
      Allocation a = plain(server.port());
      Connection c = get(m.allocate(a));
      int port = c.localAddress().getPort();
      Socket peer = peerOf(server, port);
      HandlerRecorder h = new HandlerRecorder();
      if (handler) {
        c.start(h);
      }
      inflict(fault, peer);
      if (handler) {
        awaitSeen(fault, h);
      } else {
        awaitArrived(c);
      }
      assertThat(c.isOpen()).isTrue(); // still its holder's until given back
      c.close();

      boolean pooled = handler && fault == Fault.GARBAGE;
      Connection next;
      if (pooled) {
        awaitStats(m, stats(1, 1, 0, 0, 0));
        next = get(m.allocate(a));
        assertReused(next, port);
        assertRoundTrip(next, peer, "reused");
      } else {
        awaitStats(m, EMPTY);
        if (fault == Fault.FIN) {
          assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.EOF);
        } else if (fault == Fault.GARBAGE) {
          assertThat(PeerIo.awaitClosed(peer)).isEqualTo(PeerIo.Ending.RESET);
        }
        next = get(m.allocate(a));
        assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
        assertThat(next.localAddress().getPort()).isNotEqualTo(port);
        assertRoundTrip(next, peerOf(server, next), "fresh");
      }
      next.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      m.close();
      if (handler) {
        assertHeardExactly(fault, h);
      }
      assertThat(h.threads).allSatisfy(t -> assertThat(t.getName()).startsWith("keepalive-loop-"));
    }
  }

  /** A write to a reset socket fails; the connection is then discarded, not pooled. */
  @Test
  void aWriteToAResetSocketFailsAndTheSocketIsDiscarded() throws Exception {
    try (ServerRig<AcceptingServer> r = ServerRig.plain()) {
      Connection c = r.connect();
      int port = c.localAddress().getPort();
      inflict(Fault.RST, peerOf(r.server, port));
      awaitArrived(c);
      Throwable t = catchThrowable(() -> within(c.write(buf("into the void"))));
      assertThat(t).hasCauseInstanceOf(IOException.class);
      c.close();
      awaitStats(r.m, EMPTY);
      assertNextServed(r.m, r.a, FromCache.NEW, r.server);
    }
  }

  // ---------------------------------------------------------------- handed out

  static Stream<Arguments> faultsAndHandOuts() {
    return everyFaultWith(FromCache.IMMEDIATE, FromCache.DEFERRED);
  }

  /**
   * The peer's fault lands exactly while a socket is handed out: the pool has chosen the socket
   * (checked clean) and queued the answer, the loop is held before the delivery runs, and the
   * fault reaches the socket then. The holder gets the socket it was promised and hears the fault
   * through its handler, once; the socket is then discarded (FIN, RST) or, for bytes the holder
   * read, pooled. The hand-out decision is the cut: what arrives after it is the new holder's.
   */
  @ParameterizedTest(name = "{0} during a {1} hand-out")
  @MethodSource("faultsAndHandOuts")
  void thePeerFaultingExactlyWhileTheSocketIsHandedOutReachesOnlyTheNewHolder(
      Fault fault, FromCache via) throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(1)
            .keepAlive(Harness.NO_EXPIRY)
            .build()) {
      Allocation a = plain(server.port());
      Connection c1 = get(m.allocate(a));
      int port1 = c1.localAddress().getPort();
      Socket peer1 = peerOf(server, port1);
      ResultRecorder handedOut = new ResultRecorder();
      if (via == FromCache.IMMEDIATE) {
        c1.close();
        awaitStats(m, stats(1, 1, 0, 0, 0));
      } else {
        m.allocate(a, handedOut);
        awaitStats(m, stats(1, 0, 1, 0, 1));
      }
      onLoop(m, () -> {
        if (via == FromCache.IMMEDIATE) {
          m.allocate(a, handedOut); // runs inline: served from the pool, delivery queued
        } else {
          c1.close(); // runs inline: pooled clean, taken at once by the waiter, delivery queued
        }
        assertThat(m.stats()).isEqualTo(stats(1, 0, 1, 0, 0));
        inflict(fault, peer1);
        awaitArrived(c1);
        assertThat(handedOut.all()).isEmpty();
        return null;
      });
      AllocationResult r = handedOut.next();
      assertThat(r.fromCache()).isEqualTo(via);
      Connection c2 = r.connection();
      assertThat(c2.localAddress().getPort()).isEqualTo(port1);
      HandlerRecorder h = HandlerRecorder.startedOn(c2);
      awaitSeen(fault, h);
      c2.close();
      Connection next;
      if (fault == Fault.GARBAGE) { // the holder read it: nothing unread, so pooled
        awaitStats(m, stats(1, 1, 0, 0, 0));
        next = get(m.allocate(a));
        assertReused(next, port1);
      } else {
        awaitStats(m, EMPTY);
        next = get(m.allocate(a));
        assertThat(next.fromCache()).isEqualTo(FromCache.NEW);
        assertRoundTrip(next, peerOf(server, next), "fresh");
      }
      next.close();
      m.close();
      assertHeardExactly(fault, h);
      assertThat(handedOut.all()).hasSize(1);
    }
  }

  /**
   * A TLS peer that stops reading: the socket fills up, and a write of less than a record may be
   * wrapped whole while its record is only partly taken by the socket (the TLS layer keeps the
   * rest). Writes stop at the first write that is not complete, or that is reported complete
   * with ciphertext left behind: the holder now waits for an answer, as a client that sent its
   * request does. When the peer reads again it must get every byte of every write, the ones
   * reported complete first of all; the manager must not leave the end of a request in the TLS
   * layer for good.
   */
  @Test
  void aTlsPeerThatStopsReadingGetsEveryByteOfEveryCompletedWriteOnceItReadsAgain()
      throws Exception {
    try (TlsServer paused = TlsServer.builder().behaviour(Behaviour.SINK_PAUSED).build();
        ConnectionManager m = trusting().build()) {
      Connection c = get(m.allocate(Allocation.to("https", "127.0.0.1", paused.port())));
      int chunk = 1000; // less than a record: each write is one record, all of it taken at once
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      long[] completed = onLoop(
          m,
          () -> { // each write decided inline, in order
            long total = 0;
            for (int i = 0; i < 100_000; i++) { // the kernel's buffers fill long before
              CompletableFuture<Void> f = c.write(ByteBuffer.allocate(chunk));
              writes.add(f);
              if (!f.isDone()) {
                return new long[] {total, 0}; // held back, as it should be when the socket is full
              }
              total += chunk;
              int unsent = Internals.unsentCiphertext(c);
              if (unsent > 0) {
                return new long[] {total, unsent}; // reported complete, yet not all on its way
              }
            }
            throw new AssertionError("100,000 writes and the socket never filled up");
          });
      TlsServer.Peer peer = paused.peerOf(c.localAddress().getPort());
      paused.releaseReaders(); // the peer reads again; the holder waits for its answer
      long all = (long) writes.size() * chunk;
      try {
        await().until(() -> peer.received() == all);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(
            "the peer got " + peer.received() + " of the " + completed[0]
                + " bytes of writes reported complete (" + all + " written in all); the rest"
                + " stays in the TLS layer (" + Internals.unsentCiphertext(c) + " bytes of"
                + " ciphertext, " + completed[1] + " when the last write was reported complete) and"
                + " nothing will send it",
            e);
      }
      for (CompletableFuture<Void> f : writes) {
        within(f);
      }
      c.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
    }
  }

  // ---------------------------------------------------------------- connecting

  @Test
  void aRefusedConnectIsAnsweredOnceWith111AndLeavesNothingBehind() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.create()) {
      int closed = Loopback.closedPort();
      ResultRecorder rec = new ResultRecorder();
      for (int i = 0; i < 20; i++) {
        m.allocate(plain(closed), rec);
      }
      for (int i = 0; i < 20; i++) {
        assertRefused(rec.next());
      }
      assertRefused(failureOf(m.allocate(plain(closed))).result());
      awaitStats(m, EMPTY);
      assertThat(onLoop(m, () -> Internals.books(m))).isEqualTo(Internals.Books.NONE);
      assertNextServed(m, plain(server.port()), FromCache.NEW, server);
      m.close();
      assertThat(rec.all()).hasSize(20);
    }
  }

  /**
   * A listener whose accept queue is full drops the SYN: the connect hangs until the request's
   * timeout answers 110; the half-open socket is closed. The loop keeps serving meanwhile.
   */
  @Test
  void aListenerWithAFullAcceptQueueTimesOutWith110() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        HangingListener hanging = new HangingListener();
        ConnectionManager m = ConnectionManager.create()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(plain(hanging.port()).timeout(Duration.ofMillis(300)), rec);
      Connection healthy = get(m.allocate(plain(server.port()))); // served while one hangs
      peerOf(server, healthy); // accepted before the server closes
      assertThat(healthy.fromCache()).isEqualTo(FromCache.NEW);
      assertTimedOut(rec.next());
      await()
          .until(() -> TcpTable.byRemotePort(hanging.port(), TcpTable.SYN_SENT).isEmpty());
      healthy.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      m.close();
      assertThat(rec.all()).hasSize(1);
    }
  }

  /**
   * A plain server that accepts and never answers: the connection is NEW (TCP is up); a blocking
   * read times out and leaves the connection usable; given back with nothing unread it is pooled.
   */
  @Test
  void aServerThatAcceptsAndNeverAnswersTimesOutOnlyTheRead() throws Exception {
    try (ServerRig<AcceptingServer> r = ServerRig.plain()) {
      Connection c = r.connect();
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      c.readTimeout(Duration.ofMillis(150));
      assertThat(catchThrowable(() -> c.inputStream().read()))
          .isInstanceOf(SocketTimeoutException.class);
      assertThat(c.isOpen()).isTrue();
      assertRoundTrip(c, r.peerOf(c), "late");
      c.close();
      awaitStats(r.m, stats(1, 1, 0, 0, 0));
      Connection again = r.connect();
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      again.discard();
      awaitStats(r.m, EMPTY);
    }
  }

  /** A TLS server that never answers the ClientHello: 110 at the timeout; TLS elsewhere works. */
  @Test
  void aTlsServerThatNeverAnswersTheHandshakeTimesOutWith110() throws Exception {
    try (TlsServer silent = TlsServer.builder().behaviour(Behaviour.SILENT).build();
        TlsServer echo = TlsServer.echo();
        ConnectionManager m = trusting().build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(
          Allocation.to("https", "127.0.0.1", silent.port()).timeout(Duration.ofMillis(400)), rec);
      Connection ok = get(m.allocate(Allocation.to("https", "127.0.0.1", echo.port())));
      assertThat(ok.fromCache()).isEqualTo(FromCache.NEW);
      assertTimedOut(rec.next());
      await().until(() -> silent.acceptedCount() == 1);
      within(silent.peers().get(0).ended());
      ok.discard();
      awaitStats(m, EMPTY);
      m.close();
      assertThat(rec.all()).hasSize(1);
    }
  }

  /** A TLS server that sends the start of a record and stalls: 110, not a busy loop or a hang. */
  @Test
  void aTlsServerThatStallsMidRecordTimesOutWith110() throws Exception {
    try (ScriptedPeer stalling = new ScriptedPeer(peer -> {
          if (ScriptedPeer.readClientHello(peer)) {
            ByteBuffer partial = ByteBuffer.allocate(5 + 16);
            partial.put(new byte[] {0x16, 0x03, 0x03, 0x00, 0x40}); // a 64-byte handshake record
            partial.flip(); // ...of which 16 bytes (zeros) ever come
            peer.write(partial);
            ScriptedPeer.drain(peer);
          }
        });
        AcceptingServer server = new AcceptingServer();
        ConnectionManager m = trusting().build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(
          Allocation.to("https", "127.0.0.1", stalling.port()).timeout(Duration.ofMillis(400)),
          rec);
      Connection ok = get(m.allocate(plain(server.port())));
      peerOf(server, ok); // accepted before the server closes
      assertTimedOut(rec.next());
      await().until(() -> stalling.acceptedCount() == 1);
      await()
          .until(
              () -> TcpTable.byRemotePort(stalling.port(), TcpTable.ESTABLISHED).isEmpty());
      ok.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      m.close();
      assertThat(rec.all()).hasSize(1);
      assertThat(stalling.failures()).isEmpty();
    }
  }

  /** Garbage instead of a ServerHello: "sslify" with the SSL error's own words. */
  @Test
  void garbageInsteadOfAServerHelloAnswersSslify() throws Exception {
    try (ScriptedPeer garbage = new ScriptedPeer(peer -> {
          if (ScriptedPeer.readClientHello(peer)) {
            peer.write(ByteBuffer.wrap(ascii("HTTP/1.1 400 Bad Request\r\n\r\n")));
            ScriptedPeer.drain(peer);
          }
        });
        ConnectionManager m = trusting().build()) {
      SSLContext ctx = FIX.clientContext();
      String expected = TlsReferenceClient.handshakeError(
          ctx, TlsReferenceClient.defaultParameters(ctx, "127.0.0.1"), "127.0.0.1", garbage.port());
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("https", "127.0.0.1", garbage.port()), rec);
      assertFailure(rec.next(), "sslify", null, expected);
      awaitStats(m, EMPTY);
      m.close();
      assertThat(rec.all()).hasSize(1);
    }
  }

  /** The peer's FIN or RST in the middle of the handshake: "sslify", once, with what happened. */
  @ParameterizedTest
  @EnumSource(
      value = Fault.class,
      names = {"FIN", "RST"})
  void aPeerClosingDuringTheHandshakeAnswersSslify(Fault fault) throws Exception {
    try (ScriptedPeer closing = new ScriptedPeer(peer -> {
          if (ScriptedPeer.readClientHello(peer)) {
            if (fault == Fault.FIN) {
              peer.shutdownOutput();
              ScriptedPeer.drain(peer);
            } else {
              ScriptedPeer.reset(peer);
            }
          }
        });
        AcceptingServer server = new AcceptingServer();
        ConnectionManager m = trusting().build()) {
      ResultRecorder rec = new ResultRecorder();
      m.allocate(Allocation.to("https", "127.0.0.1", closing.port()), rec);
      assertFailure(
          rec.next(),
          "sslify",
          null,
          fault == Fault.FIN
              ? "Connection closed by peer during the TLS handshake"
              : "Connection reset");
      awaitStats(m, EMPTY);
      Connection ok = get(m.allocate(plain(server.port())));
      peerOf(server, ok); // accepted before the server closes
      ok.close();
      m.close();
      assertThat(rec.all()).hasSize(1);
    }
  }

  // ---------------------------------------------------------------- under load

  /** The targets of the load test, each with its one right answer. */
  enum Target {
    HEALTHY,
    REFUSED,
    HANGING,
    RESETTING,
    NOT_TLS
  }

  /**
   * Four threads make 600 requests in all, at random (seeded) to a healthy echo server and to
   * four faulty peers, callback style. Each gets exactly one answer, the right one for its
   * target: healthy ones echo and are pooled, a resetting peer's read fails and its socket is
   * never pooled, refused 111, a full accept queue 110, a plain server spoken TLS to "sslify".
   */
  @Test
  void underLoadEveryFaultGetsItsOwnExactAnswer() throws Exception {
    try (EchoServer echo = new EchoServer();
        HangingListener hanging = new HangingListener();
        ScriptedPeer resetting = new ScriptedPeer(peer -> {
          if (peer.read(ByteBuffer.allocate(1)) > 0) {
            ScriptedPeer.reset(peer);
          }
        });
        TlsServer notTls = TlsServer.notTls();
        ConnectionManager m = trusting().maxPerHost(4).build()) {
      SSLContext ctx = FIX.clientContext();
      String notTlsError = TlsReferenceClient.handshakeError(
          ctx, TlsReferenceClient.defaultParameters(ctx, "127.0.0.1"), "127.0.0.1", notTls.port());
      int refused = Loopback.closedPort();
      Map<Target, Allocation> targets = new EnumMap<>(Target.class);
      targets.put(Target.HEALTHY, plain(echo.port()));
      targets.put(Target.REFUSED, plain(refused));
      targets.put(Target.HANGING, plain(hanging.port()).timeout(Duration.ofMillis(150)));
      targets.put(Target.RESETTING, plain(resetting.port()));
      targets.put(Target.NOT_TLS, Allocation.to("https", "127.0.0.1", notTls.port()));

      Map<Long, List<AllocationResult>> answers = new ConcurrentHashMap<>();
      List<String> wrong = new CopyOnWriteArrayList<>();
      AtomicInteger healthyNew = new AtomicInteger();
      AtomicInteger resettingNew = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        Random rnd = new Random(1000 + w);
        workers.add(pool.submit(() -> {
          for (int i = 0; i < 150; i++) {
            int p = rnd.nextInt(100);
            Target t = p < 55
                ? Target.HEALTHY
                : p < 70
                    ? Target.RESETTING
                    : p < 82 ? Target.REFUSED : p < 94 ? Target.NOT_TLS : Target.HANGING;
            CompletableFuture<AllocationResult> answer = new CompletableFuture<>();
            long id = m.allocate(targets.get(t), r -> {
              answers
                  .computeIfAbsent(r.requestId(), k -> new CopyOnWriteArrayList<>())
                  .add(r);
              answer.complete(r);
            });
            AllocationResult r = within(answer);
            String where = t + " #" + id + ": " + r;
            try {
              session(t, r, notTlsError, healthyNew, resettingNew);
            } catch (Throwable e) {
              wrong.add(where + ": " + e);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : workers) {
        f.get(50, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertThat(wrong).isEmpty();
      assertThat(answers).hasSize(600);
      answers.forEach((id, list) -> assertThat(list).as("answers to #%d", id).hasSize(1));
      // healthy sockets all went back to the pool, the resetting peer's never did
      awaitStats(m, stats(healthyNew.get(), healthyNew.get(), 0, 0, 0));
      assertThat(echo.acceptedCount()).isEqualTo(healthyNew.get());
      assertThat(resetting.acceptedCount()).isEqualTo(resettingNew.get());
      // and the manager is as good as new
      Connection c = get(m.allocate(targets.get(Target.HEALTHY)));
      within(c.write(buf("still fine")));
      assertThat(new String(c.inputStream().readNBytes(10), StandardCharsets.US_ASCII))
          .isEqualTo("still fine");
      c.close();
      m.close();
      assertThat(m.stats()).isEqualTo(EMPTY);
    }
  }

  /** One request's use of its answer, asserting the answer its target must give. */
  private static void session(
      Target t,
      AllocationResult r,
      String notTlsError,
      AtomicInteger healthyNew,
      AtomicInteger resettingNew)
      throws Exception {
    switch (t) {
      case HEALTHY -> {
        assertThat(r.isSuccess()).isTrue();
        if (r.fromCache() == FromCache.NEW) {
          healthyNew.incrementAndGet();
        }
        Connection c = r.connection();
        String text = "echo " + r.requestId();
        within(c.write(buf(text)));
        c.readTimeout(Await.LONG);
        assertThat(new String(c.inputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
            .isEqualTo(text);
        c.close();
      }
      case RESETTING -> {
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW); // its sockets are never pooled
        resettingNew.incrementAndGet();
        Connection c = r.connection();
        within(c.write(buf("x")));
        c.readTimeout(Await.LONG);
        assertThat(catchThrowable(() -> c.inputStream().read()))
            .isInstanceOf(IOException.class)
            .hasMessage("Connection reset");
        c.close();
      }
      case REFUSED -> assertRefused(r);
      case HANGING -> assertTimedOut(r);
      case NOT_TLS -> assertFailure(r, "sslify", null, notTlsError);
      default -> throw new AssertionError(t);
    }
  }
}
