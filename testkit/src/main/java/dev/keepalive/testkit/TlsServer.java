package dev.keepalive.testkit;

import dev.keepalive.testkit.TestCertificates.Identity;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A thread-per-connection server on 127.0.0.1 for TLS tests. TLS behaviours accept TCP, layer a
 * server-mode {@link SSLSocket} over it (JSSE, a certificate from {@link TestCertificates}) and
 * run the handshake; plain behaviours never speak TLS (for handshakes that must fail or hang).
 *
 * <p>Every accepted connection is a {@link Peer}: the test can see its handshake, what SNI the
 * client sent, how the server's read loop ended (clean EOF or an error), and the content type of
 * the last raw TLS record the client sent before EOF (21 = alert, so with TLS 1.2 a close_notify
 * can be told from a bare FIN). The test can also write through the peer's TLS socket, write
 * bytes that are no TLS straight onto the TCP stream beneath it, or have the next TLS record the
 * server sends cut in two ({@link Peer#gate()}).
 */
public final class TlsServer implements AutoCloseable {
  /** What the server does with each connection. */
  public enum Behaviour {
    /** TLS: writes back whatever it reads until EOF. */
    ECHO(true),
    /** TLS: after the handshake writes the greeting once, then reads (and drops) until EOF. */
    WRITE_THEN_IDLE(true),
    /** TLS: after the handshake reads (and drops) until EOF; the test writes, if anyone. */
    SINK(true),
    /** TLS: after the handshake reads nothing until {@link #releaseReaders()}, then drops input. */
    SINK_PAUSED(true),
    /** TLS: closes the SSLSocket (close_notify, FIN) as soon as the handshake is done. */
    CLOSE_AFTER_HANDSHAKE(true),
    /** Plain TCP: accepts and never answers; reads and drops input until EOF. */
    SILENT(false),
    /**
     * Plain TCP: answers the first bytes (a ClientHello) with an HTTP error, then reads until
     * EOF: a server that does not speak TLS at all.
     */
    GARBAGE(false),
    /** Plain TCP: closes the connection once the first bytes (the ClientHello) arrive. */
    CLOSE_ON_CLIENT_HELLO(false);

    final boolean tls;

    Behaviour(boolean tls) {
      this.tls = tls;
    }
  }

  /** How the server's read loop on a connection ended. */
  public enum Ending {
    /** read() returned -1 without an exception. */
    EOF,
    /** read() threw (a reset, or an SSLException). */
    ERROR,
    /** The test or the server closed the connection first. */
    CLOSED_BY_SERVER
  }

  /** TLS record content type of an alert (close_notify is one), as seen on the wire. */
  public static final int RECORD_ALERT = 21;
  /** TLS record content type of application data (and of every TLS 1.3 encrypted record). */
  public static final int RECORD_APPLICATION_DATA = 23;

  private final Behaviour behaviour;
  private final SSLContext context;
  private final String[] protocols;
  private final byte[] greeting;
  private final AcceptingServer tcp;
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger handshakes = new AtomicInteger();

  private TlsServer(Builder b) {
    this.behaviour = b.behaviour;
    this.context = b.behaviour.tls ? TestCertificates.get().serverContext(b.identity) : null;
    this.protocols = b.protocols;
    this.greeting = b.greeting;
    ServerSocket recording;
    try {
      recording = new RecordingServerSocket();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    tcp = new AcceptingServer("tls-" + behaviour, recording, b.endpoint, raw -> {
      Peer p = new Peer((RecordingSocket) raw);
      peers.add(p);
      p.run();
    });
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A TLS echo server with the LOCALHOST identity and JSSE's default protocols. */
  public static TlsServer echo() {
    return builder().build();
  }

  /** A server that does not speak TLS: it answers a ClientHello with plain HTTP. */
  public static TlsServer notTls() {
    return builder().behaviour(Behaviour.GARBAGE).build();
  }

  /** Settings of a server. */
  public static final class Builder {
    private Behaviour behaviour = Behaviour.ECHO;
    private Identity identity = Identity.LOCALHOST;
    private String[] protocols;
    private byte[] greeting = "hello from the server\n".getBytes(StandardCharsets.US_ASCII);
    private InetSocketAddress endpoint = new InetSocketAddress(Loopback.ipv4(), 0);

    private Builder() {}

    /**
     * Listens on {@code address}:{@code port} (default 127.0.0.1, any free port): with the port
     * of a server on another loopback address, one port answers on several addresses.
     */
    public Builder bind(InetAddress address, int port) {
      this.endpoint = new InetSocketAddress(address, port);
      return this;
    }

    public Builder behaviour(Behaviour b) {
      this.behaviour = b;
      return this;
    }

    public Builder identity(Identity id) {
      this.identity = id;
      return this;
    }

    /** The only protocols the server enables, e.g. "TLSv1.2"; default JSSE's. */
    public Builder protocols(String... p) {
      this.protocols = p.clone();
      return this;
    }

    /** What WRITE_THEN_IDLE writes after the handshake. */
    public Builder greeting(byte[] g) {
      this.greeting = g.clone();
      return this;
    }

    public TlsServer build() {
      return new TlsServer(this);
    }
  }

  public int port() {
    return tcp.port();
  }

  /** Every connection accepted so far, in order (a live view). */
  public List<Peer> peers() {
    return peers;
  }

  /** The connection from the client's local port {@code clientPort} (waits until accepted). */
  public Peer peerOf(int clientPort) {
    return AcceptLoop.awaitFirst(peers, p -> p.clientPort() == clientPort);
  }

  /** Connections accepted so far: {@link #peers()} (each becomes a peer once its thread runs). */
  public int acceptedCount() {
    return peers.size();
  }

  /** SINK_PAUSED: lets every connection (present and future) start reading. */
  public void releaseReaders() {
    release.countDown();
  }

  /** Handshakes that completed on the server's side. */
  public int handshakesCompleted() {
    return handshakes.get();
  }

  /** The accept loop, for the kit's own tests. */
  AcceptLoop<Socket> acceptLoop() {
    return tcp.acceptLoop();
  }

  /** Closes every connection (TLS ones with close_notify first), and the listener. */
  @Override
  public void close() {
    release.countDown();
    for (Peer p : peers) {
      p.closeQuietly();
    }
    tcp.close();
  }

  /** The server's side of one client connection. */
  public final class Peer {
    private final RecordingSocket raw;
    private volatile SSLSocket tls;
    private volatile boolean closedByServer;
    private final CompletableFuture<SSLSession> handshake = new CompletableFuture<>();
    private final CompletableFuture<Ending> ended = new CompletableFuture<>();
    private final CompletableFuture<Void> greeted = new CompletableFuture<>();
    private volatile Throwable readError;
    private final AtomicLong received = new AtomicLong();

    Peer(RecordingSocket raw) {
      this.raw = raw;
    }

    /** The TCP socket beneath the TLS layer: write to it for bytes that are no TLS at all. */
    public Socket raw() {
      return raw;
    }

    /** The server's TLS socket (TLS behaviours; set before the handshake starts), or null. */
    public SSLSocket tls() {
      return tls;
    }

    /** The gate every byte the server sends goes through, so a test can cut a record in two. */
    public Gate gate() {
      return raw.gate();
    }

    /** The client's local port. */
    public int clientPort() {
      return raw.getPort();
    }

    /** Completes with the server's session when the handshake is done, or with its failure. */
    public CompletableFuture<SSLSession> handshake() {
      return handshake;
    }

    /** The SNI host names the client sent (empty when it sent none); after the handshake. */
    public List<SNIServerName> requestedServerNames() {
      SSLSession s = handshake.join();
      return s instanceof ExtendedSSLSession e ? e.getRequestedServerNames() : List.of();
    }

    /** Completes with how the server's read loop ended (after the connection is closed). */
    public CompletableFuture<Ending> ended() {
      return ended;
    }

    /** What read() threw, when {@link #ended()} is ERROR. */
    public Throwable readError() {
      return readError;
    }

    /** WRITE_THEN_IDLE: completes when the greeting was written and flushed. */
    public CompletableFuture<Void> greeted() {
      return greeted;
    }

    /** Plaintext bytes read from the client (application data for TLS, raw bytes for plain). */
    public long received() {
      return received.get();
    }

    /** Raw bytes read from the client, TLS records included. */
    public long rawReceived() {
      return raw.recorder.total;
    }

    /** The first raw bytes read from the client (up to 16 KiB): its ClientHello, for TLS. */
    public byte[] rawPrefix() {
      return raw.recorder.prefix();
    }

    /** The content type of the last complete raw TLS record read from the client, or -1. */
    public int lastRecordType() {
      return raw.recorder.lastType;
    }

    /**
     * Closes the server's side: for TLS the SSLSocket (close_notify, then FIN), else the socket.
     */
    public void close() {
      closedByServer = true;
      try {
        if (tls != null) {
          tls.close();
        } else {
          raw.close();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    void closeQuietly() {
      closedByServer = true;
      closeBoth();
    }

    /** Closes the TLS socket (close_notify) if there is one, then the TCP socket. */
    private void closeBoth() {
      AcceptLoop.closeQuietly(tls);
      AcceptLoop.closeQuietly(raw);
    }

    void run() {
      try {
        if (behaviour.tls) {
          runTls();
        } else {
          runPlain();
        }
      } finally {
        closeQuietlyAfterRun();
      }
    }

    private void closeQuietlyAfterRun() {
      if (!handshake.isDone()) {
        handshake.completeExceptionally(new IOException("no TLS handshake"));
      }
      if (!greeted.isDone()) {
        greeted.completeExceptionally(new IOException("no greeting written"));
      }
      closeBoth();
    }

    private void runTls() {
      SSLSocket s;
      try {
        s = (SSLSocket) context.getSocketFactory().createSocket(raw, null, true);
        s.setUseClientMode(false);
        if (protocols != null) {
          s.setEnabledProtocols(protocols);
        }
        tls = s;
        s.startHandshake();
        handshakes.incrementAndGet();
        handshake.complete(s.getSession());
      } catch (IOException | RuntimeException e) {
        handshake.completeExceptionally(e);
        ended.complete(closedByServer ? Ending.CLOSED_BY_SERVER : Ending.ERROR);
        readError = e;
        return;
      }
      try {
        switch (behaviour) {
          case ECHO -> readLoop(s.getInputStream(), s.getOutputStream());
          case WRITE_THEN_IDLE -> {
            s.getOutputStream().write(greeting);
            s.getOutputStream().flush();
            greeted.complete(null);
            readLoop(s.getInputStream(), null);
          }
          case SINK -> readLoop(s.getInputStream(), null);
          case SINK_PAUSED -> {
            awaitRelease();
            readLoop(s.getInputStream(), null);
          }
          case CLOSE_AFTER_HANDSHAKE -> {
            closedByServer = true;
            s.close();
            ended.complete(Ending.CLOSED_BY_SERVER);
          }
          default -> throw new AssertionError(behaviour);
        }
      } catch (IOException e) {
        readError = e;
        ended.complete(closedByServer ? Ending.CLOSED_BY_SERVER : Ending.ERROR);
      }
    }

    private void runPlain() {
      try {
        InputStream in = raw.getInputStream();
        OutputStream out = raw.getOutputStream();
        switch (behaviour) {
          case SILENT -> readLoop(in, null);
          case GARBAGE -> {
            int first = in.read();
            if (first < 0) {
              ended.complete(Ending.EOF);
              return;
            }
            received.incrementAndGet();
            out.write(("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 12\r\n\r\nnot TLS here")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            readLoop(in, null);
          }
          case CLOSE_ON_CLIENT_HELLO -> {
            int first = in.read();
            if (first >= 0) {
              received.incrementAndGet();
            }
            closedByServer = true;
            raw.close();
            ended.complete(Ending.CLOSED_BY_SERVER);
          }
          default -> throw new AssertionError(behaviour);
        }
      } catch (IOException e) {
        readError = e;
        ended.complete(closedByServer ? Ending.CLOSED_BY_SERVER : Ending.ERROR);
      }
    }

    /** Reads until EOF, echoing to {@code echo} when it is not null. */
    private void readLoop(InputStream in, OutputStream echo) throws IOException {
      byte[] buf = new byte[64 * 1024];
      int n;
      while ((n = in.read(buf)) >= 0) {
        received.addAndGet(n);
        if (echo != null && n > 0) {
          echo.write(buf, 0, n);
          echo.flush();
        }
      }
      ended.complete(closedByServer ? Ending.CLOSED_BY_SERVER : Ending.EOF);
    }

    private void awaitRelease() throws IOException {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }

    @Override
    public String toString() {
      return "Peer[client port " + clientPort() + ", ended " + ended.getNow(null) + ", error "
          + readError + ", last record " + lastRecordType() + "]";
    }
  }

  // ---------------------------------------------------------------- raw recording

  /** Accepts {@link RecordingSocket}s, with TCP_NODELAY: what the test writes goes at once. */
  private static final class RecordingServerSocket extends ServerSocket {
    RecordingServerSocket() throws IOException {
      super();
    }

    @Override
    public Socket accept() throws IOException {
      RecordingSocket s = new RecordingSocket();
      implAccept(s);
      s.setTcpNoDelay(true);
      return s;
    }
  }

  /** A socket whose input is watched by a {@link RecordTracker}, and whose output is gated. */
  private static final class RecordingSocket extends Socket {
    final RecordTracker recorder = new RecordTracker();
    private InputStream in;
    private Gate gate;

    @Override
    public synchronized InputStream getInputStream() throws IOException {
      if (in == null) {
        in = new RecordingInputStream(super.getInputStream(), recorder);
      }
      return in;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
      if (gate == null) {
        gate = new Gate(super.getOutputStream());
      }
      return gate;
    }

    synchronized Gate gate() {
      try {
        return (Gate) getOutputStream();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * The raw output of an accepted socket. It passes everything through, except that the test
   * can have the next write (the SSLSocket writes one TLS record per write) cut in two: the first
   * half goes out at once, the rest when the test says.
   */
  public static final class Gate extends OutputStream {
    private final OutputStream out;
    private volatile boolean splitNext;
    private byte[] held;

    Gate(OutputStream out) {
      this.out = out;
    }

    /** The next write sends only its first half; {@link #releaseHeld()} sends the rest. */
    public void splitNextWrite() {
      splitNext = true;
    }

    /** Sends the rest of the write {@link #splitNextWrite()} cut. */
    public synchronized void releaseHeld() throws IOException {
      if (held != null) {
        out.write(held);
        out.flush();
        held = null;
      }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      if (splitNext && len > 1) {
        splitNext = false;
        int half = len / 2;
        out.write(b, off, half);
        out.flush();
        held = Arrays.copyOfRange(b, off + half, off + len);
        return;
      }
      out.write(b, off, len);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }
  }

  /** Splits the raw byte stream into TLS records (5-byte header: type, version, length). */
  private static final class RecordTracker {
    private final byte[] header = new byte[5];
    private int headerHave;
    private int bodyLeft;
    private int currentType;
    volatile int lastType = -1;
    volatile long total;

    private final ByteArrayOutputStream prefix = new ByteArrayOutputStream();

    synchronized byte[] prefix() {
      return prefix.toByteArray();
    }

    synchronized void consume(byte[] b, int off, int len) {
      total += len;
      prefix.write(b, off, Math.min(len, Math.max(0, 16384 - prefix.size())));
      int i = off;
      int end = off + len;
      while (i < end) {
        if (bodyLeft > 0) {
          int take = Math.min(bodyLeft, end - i);
          bodyLeft -= take;
          i += take;
          if (bodyLeft == 0) {
            lastType = currentType;
          }
        } else {
          header[headerHave++] = b[i++];
          if (headerHave == 5) {
            headerHave = 0;
            currentType = header[0] & 0xff;
            bodyLeft = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
            if (bodyLeft == 0) {
              lastType = currentType;
            }
          }
        }
      }
    }
  }

  private static final class RecordingInputStream extends FilterInputStream {
    private final RecordTracker tracker;

    RecordingInputStream(InputStream in, RecordTracker tracker) {
      super(in);
      this.tracker = tracker;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        tracker.consume(new byte[] {(byte) b}, 0, 1);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        tracker.consume(b, off, n);
      }
      return n;
    }
  }
}
