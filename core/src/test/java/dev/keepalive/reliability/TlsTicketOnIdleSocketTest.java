package dev.keepalive.reliability;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.stats;
import static dev.keepalive.testkit.Await.LONG;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.TcpTable;
import dev.keepalive.testkit.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A TLS 1.3 server sends its NewSessionTicket after the handshake, when the client may already
 * have the connection, or have given it back to the pool. After the handshake every TLS 1.3
 * record goes out as "application data" on the wire (the real type is encrypted inside), so the
 * part of a ticket record looks exactly like the part of an answer until its last byte is in.
 * A good socket must not be discarded for a ticket, whole or cut anywhere, that reaches it idle or
 * as it is given back: it stays pooled and is handed out again (IMMEDIATE), and works.
 *
 * <p>Timing is the test's: a proxy between the client and a JDK TLS server holds everything the
 * server sends after the client's Finished (that is, the ticket) and lets it through in the cuts
 * each case asks for, waiting after each cut until the client has read it.
 */
@ReliabilityTest
class TlsTicketOnIdleSocketTest {
  private static final TestCertificates FIX = TestCertificates.get();

  /** Where the ticket record is cut: each cut is let through, then read by the client. */
  enum Cut {
    WHOLE,
    /** Three bytes of the five-byte record header, then the rest. */
    IN_THE_HEADER,
    /** The header alone, then the body. */
    AFTER_THE_HEADER,
    /** The header and half the body, then the rest. */
    HALF_THE_BODY,
    /** All but the last byte, then the last. */
    BEFORE_THE_LAST_BYTE,
    /** Three bytes, then half the body, then the rest. */
    THREE_PIECES;

    int[] points(int recordLength) {
      switch (this) {
        case WHOLE:
          return new int[0];
        case IN_THE_HEADER:
          return new int[] {3};
        case AFTER_THE_HEADER:
          return new int[] {5};
        case HALF_THE_BODY:
          return new int[] {5 + (recordLength - 5) / 2};
        case BEFORE_THE_LAST_BYTE:
          return new int[] {recordLength - 1};
        default:
          return new int[] {3, 5 + (recordLength - 5) / 2};
      }
    }
  }

  /** When the ticket's first piece reaches the client. */
  enum When {
    /** The connection is idle in the pool. */
    IDLE,
    /** While it is leased (nobody reads): the give-back's probe takes the piece. */
    BEFORE_THE_GIVE_BACK
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(When.class)
  void aWholeTicket(When when) throws Exception {
    ticketReachesAPooledSocket(when, Cut.WHOLE);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = Cut.class, names = "WHOLE", mode = EnumSource.Mode.EXCLUDE)
  void aTicketCutAcrossReadsOnAnIdleSocket(Cut cut) throws Exception {
    ticketReachesAPooledSocket(When.IDLE, cut);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = Cut.class, names = "WHOLE", mode = EnumSource.Mode.EXCLUDE)
  void aTicketCutAcrossReadsAsTheSocketIsGivenBack(Cut cut) throws Exception {
    ticketReachesAPooledSocket(When.BEFORE_THE_GIVE_BACK, cut);
  }

  private void ticketReachesAPooledSocket(When when, Cut cut) throws Exception {
    try (EchoTlsServer server = new EchoTlsServer();
        TicketProxy proxy = new TicketProxy(server.port());
        ConnectionManager m = ConnectionManager.builder()
            .sslContext(FIX.clientContext())
            .keepAlive(Harness.NO_EXPIRY)
            .build()) {
      Allocation a = Allocation.to("https", "127.0.0.1", proxy.port());
      Connection c = get(m.allocate(a));
      assertThat(c.sslSession().getProtocol()).isEqualTo("TLSv1.3");
      int port = c.localAddress().getPort();
      TicketProxy.Link link = proxy.linkOf(port);
      within(server.handshakes.get(0)); // the server wrote its ticket before this completes
      byte[] ticket = link.awaitHeldRecord();
      assertThat(ticket[0]).as("outer record type").isEqualTo((byte) 23);

      int[] points = cut.points(ticket.length);
      int sent = 0;
      if (when == When.BEFORE_THE_GIVE_BACK && points.length > 0) {
        sent = link.release(points[0]); // reaches the client's socket; nobody reads it yet
        awaitInClientSocket(port, proxy.port(), sent);
      }
      c.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      for (int i = sent == 0 ? 0 : 1; i < points.length; i++) {
        sent += link.release(points[i] - sent);
        awaitReadByClient(port, proxy.port());
        assertThat(link.clientGone())
            .as("client closed its socket after %d bytes", sent)
            .isFalse();
      }
      link.releaseTheRest(); // and from now on pass everything through
      awaitReadByClient(port, proxy.port());

      Connection next = get(m.allocate(a));
      assertThat(next.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(next.localAddress().getPort()).isEqualTo(port);
      next.readTimeout(LONG);
      next.outputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
      next.outputStream().flush();
      assertThat(new String(next.inputStream().readNBytes(4), StandardCharsets.US_ASCII))
          .isEqualTo("ping");
      next.close();
      awaitStats(m, stats(1, 1, 0, 0, 0));
      assertThat(link.clientGone()).isFalse();
    }
  }

  /** {@code bytes} more have arrived in the client's receive queue (nobody read them). */
  private static void awaitInClientSocket(int clientPort, int proxyPort, int bytes) {
    await().until(() -> {
      TcpTable.Entry e = TcpTable.find(clientPort, proxyPort);
      return e != null && e.rxQueue() >= bytes;
    });
  }

  /** The client has read everything the proxy sent it (or its socket is gone). */
  private static void awaitReadByClient(int clientPort, int proxyPort) {
    await().until(() -> {
      TcpTable.Entry e = TcpTable.find(clientPort, proxyPort);
      return e == null || e.rxQueue() == 0;
    });
  }

  /** A JDK TLS server (TLS 1.3, tickets on by default) that echoes what it reads. */
  private static final class EchoTlsServer implements AutoCloseable {
    private final SSLContext context = FIX.serverContext(TestCertificates.Identity.LOCALHOST);
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<Void>> handshakes = new CopyOnWriteArrayList<>();

    EchoTlsServer() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
      Thread t = new Thread(this::accept, "echo-tls-acceptor");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (true) {
        Socket raw;
        try {
          raw = server.accept();
        } catch (IOException e) {
          return;
        }
        sockets.add(raw);
        CompletableFuture<Void> handshake = new CompletableFuture<>();
        handshakes.add(handshake);
        Thread t = new Thread(() -> serve(raw, handshake), "echo-tls-" + raw.getPort());
        t.setDaemon(true);
        t.start();
      }
    }

    private void serve(Socket raw, CompletableFuture<Void> handshake) {
      try (SSLSocket tls =
          (SSLSocket) context.getSocketFactory().createSocket(raw, null, raw.getPort(), true)) {
        tls.setUseClientMode(false);
        tls.startHandshake(); // TLS 1.3: ends by writing the NewSessionTicket
        handshake.complete(null);
        InputStream in = tls.getInputStream();
        OutputStream out = tls.getOutputStream();
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        handshake.completeExceptionally(e);
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }

  /**
   * A TCP proxy that reads the TLS record framing of both directions. Once the client has sent an
   * application-data record (its Finished, the last message of its handshake), everything the
   * server sends is held: the server's flight was all forwarded before, as the client could not
   * finish without it, so what is held starts with the server's post-handshake messages.
   */
  private static final class TicketProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int serverPort;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    TicketProxy(int serverPort) throws IOException {
      this.serverPort = serverPort;
      listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
      Thread t = new Thread(this::accept, "ticket-proxy-acceptor");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    Link linkOf(int clientPort) {
      await().until(() -> links.stream().anyMatch(l -> l.client.getPort() == clientPort));
      return links.stream()
          .filter(l -> l.client.getPort() == clientPort)
          .findFirst()
          .orElseThrow();
    }

    private void accept() {
      while (true) {
        try {
          Socket client = listener.accept();
          sockets.add(client);
          Socket server = new Socket();
          sockets.add(server);
          server.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), serverPort));
          client.setTcpNoDelay(true);
          server.setTcpNoDelay(true);
          Link l = new Link(client, server);
          links.add(l);
          l.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    @Override
    public void close() throws IOException {
      listener.close();
      for (Socket s : sockets) {
        s.close();
      }
    }

    /** One proxied connection. */
    static final class Link {
      final Socket client;
      final Socket server;
      private volatile boolean clientFinished;
      private volatile boolean clientGone;
      private boolean passing;
      private final ByteArrayOutputStream held = new ByteArrayOutputStream();
      private int releasedOfHeld;

      Link(Socket client, Socket server) {
        this.client = client;
        this.server = server;
      }

      void start() {
        Thread up = new Thread(this::clientToServer, "ticket-proxy-up-" + client.getPort());
        Thread down = new Thread(this::serverToClient, "ticket-proxy-down-" + client.getPort());
        up.setDaemon(true);
        down.setDaemon(true);
        up.start();
        down.start();
      }

      /** True once the client closed or reset its side. */
      boolean clientGone() {
        return clientGone;
      }

      /** Waits for one whole record held back and returns it. */
      byte[] awaitHeldRecord() {
        byte[][] out = new byte[1][];
        await().until(() -> {
          synchronized (this) {
            byte[] b = held.toByteArray();
            if (b.length >= 5 && b.length >= 5 + (((b[3] & 0xff) << 8) | (b[4] & 0xff))) {
              out[0] = java.util.Arrays.copyOf(b, 5 + (((b[3] & 0xff) << 8) | (b[4] & 0xff)));
              return true;
            }
            return false;
          }
        });
        return out[0];
      }

      /** Sends the client the next {@code n} held bytes; returns n. */
      synchronized int release(int n) throws IOException {
        byte[] b = held.toByteArray();
        client.getOutputStream().write(b, releasedOfHeld, n);
        client.getOutputStream().flush();
        releasedOfHeld += n;
        return n;
      }

      /** Sends the client all that is held, and passes what comes next straight through. */
      synchronized void releaseTheRest() throws IOException {
        byte[] b = held.toByteArray();
        client.getOutputStream().write(b, releasedOfHeld, b.length - releasedOfHeld);
        client.getOutputStream().flush();
        releasedOfHeld = b.length;
        passing = true;
      }

      private void clientToServer() {
        try {
          InputStream in = client.getInputStream();
          OutputStream out = server.getOutputStream();
          byte[] header = new byte[5];
          while (true) {
            if (in.readNBytes(header, 0, 5) < 5) {
              break;
            }
            int length = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
            byte[] body = in.readNBytes(length);
            if (header[0] == 23) {
              clientFinished = true; // before the server can read it and answer
            }
            out.write(header);
            out.write(body);
            out.flush();
            if (body.length < length) {
              break;
            }
          }
        } catch (IOException e) {
          // reset
        }
        clientGone = true;
      }

      private void serverToClient() {
        try {
          InputStream in = server.getInputStream();
          byte[] buf = new byte[16 * 1024];
          int n;
          while ((n = in.read(buf)) >= 0) {
            synchronized (this) {
              if (clientFinished && !passing) {
                held.write(buf, 0, n);
              } else {
                client.getOutputStream().write(buf, 0, n);
                client.getOutputStream().flush();
              }
            }
          }
        } catch (IOException e) {
          // closed
        }
      }
    }
  }
}
