package dev.keepalive.reliability;

import dev.keepalive.testing.TlsFixtures;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A TLS peer on 127.0.0.1 (the LOCALHOST identity of {@link TlsFixtures}) that the test drives:
 * after the handshake each connection only reads (and drops) what the client sends, and the test
 * writes through the TLS layer ({@link Peer#tls}) or straight onto the TCP stream beneath it
 * ({@link Peer#raw}), for bytes that are no TLS at all, and can cut a TLS record in two
 * ({@link Peer#gate()}).
 */
final class TlsPeerServer implements AutoCloseable {
  /**
   * The raw output of an accepted socket. It passes everything through, except that the test
   * can have the next write (the SSLSocket writes one TLS record per write) cut in two: the first
   * half goes out at once, the rest when the test says.
   */
  static final class Gate extends OutputStream {
    private final OutputStream out;
    private volatile boolean splitNext;
    private byte[] held;

    Gate(OutputStream out) {
      this.out = out;
    }

    /** The next write sends only its first half; {@link #releaseHeld()} sends the rest. */
    void splitNextWrite() {
      splitNext = true;
    }

    synchronized void releaseHeld() throws IOException {
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

  /** An accepted socket whose output goes through a {@link Gate}. */
  private static final class GatedSocket extends Socket {
    private Gate gate;

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
      if (gate == null) {
        gate = new Gate(super.getOutputStream());
      }
      return gate;
    }
  }

  /** The server's side of one client connection. */
  static final class Peer {
    final Socket raw;
    final SSLSocket tls;
    final CompletableFuture<Void> handshake = new CompletableFuture<>();
    final CompletableFuture<Void> ended = new CompletableFuture<>();

    Peer(Socket raw, SSLSocket tls) {
      this.raw = raw;
      this.tls = tls;
    }

    int clientPort() {
      return raw.getPort();
    }

    /** The gate on the raw output: what the SSLSocket and {@link #raw} write goes through it. */
    Gate gate() throws IOException {
      return (Gate) raw.getOutputStream();
    }
  }

  private final SSLContext context = TlsFixtures.get().serverContext(TlsFixtures.Identity.LOCALHOST);
  private final ServerSocket server;
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  TlsPeerServer() {
    try {
      server = new ServerSocket() {
        @Override
        public Socket accept() throws IOException {
          Socket s = new GatedSocket();
          implAccept(s);
          return s;
        }
      };
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 128);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread t = new Thread(this::acceptLoop, "tls-peer-acceptor-" + port());
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  int acceptedCount() {
    return peers.size();
  }

  /** The connection from the client's local port {@code clientPort}, handshake done (waits). */
  Peer peerOf(int clientPort) throws Exception {
    Harness.await().until(() -> peers.stream().anyMatch(p -> p.clientPort() == clientPort));
    Peer p = peers.stream().filter(x -> x.clientPort() == clientPort).findFirst().orElseThrow();
    Harness.within(p.handshake);
    return p;
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket raw;
      try {
        raw = server.accept();
        raw.setTcpNoDelay(true);
      } catch (IOException e) {
        return;
      }
      SSLSocket tls;
      try {
        tls = (SSLSocket) context.getSocketFactory().createSocket(raw, null, raw.getPort(), true);
        tls.setUseClientMode(false);
      } catch (IOException e) {
        closeQuietly(raw);
        continue;
      }
      Peer p = new Peer(raw, tls);
      peers.add(p);
      if (closed) { // close() may have gone through the list before the add
        closeQuietly(tls);
        closeQuietly(raw);
        return;
      }
      Thread t = new Thread(() -> run(p), "tls-peer-" + raw.getPort());
      t.setDaemon(true);
      t.start();
    }
  }

  private static void run(Peer p) {
    try {
      p.tls.startHandshake();
      p.handshake.complete(null);
      InputStream in = p.tls.getInputStream();
      byte[] buf = new byte[16 * 1024];
      while (in.read(buf) >= 0) {
        // drop what the client sends
      }
    } catch (IOException e) {
      p.handshake.completeExceptionally(e);
    } finally {
      closeQuietly(p.tls);
      closeQuietly(p.raw);
      p.ended.complete(null);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Peer p : peers) {
      closeQuietly(p.tls);
      closeQuietly(p.raw);
    }
  }
}
