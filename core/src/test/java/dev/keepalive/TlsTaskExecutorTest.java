package dev.keepalive;

import static dev.keepalive.testing.Managers.EMPTY;
import static dev.keepalive.testing.Managers.ascii;
import static dev.keepalive.testing.Managers.assertTimedOut;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testing.Managers.stats;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testing.ResultRecorder;
import dev.keepalive.testkit.EchoServer;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code Builder.tlsTaskExecutor}: the handshake's delegated tasks (here seen through the trust
 * manager's certificate check, which runs inside one) run on the given executor, the event loop
 * serves other requests meanwhile, and a handshake given up while its task runs is answered once
 * and leaves nothing open. Without an executor, or when it rejects a task, they run on the loop.
 * JSSE servers on 127.0.0.1 with the test CA; a gate in the trust manager holds a check as long
 * as a test needs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsTaskExecutorTest {
  private static final TestCertificates FIX = TestCertificates.get();

  /** The test CA's trust manager, noting the thread of each server check and holding it at a
   *  gate. */
  private static final class WatchedTrust extends X509ExtendedTrustManager {
    final X509ExtendedTrustManager ca;
    final List<String> threads = new CopyOnWriteArrayList<>();
    final CountDownLatch entered = new CountDownLatch(1);
    volatile CountDownLatch gate = new CountDownLatch(0);

    WatchedTrust(X509ExtendedTrustManager ca) {
      this.ca = ca;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      threads.add(Thread.currentThread().getName());
      entered.countDown();
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CertificateException("interrupted");
      }
      ca.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      ca.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      ca.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      ca.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      ca.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      ca.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return ca.getAcceptedIssuers();
    }
  }

  private final ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
    Thread t = new Thread(r, "tls-task-test");
    t.setDaemon(true);
    return t;
  });
  private WatchedTrust trust;

  private ConnectionManager.Builder watched() {
    SSLContext context = FIX.clientContext(ca -> trust = new WatchedTrust(ca));
    return ConnectionManager.builder().sslContext(context);
  }

  private static Allocation https(TlsServer server) {
    return Allocation.to("https", "127.0.0.1", server.port());
  }

  @AfterEach
  void stopExecutor() {
    executor.shutdownNow();
  }

  private static void echo(Connection c, String text) throws IOException {
    c.outputStream().write(ascii(text));
    c.outputStream().flush();
    byte[] back = c.inputStream().readNBytes(text.length());
    assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo(text);
  }

  @Test
  void theHandshakesTasksRunOnTheGivenExecutor() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = watched().tlsTaskExecutor(executor).build()) {
      Connection c = get(m.allocate(https(server)));
      assertThat(c.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c.sslSession().getProtocol()).isEqualTo("TLSv1.3");
      echo(c, "through a handshake finished off the loop");
      c.close();
      assertThat(trust.threads).isNotEmpty().allMatch(name -> name.equals("tls-task-test"));
    }
  }

  @Test
  void withoutAnExecutorTheTasksRunOnTheLoop() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = watched().build()) {
      Connection c = get(m.allocate(https(server)));
      echo(c, "on the loop");
      c.close();
      assertThat(trust.threads).isNotEmpty().allMatch(name -> name.startsWith("keepalive-loop"));
    }
  }

  @Test
  void aTaskTheExecutorRejectsRunsOnTheLoop() throws Exception {
    try (TlsServer server = TlsServer.echo();
        ConnectionManager m = watched()
            .tlsTaskExecutor(task -> {
              throw new RejectedExecutionException("full");
            })
            .build()) {
      Connection c = get(m.allocate(https(server)));
      echo(c, "rejected, so run on the loop");
      c.close();
      assertThat(trust.threads).isNotEmpty().allMatch(name -> name.startsWith("keepalive-loop"));
    }
  }

  @Test
  void theHandshakeWaitsForItsTaskWhileTheLoopServesOthers() throws Exception {
    try (TlsServer server = TlsServer.echo();
        EchoServer other = new EchoServer()) {
      ConnectionManager.Builder b = watched();
      trust.gate = new CountDownLatch(1);
      try (ConnectionManager m = b.tlsTaskExecutor(executor).build()) {
        CompletableFuture<Connection> secured = m.allocate(https(server));
        assertThat(trust.entered.await(20, TimeUnit.SECONDS)).isTrue();
        Connection plainOne = get(m.allocate(plain(other.port())));
        echo(plainOne, "served while a certificate check blocks");
        plainOne.close();
        assertThat(secured).as("the handshake still waits for its check").isNotDone();
        trust.gate.countDown();
        Connection c = get(secured);
        echo(c, "after the check");
        c.close();
      }
    }
  }

  @Test
  void aHandshakeThatTimesOutDuringItsTaskIsAnsweredOnceAndClosed() throws Exception {
    try (TlsServer server = TlsServer.echo();
        EchoServer other = new EchoServer()) {
      ConnectionManager.Builder b = watched();
      trust.gate = new CountDownLatch(1);
      try (ConnectionManager m =
          b.tlsTaskExecutor(executor).timeout(Duration.ofMillis(300)).build()) {
        ResultRecorder rec = new ResultRecorder();
        m.allocate(https(server), rec);
        assertTimedOut(rec.next());
        trust.gate.countDown(); // the task ends now, and its next step finds the socket closed
        within(server.peers().get(0).ended());
        // a round trip through the loop after the task's next step was queued: it has run
        executor.shutdown();
        assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        Connection plainOne = get(m.allocate(plain(other.port())));
        plainOne.close();
        assertThat(rec.all()).hasSize(1);
        awaitStats(m, stats(1, 1, 0, 0, 0));
      }
    }
  }

  @Test
  void closingTheManagerDuringATaskAnswersShutdown() throws Exception {
    try (TlsServer server = TlsServer.echo()) {
      ConnectionManager.Builder b = watched();
      trust.gate = new CountDownLatch(1);
      ConnectionManager m = b.tlsTaskExecutor(executor).build();
      CompletableFuture<Connection> secured = m.allocate(https(server));
      assertThat(trust.entered.await(20, TimeUnit.SECONDS)).isTrue();
      m.close();
      assertThatThrownBy(secured::get).hasMessageContaining("shutdown");
      trust.gate.countDown();
      executor.shutdown();
      assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      within(server.peers().get(0).ended());
      assertThat(m.stats()).isEqualTo(EMPTY);
    }
  }
}
