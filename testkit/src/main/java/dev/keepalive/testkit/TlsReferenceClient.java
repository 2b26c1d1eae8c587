package dev.keepalive.testkit;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * A plain JSSE client that makes the handshake the connection manager is specified to make: an
 * {@link SSLEngine} from the same context, created with the peer's host and port, with the
 * manager's documented default parameters (TLS 1.3 and 1.2, "HTTPS" endpoint identification,
 * SNI for host names) or the parameters a test gives the manager. It runs the engine over a
 * blocking socket, only to learn the exact message of the SSL error a failing handshake gives on
 * this JDK (SSLEngine and SSLSocket word some errors differently, so it is an engine).
 */
public final class TlsReferenceClient {
  private TlsReferenceClient() {}

  /** The manager's documented default parameters for a connection to {@code host}. */
  public static SSLParameters defaultParameters(SSLContext context, String host) {
    SSLParameters p = context.getDefaultSSLParameters();
    p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    p.setEndpointIdentificationAlgorithm("HTTPS");
    p.setServerNames(isIpLiteral(host) ? List.of() : List.of(new SNIHostName(host)));
    return p;
  }

  /**
   * Connects to 127.0.0.1:{@code port} as a client of {@code host}, handshakes with
   * {@code params}, and returns the message of the SSLException the handshake fails with.
   *
   * @throws AssertionError if the handshake succeeds, or the peer closes before any SSL error
   */
  public static String handshakeError(
      SSLContext context, SSLParameters params, String host, int port) throws IOException {
    SSLEngine engine = context.createSSLEngine(host, port);
    engine.setUseClientMode(true);
    engine.setSSLParameters(params);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 10_000);
      s.setSoTimeout(10_000);
      try {
        handshake(engine, s.getInputStream(), s.getOutputStream());
      } catch (EOFException e) {
        throw new AssertionError("the peer closed during the reference handshake", e);
      } catch (SSLException e) {
        return e.getMessage();
      }
      throw new AssertionError("the reference handshake with " + host + ":" + port + " succeeded");
    }
  }

  private static void handshake(SSLEngine engine, InputStream in, OutputStream out)
      throws IOException {
    int packet = engine.getSession().getPacketBufferSize();
    ByteBuffer empty = ByteBuffer.allocate(0);
    ByteBuffer netOut = ByteBuffer.allocate(packet);
    ByteBuffer netIn = ByteBuffer.allocate(packet);
    ByteBuffer app = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
    engine.beginHandshake();
    while (true) {
      switch (engine.getHandshakeStatus()) {
        case NEED_WRAP -> {
          netOut.clear();
          engine.wrap(empty, netOut);
          out.write(netOut.array(), 0, netOut.position());
          out.flush();
        }
        case NEED_UNWRAP -> {
          netIn.flip();
          SSLEngineResult r = engine.unwrap(netIn, app);
          netIn.compact();
          app.clear();
          if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
            if (!netIn.hasRemaining()) {
              ByteBuffer bigger = ByteBuffer.allocate(netIn.capacity() * 2);
              netIn.flip();
              bigger.put(netIn);
              netIn = bigger;
            }
            int n = in.read(netIn.array(), netIn.position(), netIn.remaining());
            if (n < 0) {
              throw new EOFException("the peer closed the connection");
            }
            netIn.position(netIn.position() + n);
          }
        }
        case NEED_TASK -> {
          Runnable task;
          while ((task = engine.getDelegatedTask()) != null) {
            task.run();
          }
        }
        default -> {
          return; // FINISHED or NOT_HANDSHAKING
        }
      }
    }
  }

  private static boolean isIpLiteral(String host) {
    return host.indexOf(':') >= 0 || host.matches("[0-9.]+");
  }
}
