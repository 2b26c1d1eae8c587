package dev.keepalive.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import tlschannel.ClientTlsChannel;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;

/**
 * The TLS stage, for the sockets of TLS schemes: after the TCP connect, a tls-channel
 * {@link ClientTlsChannel} over the non-blocking socket runs the handshake on the event loop, one
 * step per readiness, so it never blocks the loop. The socket is still connecting for the pool
 * until the handshake is done, so the request's timeout and deallocate() cover it. A failed
 * handshake fails with "sslify".
 *
 * <p>Secure by default: SNI set to the host name (never for a literal address), host name
 * verification on ("HTTPS" endpoint identification), TLS 1.3 and 1.2 only. Engines are created
 * with the peer's host and port, so the JDK resumes sessions for new connections to one host.
 * User {@link SSLParameters} replace these defaults, except that SNI is added when they name no
 * server.
 */
final class Tls implements ConnectStage {
  private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  private final Settings settings;
  private final Progress progress;
  private SSLContext context;

  Tls(Settings settings, Progress progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /** {@code s} is connected over TCP: start its handshake. */
  @Override
  public Failure start(SocketIo s) {
    try {
      SSLEngine engine = engine(s);
      s.records = new TlsRecordTracker(s.channel);
      s.tls = ClientTlsChannel.newBuilder(s.records, engine).build();
    } catch (GeneralSecurityException | RuntimeException e) {
      return failure(e);
    }
    onReady(s);
    return null;
  }

  /** One step of {@code s}'s handshake; called again on the readiness it asks for. */
  @Override
  public void onReady(SocketIo s) {
    try {
      s.tls.handshake();
    } catch (NeedsReadException e) {
      s.interest(SelectionKey.OP_READ);
      return;
    } catch (NeedsWriteException e) {
      s.interest(SelectionKey.OP_WRITE);
      return;
    } catch (IOException | RuntimeException e) {
      progress.failed(s, failure(e));
      return;
    }
    s.interest(0);
    s.transport = new TlsTransport(s.tls, s.records);
    progress.done(s);
  }

  private SSLEngine engine(SocketIo s) throws GeneralSecurityException {
    SSLContext ctx = context();
    SSLEngine engine = ctx.createSSLEngine(s.host, s.port);
    engine.setUseClientMode(true);
    SSLParameters user = settings.sslParameters();
    if (user != null) {
      engine.setSSLParameters(user);
    } else {
      SSLParameters p = engine.getSSLParameters();
      List<String> supported = Arrays.asList(engine.getSupportedProtocols());
      List<String> protocols = new ArrayList<>();
      for (String proto : PROTOCOLS) {
        if (supported.contains(proto)) {
          protocols.add(proto);
        }
      }
      p.setProtocols(protocols.toArray(new String[0]));
      p.setEndpointIdentificationAlgorithm("HTTPS");
      engine.setSSLParameters(p);
    }
    SSLParameters p = engine.getSSLParameters();
    List<SNIServerName> names = p.getServerNames();
    if ((names == null || names.isEmpty()) && !s.literalHost) {
      p.setServerNames(List.of(new SNIHostName(s.host)));
      engine.setSSLParameters(p);
    }
    return engine;
  }

  private SSLContext context() throws GeneralSecurityException {
    if (context == null) {
      context = settings.sslContext() != null ? settings.sslContext() : SSLContext.getDefault();
    }
    return context;
  }

  static Failure failure(Throwable e) {
    String text = e.getMessage();
    if (e instanceof EOFException || e instanceof ClosedChannelException) {
      text = "Connection closed by peer during the TLS handshake";
    } else if (text == null) {
      text = e.getClass().getName();
    }
    return new Failure(Failure.Function.SSLIFY, null, text);
  }
}
