package dev.keepalive;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SmokeTest {
  @Test
  void newThenImmediate() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ConnectionManager m = ConnectionManager.create()) {
      List<Socket> accepted = new ArrayList<>();
      Thread t = new Thread(() -> {
        try {
          while (true) {
            accepted.add(server.accept());
          }
        } catch (Exception e) {
          // closed
        }
      });
      t.setDaemon(true);
      t.start();
      Allocation a = Allocation.to("http", "127.0.0.1", server.getLocalPort());
      Connection c1 = m.allocate(a).get(5, TimeUnit.SECONDS);
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      c1.close();
      Connection c2 = m.allocate(a).get(5, TimeUnit.SECONDS);
      assertThat(c2.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      c2.close();
      org.awaitility.Awaitility.await().until(() -> m.stats().idle() == 1);
      assertThat(m.stats()).isEqualTo(new PoolStats(1, 1, 0, 0, 0));
    }
  }
}
