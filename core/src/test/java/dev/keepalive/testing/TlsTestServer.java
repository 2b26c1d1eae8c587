package dev.keepalive.testing;

import dev.keepalive.testing.TlsFixtures.Identity;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A thread-per-connection server on 127.0.0.1 for TLS tests. TLS behaviours accept TCP, layer a
 * server-mode {@link SSLSocket} over it (JSSE, a certificate from {@link TlsFixtures}) and run the
 * handshake; plain behaviours never speak TLS (for handshakes that must fail or hang).
 *
 * <p>Every accepted connection is a {@link Peer}: the test can see its handshake, what SNI the
 * client sent, how the server's read loop ended (clean EOF or an error), and the content type of
 * the last raw TLS record the client sent before EOF (21 = alert, so with TLS 1.2 a close_notify
 * can be told from a bare FIN).
 */
public final class TlsTestServer implements AutoCloseable {
  /** What the server does with each connection. */
  public enum Behaviour {
    /** TLS: writes back whatever it reads until EOF. */
    ECHO(true),
    /** TLS: after the handshake writes the greeting once, then reads (and drops) until EOF. */
    WRITE_THEN_IDLE(true),
    /** TLS: after the handshake reads nothing until {@link #releaseReaders()}, then drops input. */
    SINK_PAUSED(true),
    /** TLS: closes the SSLSocket (close_notify, FIN) as soon as the handshake is done. */
    CLOSE_AFTER_HANDSHAKE(true),
    /** Plain TCP: accepts and never answers; reads and drops input until EOF. */
    SILENT(false),
    /** Plain TCP: answers the first bytes with an HTTP error, then reads until EOF. */
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
  private final ServerSocket server;
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger handshakes = new AtomicInteger();

  private TlsTestServer(Builder b) {
    this.behaviour = b.behaviour;
    this.context = b.behaviour.tls ? TlsFixtures.get().serverContext(b.identity) : null;
    this.protocols = b.protocols;
    this.greeting = b.greeting;
    try {
      server = new RecordingServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 128);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread acceptor = new Thread(this::acceptLoop, "tls-test-acceptor-" + port());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A TLS echo server with the LOCALHOST identity and JSSE's default protocols. */
  public static TlsTestServer echo() {
    return builder().build();
  }

  /** Settings of a server. */
  public static final class Builder {
    private Behaviour behaviour = Behaviour.ECHO;
    private Identity identity = Identity.LOCALHOST;
    private String[] protocols;
    private byte[] greeting = "hello from the server\n".getBytes(StandardCharsets.US_ASCII);

    private Builder() {}

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

    public TlsTestServer build() {
      return new TlsTestServer(this);
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  public Behaviour behaviour() {
    return behaviour;
  }

  /** Every connection accepted so far, in order. */
  public List<Peer> peers() {
    return peers;
  }

  public int acceptedCount() {
    return peers.size();
  }

  /** Handshakes that completed on the server's side. */
  public int handshakesCompleted() {
    return handshakes.get();
  }

  /** The connection from the client's local port {@code clientPort}; waits up to 10 s. */
  public Peer peerOf(int clientPort) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    synchronized (peers) {
      while (true) {
        for (Peer p : peers) {
          if (p.clientPort() == clientPort) {
            return p;
          }
        }
        long left = end - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("no connection accepted from port " + clientPort);
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(peers, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  /** SINK_PAUSED: lets every connection (present and future) start reading. */
  public void releaseReaders() {
    release.countDown();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        return;
      }
      Peer p = new Peer((RecordingSocket) s);
      synchronized (peers) {
        peers.add(p);
        peers.notifyAll();
      }
      Thread t = new Thread(p::run, "tls-test-" + behaviour + "-" + s.getPort());
      t.setDaemon(true);
      t.start();
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    release.countDown();
    for (Peer p : peers) {
      p.closeQuietly();
    }
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
      try {
        if (tls != null) {
          tls.close();
        }
      } catch (IOException ignored) {
        // closing
      }
      try {
        raw.close();
      } catch (IOException ignored) {
        // closing
      }
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
      try {
        if (tls != null) {
          tls.close();
        }
      } catch (IOException ignored) {
        // the client is gone
      }
      try {
        raw.close();
      } catch (IOException ignored) {
        // closing
      }
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
                + "Content-Length: 12\r\n\r\nnot TLS here").getBytes(StandardCharsets.US_ASCII));
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

  /** Accepts {@link RecordingSocket}s. */
  private static final class RecordingServerSocket extends ServerSocket {
    RecordingServerSocket() throws IOException {
      super();
    }

    @Override
    public Socket accept() throws IOException {
      RecordingSocket s = new RecordingSocket();
      implAccept(s);
      return s;
    }
  }

  /** A socket whose input is watched by a {@link RecordTracker}. */
  private static final class RecordingSocket extends Socket {
    final RecordTracker recorder = new RecordTracker();
    private InputStream in;

    @Override
    public synchronized InputStream getInputStream() throws IOException {
      if (in == null) {
        in = new RecordingInputStream(super.getInputStream(), recorder);
      }
      return in;
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

    private final java.io.ByteArrayOutputStream prefix = new java.io.ByteArrayOutputStream();

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
