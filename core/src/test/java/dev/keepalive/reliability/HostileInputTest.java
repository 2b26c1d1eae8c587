package dev.keepalive.reliability;

import static dev.keepalive.reliability.Harness.onLoop;
import static dev.keepalive.testing.Managers.EMPTY;
import static dev.keepalive.testing.Managers.ascii;
import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testing.Managers.stats;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionHandler;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.reliability.LinePeer.Action;
import dev.keepalive.testing.HandlerRecorder;
import dev.keepalive.testing.Managers;
import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.ServerRig;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.EchoServer;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.PeerIo;
import dev.keepalive.testkit.ScriptedPeer;
import dev.keepalive.testkit.TcpTable;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import dev.keepalive.testkit.TlsServer.Behaviour;
import dev.keepalive.testkit.TlsServer.Peer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritePendingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Security against a hostile peer: a socket with unread data (or at EOF) is never handed to
 * another holder, whatever the moment the peer writes; memory stays bounded against a peer that
 * floods an idle socket, a leased one nobody reads, or a started handler; a peer that never reads
 * meets the write bound; bytes that are no TLS inside a TLS stream end that stream.
 */
@ReliabilityTest
class HostileInputTest {
  private static final TestCertificates FIX = TestCertificates.get();

  /**
   * A TLS server that reads and discards, a manager that trusts it and keeps idle sockets, and
   * https to it.
   */
  private static ServerRig<TlsServer> tlsSink() {
    return ServerRig.https(
        TlsServer.builder().behaviour(Behaviour.SINK).build(),
        () -> ConnectionManager.builder()
            .sslContext(FIX.clientContext())
            .keepAlive(Harness.NO_EXPIRY)
            .build());
  }

  /** How the peer spoils a socket. */
  enum Spoil {
    /** Four bytes nobody asked for. */
    DATA,
    /** FIN: the socket is at EOF. */
    FIN
  }

  /** The moment the peer spoils the socket, relative to its next hand-out. */
  enum Moment {
    /** While it is still leased, just before its holder gives it back; a request waits. */
    BEFORE_THE_GIVE_BACK,
    /** Idle in the pool, the loop held so its idle watch cannot run; then a request comes. */
    BEFORE_AN_IMMEDIATE_HAND_OUT,
    /** Idle in the pool, the loop held; then a waiting request's lookup completes. */
    BEFORE_A_DEFERRED_HAND_OUT
  }

  static Stream<Arguments> momentsAndSpoils() {
    List<Arguments> out = new ArrayList<>();
    for (Moment m : Moment.values()) {
      for (Spoil s : Spoil.values()) {
        out.add(Arguments.of(m, s));
      }
    }
    return out.stream();
  }

  /** Spoils the socket of {@code c} from its peer and waits until that reached the client. */
  private static void spoil(Spoil how, Socket peer, Connection c) throws IOException {
    if (how == Spoil.DATA) {
      peer.getOutputStream().write(ascii("junk"));
      peer.getOutputStream().flush();
    } else {
      peer.shutdownOutput();
    }
    Harness.awaitReadable(c);
  }

  /** The server's side of the client socket on local port {@code port}, its handshake done. */
  private static Peer handshaken(TlsServer server, int port) throws Exception {
    Peer peer = server.peerOf(port);
    within(peer.handshake());
    return peer;
  }

  // ---------------------------------------------------------------- the worst moments

  /**
   * The peer writes (or closes) at the worst moment for the pool: just before the holder gives
   * the socket back while another request waits for it; or while the socket is idle and the loop
   * is too busy to watch it, right before a request takes it from the pool, at once (IMMEDIATE)
   * or when the waiting request's lookup completes (DEFERRED). Each time the next holder gets a
   * NEW socket, never the spoiled one, and the spoiled one is closed: reset when it had unread
   * data or was caught on its way out of the pool. A control round without the spoiling shows
   * the same steps do hand out the pooled socket.
   */
  @ParameterizedTest(name = "{1} {0}")
  @MethodSource("momentsAndSpoils")
  void aSpoiledSocketIsNeverHandedToTheNextHolder(Moment moment, Spoil how) throws Exception {
    for (boolean control : new boolean[] {true, false}) {
      worstMoment(moment, control ? null : how);
    }
  }

  /** One round of the worst-moment test; {@code how} null for the control round. */
  private static void worstMoment(Moment moment, Spoil how) throws Exception {
    TestResolver resolver = TestResolver.manual();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(1)
            .resolver(resolver)
            .keepAlive(Harness.NO_EXPIRY)
            .build()) {
      // DEFERRED: a host name, so that the waiting request waits for its lookup, not in the
      // queue (with the key's socket leased it is not served from the pool at allocate())
      Allocation a = moment == Moment.BEFORE_A_DEFERRED_HAND_OUT
          ? Allocation.to("http", "pool.test", server.port())
          : plain(server.port());
      CompletableFuture<Connection> first = m.allocate(a);
      if (moment == Moment.BEFORE_A_DEFERRED_HAND_OUT) {
        await().until(() -> resolver.callCount() == 1);
        resolver.completeAll(Loopback.ipv4());
      }
      Connection c1 = get(first);
      int port1 = c1.localAddress().getPort();
      Socket peer1 = peerOf(server, port1);
      ResultRecorder next = new ResultRecorder();
      FromCache reused;
      PeerIo.Ending ending;
      switch (moment) {
        case BEFORE_THE_GIVE_BACK -> {
          m.allocate(a, next);
          awaitStats(m, stats(1, 0, 1, 0, 1));
          if (how != null) {
            spoil(how, peer1, c1);
          }
          c1.close(); // checked on its way in
          reused = FromCache.DEFERRED;
          ending = how == Spoil.DATA ? PeerIo.Ending.RESET : PeerIo.Ending.EOF;
        }
        case BEFORE_AN_IMMEDIATE_HAND_OUT -> {
          c1.close();
          awaitStats(m, stats(1, 1, 0, 0, 0));
          onLoop(m, () -> {
            if (how != null) {
              spoil(how, peer1, c1);
            }
            m.allocate(a, next); // inline: checked on its way out of the pool
            return null;
          });
          reused = FromCache.IMMEDIATE;
          ending = PeerIo.Ending.RESET;
        }
        case BEFORE_A_DEFERRED_HAND_OUT -> {
          m.allocate(a, next);
          await().until(() -> resolver.callCount() == 2);
          c1.close();
          awaitStats(m, stats(1, 1, 0, 0, 1)); // idle, and a request waiting for its lookup
          onLoop(m, () -> {
            if (how != null) {
              spoil(how, peer1, c1);
            }
            // answered on the loop: handled right after this task, before the next select
            resolver.calls().get(1).answer().complete(List.of(Loopback.ipv4()));
            return null;
          });
          reused = FromCache.DEFERRED;
          ending = PeerIo.Ending.RESET;
        }
        default -> throw new AssertionError(moment);
      }
      AllocationResult r = next.next();
      Connection c2 = r.connection();
      if (how == null) { // control: the pooled socket is handed out
        assertThat(r.fromCache()).isEqualTo(reused);
        assertThat(c2.localAddress().getPort()).isEqualTo(port1);
        Managers.assertRoundTrip(c2, peer1, "reused");
      } else {
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        assertThat(c2.localAddress().getPort()).isNotEqualTo(port1);
        assertThat(PeerIo.awaitClosed(peer1)).isEqualTo(ending);
        Managers.assertRoundTrip(c2, peerOf(server, c2), "clean");
      }
      c2.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      m.close();
      assertThat(next.all()).hasSize(1);
      assertThat(server.acceptedCount()).isEqualTo(how == null ? 1 : 2);
    }
  }

  /**
   * 800 exchanges from four threads over at most three sockets with a peer that, at random,
   * answers cleanly or spoils the socket after its answer: bytes in the same write, bytes in a
   * write of their own, FIN or RST (each holder waits until the spoiling reached its socket, then
   * gives it back). The peer reports any request arriving on a socket it had spoiled; every
   * holder checks the first bytes it reads are the answer to its own request. Neither ever
   * happens; every spoiled socket was replaced by a NEW one and every clean one stayed pooled.
   */
  @Test
  void aPeerSpoilingSocketsAtRandomNeverReachesAnotherHolder() throws Exception {
    try (LinePeer peer = new LinePeer();
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(3)
            .keepAlive(Harness.NO_EXPIRY)
            .build()) {
      Allocation a = plain(peer.port());
      Map<FromCache, AtomicInteger> served = new EnumMap<>(FromCache.class);
      for (FromCache f : FromCache.values()) {
        served.put(f, new AtomicInteger());
      }
      AtomicInteger spoiled = new AtomicInteger();
      AtomicLong numbers = new AtomicLong();
      List<String> wrong = new CopyOnWriteArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        Random rnd = new Random(300 + w);
        workers.add(pool.submit(() -> {
          for (int i = 0; i < 200; i++) {
            int p = rnd.nextInt(100);
            Action action = p < 50
                ? Action.OK
                : p < 65 ? Action.JUNK : p < 80 ? Action.LATER : p < 90 ? Action.FIN : Action.RST;
            long n = numbers.incrementAndGet();
            Connection c = get(m.allocate(a));
            served.get(c.fromCache()).incrementAndGet();
            int port = c.localAddress().getPort();
            within(c.write(buf(LinePeer.request(n, action))));
            c.readTimeout(LONG);
            String got = new String(
                c.inputStream().readNBytes(LinePeer.RESPONSE_LENGTH), StandardCharsets.US_ASCII);
            if (!got.equals(LinePeer.response(n))) {
              wrong.add("request " + n + " (" + c.fromCache() + ", port " + port + ") read \"" + got
                  + "\"");
            }
            if (action == Action.RST) {
              within(c.write(buf(LinePeer.BYE))); // all read: now the peer may reset
            }
            if (action.spoils()) { // junk, FIN or RST has reached the socket, unread
              Harness.awaitReadable(c);
              spoiled.incrementAndGet();
            }
            c.close();
          }
          return null;
        }));
      }
      for (Future<?> f : workers) {
        f.get(50, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertThat(wrong).isEmpty();
      assertThat(peer.violations()).isEmpty();
      assertThat(peer.failures()).isEmpty();
      int opened = served.get(FromCache.NEW).get();
      assertThat(peer.acceptedCount()).isEqualTo(opened);
      awaitStats(m, stats(opened - spoiled.get(), opened - spoiled.get(), 0, 0, 0));
      assertThat(served.get(FromCache.IMMEDIATE).get()
              + served.get(FromCache.DEFERRED).get())
          .isEqualTo(800 - opened)
          .isPositive();
      assertThat(opened).isGreaterThanOrEqualTo(spoiled.get());
    }
  }

  // ---------------------------------------------------------------- floods

  /** The most bytes the kernel may buffer for one loopback connection (both ends' maxima). */
  private static long kernelBufferBound() throws IOException {
    return maxOf("/proc/sys/net/ipv4/tcp_rmem") + maxOf("/proc/sys/net/ipv4/tcp_wmem") + (1 << 20);
  }

  private static long maxOf(String file) throws IOException {
    String text; // one read: sysctl files answer a second, partial read with EOF
    try (java.io.InputStream in = Files.newInputStream(Path.of(file))) {
      text = new String(in.readNBytes(4096), StandardCharsets.US_ASCII);
    }
    String[] f = text.trim().split("\\s+");
    return Long.parseLong(f[f.length - 1]);
  }

  /** Writes {@code chunk} to {@code out} until it fails or {@code limit} bytes went out. */
  private static CompletableFuture<Long> floodUntilCutOff(OutputStream out, long limit) {
    return CompletableFuture.supplyAsync(() -> {
      byte[] chunk = new byte[64 * 1024];
      long written = 0;
      try {
        while (written < limit) {
          out.write(chunk);
          written += chunk.length;
        }
        out.flush();
      } catch (IOException e) {
        return written; // cut off
      }
      return -written; // never cut off
    });
  }

  /**
   * A peer floods an idle pooled socket: at the first byte the manager resets the socket and
   * forgets it; the flood is cut off after no more than the kernel's buffers, however much the
   * peer had to send. The next request gets a NEW socket.
   */
  @Test
  void aPeerFloodingAnIdleSocketIsCutOffWithinTheKernelsBuffers() throws Exception {
    long bound = kernelBufferBound();
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m =
            ConnectionManager.builder().keepAlive(Harness.NO_EXPIRY).build()) {
      Allocation a = plain(server.port());
      Connection c = get(m.allocate(a));
      Socket peer = peerOf(server, c);
      c.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      long written = within(floodUntilCutOff(peer.getOutputStream(), bound + (64L << 20)));
      assertThat(written).as("bytes the peer wrote before it was cut off").isBetween(0L, bound);
      awaitStats(m, EMPTY);
      assertNextServed(m, a, FromCache.NEW, server);
    }
  }

  /** The same over TLS: the probe decrypts at most one record, then the socket is reset. */
  @Test
  void aPeerFloodingAnIdleTlsSocketIsCutOff() throws Exception {
    long bound = kernelBufferBound();
    try (ServerRig<TlsServer> rig = tlsSink()) {
      Connection c = rig.connect();
      Peer peer = handshaken(rig.server, c.localAddress().getPort());
      c.close();
      awaitStats(rig.m, stats(1, 1, 0, 0, 0));
      long written = within(floodUntilCutOff(peer.tls().getOutputStream(), bound + (64L << 20)));
      assertThat(written).isBetween(0L, bound);
      awaitStats(rig.m, EMPTY);
      assertNextServed(rig.m, rig.a, FromCache.NEW);
      awaitStats(rig.m, stats(1, 1, 0, 0, 0));
    }
  }

  /** Byte {@code i} of a flood: a pattern the reader can check. */
  private static byte pattern(long i) {
    return (byte) (i % 251);
  }

  /** Counts and checks a patterned flood, copying nothing. */
  private static final class PatternReader implements ConnectionHandler {
    final AtomicLong received = new AtomicLong();
    final AtomicInteger eofs = new AtomicInteger();
    final AtomicInteger errors = new AtomicInteger();
    final AtomicInteger largestChunk = new AtomicInteger();
    final List<String> wrong = new CopyOnWriteArrayList<>();

    @Override
    public void onInput(Connection connection, ByteBuffer data) {
      long at = received.get();
      largestChunk.accumulateAndGet(data.remaining(), Math::max);
      while (data.hasRemaining()) {
        byte b = data.get();
        if (b != pattern(at) && wrong.size() < 5) {
          wrong.add("byte " + at + " was " + b);
        }
        at++;
      }
      received.set(at);
    }

    @Override
    public void onEof(Connection connection) {
      eofs.incrementAndGet();
    }

    @Override
    public void onError(Connection connection, IOException e) {
      errors.incrementAndGet();
    }
  }

  /** Writes the pattern from {@code from} on a blocking channel until {@code stop}. */
  private static long writePattern(SocketChannel ch, long from, long upTo, AtomicBoolean stop)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(64 * 1024);
    long at = from;
    while (at < upTo && !stop.get()) {
      b.clear();
      for (int i = 0; i < b.capacity() && at + i < upTo; i++) {
        b.put(pattern(at + i));
      }
      b.flip();
      while (b.hasRemaining()) {
        at += ch.write(b);
      }
    }
    return at;
  }

  /**
   * A peer floods a leased socket whose holder reads nothing yet: the manager reads nothing
   * either (the peer is held back by TCP: its non-blocking writes stop, and every byte it wrote
   * is still in the two kernel queues), so it buffers nothing. When the holder starts reading,
   * it gets every byte, in order, in chunks of at most the loop's one 64 KiB buffer.
   */
  @Test
  void aPeerFloodingALeasedSocketNobodyReadsIsHeldBackByTcp() throws Exception {
    try (ScriptedPeer server = ScriptedPeer.passive();
        ConnectionManager m = ConnectionManager.create()) {
      Connection c = get(m.allocate(plain(server.port())));
      int clientPort = c.localAddress().getPort();
      SocketChannel peer = server.peerOf(clientPort);
      peer.configureBlocking(false);
      ByteBuffer b = ByteBuffer.allocate(64 * 1024);
      long written = 0;
      int n;
      do { // until TCP says stop: the client's receive queue and our send queue are full
        b.clear();
        for (int i = 0; i < b.capacity(); i++) {
          b.put(pattern(written + i));
        }
        b.flip();
        n = peer.write(b);
        written += n;
      } while (n > 0 && written < (256L << 20));
      long stalledAt = written;
      assertThat(stalledAt).as("the flood was held back").isLessThan(256L << 20);
      await()
          .until(
              () -> { // nothing was read by anyone: all of it is in the kernel
                TcpTable.Entry client = TcpTable.find(clientPort, server.port());
                TcpTable.Entry serverSide = TcpTable.find(server.port(), clientPort);
                return client != null
                    && serverSide != null
                    && client.rxQueue() + serverSide.txQueue() == stalledAt;
              });
      PatternReader reader = new PatternReader();
      c.start(reader);
      peer.configureBlocking(true);
      long total = stalledAt + (8L << 20);
      long end = writePattern(peer, stalledAt, total, new AtomicBoolean());
      assertThat(end).isEqualTo(total);
      peer.shutdownOutput();
      await().until(() -> reader.eofs.get() == 1);
      assertThat(reader.wrong).isEmpty();
      assertThat(reader.received.get()).isEqualTo(total);
      assertThat(reader.largestChunk.get()).isLessThanOrEqualTo(64 * 1024);
      assertThat(reader.errors.get()).isZero();
      c.close(); // at EOF: not pooled
      awaitStats(m, EMPTY);
    }
  }

  /**
   * A peer floods a started handler as fast as it can, without end: meanwhile another connection
   * does 50 round trips and 50 allocate/close cycles (the loop gives every socket its turn). The
   * handler gets every byte in order, in chunks of at most 64 KiB, then EOF once.
   */
  @Test
  void aFloodIntoAHandlerDoesNotStarveOtherConnections() throws Exception {
    try (ScriptedPeer flooder = ScriptedPeer.passive();
        EchoServer echo = new EchoServer();
        ConnectionManager m = ConnectionManager.create()) {
      Connection flooded = get(m.allocate(plain(flooder.port())));
      SocketChannel peer = flooder.peerOf(flooded.localAddress().getPort());
      PatternReader reader = new PatternReader();
      flooded.start(reader);
      AtomicBoolean stop = new AtomicBoolean();
      CompletableFuture<Long> flood = CompletableFuture.supplyAsync(() -> {
        try {
          return writePattern(peer, 0, Long.MAX_VALUE, stop);
        } catch (IOException e) {
          throw new CompletionException(e);
        }
      });
      await().until(() -> reader.received.get() > (4 << 20));

      Allocation a = plain(echo.port());
      Connection other = get(m.allocate(a));
      other.readTimeout(LONG);
      for (int i = 0; i < 50; i++) {
        String text = "round trip " + i;
        within(other.write(buf(text)));
        assertThat(new String(
                other.inputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
            .isEqualTo(text);
      }
      other.close();
      for (int i = 0; i < 50; i++) {
        assertNextServed(m, a, FromCache.IMMEDIATE);
      }
      assertThat(flood).as("the flood went on all along").isNotDone();
      long before = reader.received.get();
      await().until(() -> reader.received.get() > before); // and is still being read

      stop.set(true);
      long total = within(flood);
      peer.shutdownOutput();
      await().until(() -> reader.eofs.get() == 1);
      assertThat(reader.received.get()).isEqualTo(total);
      assertThat(reader.wrong).isEmpty();
      assertThat(reader.largestChunk.get()).isLessThanOrEqualTo(64 * 1024);
      flooded.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
    }
  }

  /**
   * A peer that never reads: writes queue up to maxPendingWriteBytes, then fail at once with
   * WritePendingException instead of buffering more; given back with writes pending, the socket
   * is discarded and the pending writes fail with ClosedChannelException.
   */
  @Test
  void aPeerThatNeverReadsMeetsTheWriteBound() throws Exception {
    int max = 1 << 20;
    int chunk = 256 * 1024;
    try (ScriptedPeer deaf = ScriptedPeer.passive();
        ConnectionManager m =
            ConnectionManager.builder().maxPendingWriteBytes(max).build()) {
      Allocation a = plain(deaf.port());
      Connection c = get(m.allocate(a));
      List<CompletableFuture<Void>> writes = onLoop(
          m,
          () -> { // each decided in order, inline
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
              fs.add(c.write(ByteBuffer.allocate(chunk)));
            }
            return fs;
          });
      long refused = writes.stream().filter(f -> f.isCompletedExceptionally()).count();
      assertThat(refused).isPositive();
      for (CompletableFuture<Void> f : writes) {
        if (f.isCompletedExceptionally()) {
          assertThat(f.handle((v, e) -> e).join()).isInstanceOf(WritePendingException.class);
        }
      }
      assertThat(c.pendingWriteBytes()).isPositive().isLessThanOrEqualTo(max);
      List<CompletableFuture<Void>> pending =
          writes.stream().filter(f -> !f.isDone()).toList();
      assertThat(pending).isNotEmpty();
      c.close(); // half-written: discarded
      for (CompletableFuture<Void> f : pending) {
        assertThat(Await.<Throwable>within(f.handle((v, e) -> e)))
            .isInstanceOf(ClosedChannelException.class);
      }
      awaitStats(m, EMPTY);
      assertNextServed(m, a, FromCache.NEW);
    }
  }

  // ---------------------------------------------------------------- not TLS inside TLS

  /**
   * Raw bytes that are no TLS record, injected into an established TLS stream: a started handler
   * hears onError (an SSLException) once and the socket is never pooled; on an idle TLS socket
   * the same bytes get it discarded at once.
   */
  @ParameterizedTest
  @EnumSource(value = Phase.class)
  void bytesThatAreNoTlsEndTheTlsStream(Phase phase) throws Exception {
    try (ServerRig<TlsServer> rig = tlsSink()) {
      Connection c = rig.connect();
      Peer peer = handshaken(rig.server, c.localAddress().getPort());
      HandlerRecorder h = new HandlerRecorder();
      if (phase == Phase.LEASED) {
        c.start(h);
      } else {
        c.close();
        awaitStats(rig.m, stats(1, 1, 0, 0, 0));
      }
      OutputStream raw = peer.raw().getOutputStream();
      raw.write(ascii("HTTP/1.1 200 OK\r\nthis is not TLS at all\r\n\r\n"));
      raw.flush();
      if (phase == Phase.LEASED) {
        await().until(() -> h.errors.get() == 1);
        assertThat(h.errorList.get(0)).isInstanceOf(SSLException.class);
        c.close();
      }
      awaitStats(rig.m, EMPTY);
      assertNextServed(rig.m, rig.a, FromCache.NEW);
      awaitStats(rig.m, stats(1, 1, 0, 0, 0));
      rig.m.close();
      assertThat(h.errors.get()).isEqualTo(phase == Phase.LEASED ? 1 : 0);
      assertThat(h.eofs.get()).isZero();
      assertThat(h.size()).isZero();
    }
  }

  /** Where the socket is when the bytes arrive. */
  enum Phase {
    LEASED,
    IDLE
  }

  /**
   * The peer sends the first half of a TLS record (a stale answer) and holds the rest: the
   * worst moment for a TLS socket, since the TLS layer takes the half off the socket and decrypts
   * nothing yet. A socket holding half a record has unread data: it must not be handed to a new
   * holder (who would read the stale answer once the rest arrives). Checked with the half
   * arriving while the socket is idle, and while it is leased just before its holder gives it
   * back (the holder reads nothing).
   */
  @ParameterizedTest
  @EnumSource(value = Phase.class)
  void aTlsSocketHoldingHalfARecordIsNeverHandedToTheNextHolder(Phase phase) throws Exception {
    try (ServerRig<TlsServer> rig = tlsSink()) {
      Connection c = rig.connect();
      int port = c.localAddress().getPort();
      Peer peer = handshaken(rig.server, port);
      if (phase == Phase.IDLE) {
        c.close();
        awaitStats(rig.m, stats(1, 1, 0, 0, 0));
      }
      peer.gate().splitNextWrite();
      peer.tls().getOutputStream().write(ascii("a stale answer"));
      peer.tls().getOutputStream().flush();
      await()
          .until(
              () -> { // the half has reached the client (or it reset the connection)
                TcpTable.Entry e = TcpTable.find(rig.server.port(), port);
                return e == null || e.txQueue() == 0;
              });
      if (phase == Phase.LEASED) {
        c.close();
      }
      Connection next = rig.connect();
      try {
        peer.gate().releaseHeld(); // the rest of the record
      } catch (IOException e) {
        // the client reset that connection: nobody is there to read it
      }
      if (next.fromCache() != FromCache.NEW) {
        int nextPort = next.localAddress().getPort();
        next.readTimeout(LONG);
        String read = new String(next.inputStream().readNBytes(14), StandardCharsets.US_ASCII);
        next.discard();
        throw new AssertionError("a TLS socket holding half a record (local port " + port
            + ") was handed out " + next.fromCache() + " (local port " + nextPort + "); its new"
            + " holder then read \"" + read + "\", which the peer sent before the hand-out");
      }
      assertThat(next.localAddress().getPort()).isNotEqualTo(port);
      next.close();
      awaitStats(rig.m, stats(1, 1, 0, 0, 0));
    }
  }
}
