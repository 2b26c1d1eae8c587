package dev.keepalive.testkit;

import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The kit's servers leave nothing open: closing one closes its listener and the server's side of
 * every connection it accepted, even of one it accepted while close() ran (close() walks the
 * list of accepted connections just before the accept thread adds the new one). Each client sees
 * its connection end, and the process is back to the descriptors it had before (checked after
 * every test by a {@link DescriptorLeakCheck}).
 */
@ExtendWith(ServersCloseEverythingTest.NoLeaks.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServersCloseEverythingTest {
  /** Fails a test that leaves a descriptor open, once every kind of server was used once. */
  static final class NoLeaks extends DescriptorLeakCheck {
    @Override
    protected void warmUp() throws Exception {
      for (Kind kind : Kind.values()) {
        Server server = kind.make();
        try (Socket client = connect(server.port().getAsInt())) {
          await().until(() -> client.isConnected() && server.accepted().getAsInt() == 1);
        } finally {
          server.server().close();
        }
      }
      try (HangingListener hanging = new HangingListener();
          Socket s = new Socket()) {
        s.connect(new InetSocketAddress(Loopback.ipv4(), hanging.port()), 1);
      } catch (SocketTimeoutException expected) {
        // the JDK keeps a socket of its own open once a connect timed out
      }
    }
  }

  /** A kit server, as these tests see it. */
  record Server(
      Kind kind,
      AutoCloseable server,
      IntSupplier port,
      IntSupplier accepted,
      AcceptLoop<? extends Closeable> loop) {}

  /** Every kit server that accepts connections. */
  enum Kind {
    ACCEPTING,
    ECHO,
    SCRIPTED_PEER,
    TLS,
    HTTP_SCRIPT,
    SINK;

    Server make() {
      switch (this) {
        case ACCEPTING -> {
          AcceptingServer s = new AcceptingServer();
          return new Server(this, s, s::port, s::acceptedCount, s.acceptLoop());
        }
        case ECHO -> {
          EchoServer s = new EchoServer();
          return new Server(this, s, s::port, s::acceptedCount, s.acceptLoop());
        }
        case SCRIPTED_PEER -> {
          ScriptedPeer s = ScriptedPeer.passive();
          return new Server(this, s, s::port, s::acceptedCount, s.acceptLoop());
        }
        case TLS -> {
          TlsServer s = TlsServer.builder().behaviour(TlsServer.Behaviour.SINK).build();
          return new Server(this, s, s::port, s::acceptedCount, s.acceptLoop());
        }
        case HTTP_SCRIPT -> {
          HttpScriptServer s = HttpScriptServer.answering("HTTP/1.1 204 No Content\r\n\r\n");
          return new Server(this, s, s::port, s::connections, s.acceptLoop());
        }
        case SINK -> {
          SinkServer s = new SinkServer();
          return new Server(this, s, s::port, s::acceptedCount, null);
        }
        default -> throw new AssertionError(this);
      }
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(Loopback.ipv4(), port), (int) Await.LONG.toMillis());
    return s;
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void closingAServerClosesEveryConnectionItAccepted(Kind kind) throws Exception {
    Server server = kind.make();
    List<Socket> clients = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        clients.add(connect(server.port().getAsInt()));
      }
      await().until(() -> server.accepted().getAsInt() == 3);
      server.server().close();
      for (Socket c : clients) {
        PeerIo.awaitClosed(c); // EOF or a reset, never a timeout
      }
    } finally {
      for (Socket c : clients) {
        c.close();
      }
      server.server().close();
    }
  }

  /** Every kind but the sink, whose one thread accepts, serves and closes everything. */
  @ParameterizedTest
  @EnumSource(value = Kind.class, names = "SINK", mode = EnumSource.Mode.EXCLUDE)
  void aConnectionAcceptedWhileTheServerClosesIsClosedToo(Kind kind) throws Exception {
    Server server = kind.make();
    CountDownLatch accepted = new CountDownLatch(1);
    CountDownLatch closeWalkedTheList = new CountDownLatch(1);
    server.loop().afterAccept = () -> {
      accepted.countDown();
      try {
        closeWalkedTheList.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    try (Socket client = connect(server.port().getAsInt())) {
      assertThat(accepted.await(Await.LONG.toSeconds(), TimeUnit.SECONDS)).isTrue();
      server.server().close(); // the accepted connection is not in the list yet
      assertThat(server.loop().accepted()).isEmpty();
      closeWalkedTheList.countDown();
      await().until(() -> server.loop().accepted().size() == 1);
      PeerIo.awaitClosed(client); // EOF or a reset, never a timeout
    } finally {
      closeWalkedTheList.countDown();
      server.server().close();
    }
  }

  @Test
  void aHangingListenersQueueIsFullSoAConnectNeverCompletes() throws Exception {
    try (HangingListener hanging = new HangingListener();
        Socket s = new Socket()) {
      assertThat(TcpTable.acceptQueue(hanging.port())).isEqualTo(2);
      // the SYN is dropped, so this connect can only end by its own timeout
      assertThatThrownBy(
              () -> s.connect(new InetSocketAddress(Loopback.ipv4(), hanging.port()), 300))
          .isInstanceOf(SocketTimeoutException.class);
    }
  }

  @Test
  void aClosedPortRefuses() {
    for (int port : new int[] {Loopback.closedPort(), Loopback.closedPortOutsideEphemeralRange()}) {
      assertThatThrownBy(() -> connect(port).close()).isInstanceOf(java.net.ConnectException.class);
    }
  }

  @Test
  void theTcpTableSeesUnreadBytesAndTheDescriptorsSeeTheSocket() throws Exception {
    try (AcceptingServer server = new AcceptingServer();
        Socket client = connect(server.port())) {
      Socket peer = server.peerOf(client.getLocalPort());
      PeerIo.write(peer, "unread");
      await().until(() -> TcpTable.receiveQueue(client.getLocalPort()) == 6);
      TcpTable.Entry e = TcpTable.find(client.getLocalPort(), server.port());
      assertThat(e.state()).isEqualTo(TcpTable.ESTABLISHED);
      assertThat(Descriptors.snapshot().values()).contains("socket:[" + e.inode() + "]");
      assertThat(TcpTable.byInodes(List.of("socket:[" + e.inode() + "]")))
          .containsExactly(client.getLocalPort() + " -> " + server.port() + " (state 01)");
    }
  }
}
