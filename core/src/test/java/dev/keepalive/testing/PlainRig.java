package dev.keepalive.testing;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.testkit.AcceptingServer;
import java.net.Socket;

/**
 * The set-up many socket tests begin with: a server accepting on 127.0.0.1, a manager, and the
 * plain allocation to that server. Closing it closes the manager, then the server.
 */
public final class PlainRig implements AutoCloseable {
  public final AcceptingServer server;
  public final ConnectionManager m;
  /** {@code http://127.0.0.1:<server's port>}. */
  public final Allocation a;

  /** With a manager of the defaults. */
  public PlainRig() {
    this(ConnectionManager.create());
  }

  /** With {@code m}, which the rig closes. */
  public PlainRig(ConnectionManager m) {
    this.m = m;
    try {
      this.server = new AcceptingServer();
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    this.a = Managers.plain(server.port());
  }

  /** A connection to the server, waited for. */
  public Connection connect() throws Exception {
    return Managers.get(m.allocate(a));
  }

  /** The server's side of {@code c}. */
  public Socket peerOf(Connection c) {
    return Managers.peerOf(server, c);
  }

  @Override
  public void close() {
    m.close();
    server.close();
  }
}
