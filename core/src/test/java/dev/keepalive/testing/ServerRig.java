package dev.keepalive.testing;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.AcceptingServer;
import dev.keepalive.testkit.TlsServer;
import java.net.Socket;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The set-up many socket tests begin with: a server on 127.0.0.1, a manager, and the allocation
 * to that server. Closing it closes the manager, then the server; as a JUnit extension ({@code
 * @RegisterExtension}) it is closed after each test.
 *
 * @param <S> the server's type
 */
public final class ServerRig<S extends AutoCloseable> implements AutoCloseable, AfterEachCallback {
  public final S server;
  public final ConnectionManager m;
  /** {@code <scheme>://127.0.0.1:<server's port>}. */
  public final Allocation a;

  private ServerRig(S server, ConnectionManager m, Allocation a) {
    this.server = server;
    this.m = m;
    this.a = a;
  }

  /** An {@link AcceptingServer}, a manager of the defaults, and http to that server. */
  public static ServerRig<AcceptingServer> plain() {
    return plain(ConnectionManager::create);
  }

  /** An {@link AcceptingServer}, the manager {@code manager} makes, and http to that server. */
  public static ServerRig<AcceptingServer> plain(Supplier<ConnectionManager> manager) {
    AcceptingServer server = new AcceptingServer();
    return open(server, manager, Managers.plain(server.port()));
  }

  /** {@code server}, the manager {@code manager} makes, and https to that server. */
  public static ServerRig<TlsServer> https(TlsServer server, Supplier<ConnectionManager> manager) {
    return open(server, manager, Allocation.to("https", "127.0.0.1", server.port()));
  }

  private static <S extends AutoCloseable> ServerRig<S> open(
      S server, Supplier<ConnectionManager> manager, Allocation a) {
    try {
      return new ServerRig<>(server, manager.get(), a);
    } catch (RuntimeException | Error e) {
      closeQuietly(server);
      throw e;
    }
  }

  /** A connection to the server, waited for. */
  public Connection connect() throws Exception {
    return Managers.get(m.allocate(a));
  }

  /** The server's side of {@code c}; for an {@link AcceptingServer} only. */
  public Socket peerOf(Connection c) {
    return Managers.peerOf((AcceptingServer) server, c);
  }

  @Override
  public void close() throws Exception {
    try {
      m.close();
    } finally {
      server.close();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    close();
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // the first failure is the one to report
    }
  }
}
