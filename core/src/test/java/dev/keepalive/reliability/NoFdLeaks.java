package dev.keepalive.reliability;

import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testing.Managers.plain;
import static dev.keepalive.testkit.Await.within;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.DescriptorLeakCheck;
import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;

/**
 * The kit's {@link DescriptorLeakCheck} for the manager: fails a test that leaves a file
 * descriptor open after its managers and servers are closed. Its warm-up runs every kind of
 * connection once, so that the descriptors the JDK keeps for good (jars, the random device TLS
 * reads) are open before the first test.
 */
final class NoFdLeaks extends DescriptorLeakCheck {
  @Override
  protected void warmUp() throws Exception {
    TestCertificates certificates = TestCertificates.get();
    try (AcceptingServer server = new AcceptingServer();
        TlsServer tls = TlsServer.echo();
        TlsServer notTls = TlsServer.notTls();
        LogCapture log = new LogCapture();
        ConnectionManager m =
            ConnectionManager.builder().sslContext(certificates.clientContext()).build()) {
      Allocation a = plain(server.port());
      Connection c = get(m.allocate(a));
      c.close();
      get(m.allocate(a)).discard();
      failureOf(m.allocate(plain(Loopback.closedPort())));
      Allocation https = Allocation.to("https", "127.0.0.1", tls.port());
      Connection t = get(m.allocate(https));
      within(t.write(buf("warm")));
      t.inputStream().readNBytes(4);
      t.close();
      failureOf(m.allocate(Allocation.to("https", "127.0.0.1", notTls.port())));
      Harness.onLoop(m, () -> Internals.books(m));
      log.all();
    }
  }
}
