package dev.keepalive.reliability;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testing.Fds;
import dev.keepalive.testing.LoopbackServer;
import dev.keepalive.testing.NotTlsServer;
import dev.keepalive.testing.TlsFixtures;
import dev.keepalive.testing.TlsTestServer;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves a file descriptor open: before each test it lists /proc/self/fd;
 * after the test (its managers and servers closed) it waits until no descriptor is open that was
 * not open before, or is open on something else now (a socket number reused by a new socket).
 * Jar files are left out: the JVM opens each jar of the class path on first use and keeps it.
 * Before the first test of the JVM, a warm-up runs every kind of connection once, so that the
 * descriptors the JDK keeps for good (jars, the random device TLS reads) are open already.
 */
final class NoFdLeaks implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(NoFdLeaks.class);
  private static boolean warmedUp;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    warmUp();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    context.getStore(NS).put("fds", list());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    @SuppressWarnings("unchecked")
    Map<Integer, String> before = (Map<Integer, String>) context.getStore(NS).get("fds");
    try {
      Harness.await().until(() -> leaked(before).isEmpty());
    } catch (ConditionTimeoutException e) {
      Map<Integer, String> leaked = leaked(before);
      throw new AssertionError("file descriptors leaked: " + leaked + " (" + Fds.open()
          + " open now, " + before.size() + " before); TCP sockets among them: "
          + TcpTable.byInodes(leaked.values()), e);
    }
  }

  /** Descriptors open now that were not open before, or were open on something else. */
  static Map<Integer, String> leaked(Map<Integer, String> before) {
    Map<Integer, String> now = list();
    now.entrySet().removeIf(e -> e.getValue().endsWith(".jar")
        || e.getValue().equals(before.get(e.getKey())));
    return now;
  }

  /** This process's descriptors and what each is open on. */
  static Map<Integer, String> list() {
    Map<Integer, String> out = new TreeMap<>();
    String[] names = new File("/proc/self/fd").list();
    if (names != null) {
      for (String n : names) {
        try {
          out.put(Integer.parseInt(n), Files.readSymbolicLink(Path.of("/proc/self/fd", n))
              .toString());
        } catch (IOException | NumberFormatException e) {
          // closed meanwhile (the directory listing's own descriptor, for one)
        }
      }
    }
    return out;
  }

  private static synchronized void warmUp() throws Exception {
    if (warmedUp) {
      return;
    }
    warmedUp = true;
    TlsFixtures fix = TlsFixtures.get();
    try (LoopbackServer server = new LoopbackServer();
        TlsTestServer tls = TlsTestServer.echo();
        NotTlsServer notTls = new NotTlsServer();
        LogCapture log = new LogCapture();
        ConnectionManager m = ConnectionManager.builder().sslContext(fix.clientContext()).build()) {
      Allocation a = Harness.plain(server.port());
      Connection c = Harness.get(m.allocate(a));
      c.close();
      Harness.get(m.allocate(a)).discard();
      Harness.failureOf(m.allocate(Harness.plain(LoopbackServer.closedPort())));
      Allocation https = Allocation.to("https", "127.0.0.1", tls.port());
      Connection t = Harness.get(m.allocate(https));
      Harness.within(t.write(Harness.buf("warm")));
      t.inputStream().readNBytes(4);
      t.close();
      Harness.failureOf(m.allocate(Allocation.to("https", "127.0.0.1", notTls.port())));
      Harness.onLoop(m, () -> Internals.books(m));
      log.all();
    }
  }
}
