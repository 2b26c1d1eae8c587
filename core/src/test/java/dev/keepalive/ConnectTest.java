package dev.keepalive;

import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.peerOf;
import static dev.keepalive.testkit.Await.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.Loopback;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Connecting: from the bind address asked for, and through every address a name resolves to
 * until one answers.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConnectTest {
  @Test
  void bindAddressIsHonoured() throws Exception {
    InetAddress local = InetAddress.getByName("127.0.0.2");
    try (Socket probe = new Socket()) {
      probe.bind(new java.net.InetSocketAddress(local, 0));
    } catch (IOException e) {
      local = InetAddress.getByName("127.0.0.1"); // only 127.0.0.1 is configured here
    }
    try (AcceptingServer server = new AcceptingServer();
        ConnectionManager m = ConnectionManager.builder().bindAddress(local).build()) {
      Connection c = get(m.allocate(Allocation.to("http", "127.0.0.1", server.port())));
      assertThat(c.localAddress().getAddress()).isEqualTo(local);
      Socket peer = peerOf(server, c.localAddress().getPort());
      assertThat(peer.getInetAddress()).isEqualTo(local);
      c.close();
    }
  }

  /**
   * The original tried only the first address. Here a refused address is followed by the next one:
   * 127.0.0.2 refuses (the server listens on 127.0.0.1 only), 127.0.0.1 answers.
   */
  @Test
  void nextAddressIsTriedWhenOneIsRefused() throws Exception {
    InetAddress first = Loopback.ipv4(2);
    InetAddress second = Loopback.ipv4();
    try (AcceptingServer server = new AcceptingServer(second)) {
      assumeTrue(refuses(first, server.port()), "127.0.0.2 does not refuse connections here");
      TestResolver resolver = TestResolver.answering(Map.of(
          "two.test", List.of(first, second),
          "refusing.test", List.of(first)));
      try (ConnectionManager m = ConnectionManager.builder().resolver(resolver).build()) {
        ResultRecorder rec = new ResultRecorder();
        m.allocate(Allocation.to("http", "refusing.test", server.port()), rec);
        AllocationResult refused = rec.next();
        assertThat(refused.function()).isEqualTo("connect");
        assertThat(refused.errorNum()).isEqualTo(111);
        assertThat(refused.errorStr()).isEqualTo("Connection refused");

        m.allocate(Allocation.to("http", "two.test", server.port()), rec);
        AllocationResult r = rec.next();
        assertThat(r.isSuccess()).as("%s", r).isTrue();
        assertThat(r.fromCache()).isEqualTo(FromCache.NEW);
        assertThat(r.connection().remoteAddress())
            .isEqualTo(new InetSocketAddress(second, server.port()));
        await().until(() -> server.acceptedCount() == 1);
        r.connection().close();
        awaitStats(m, 1, 1, 0, 0, 0);
      }
    }
  }

  private static boolean refuses(InetAddress address, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), 2000);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
