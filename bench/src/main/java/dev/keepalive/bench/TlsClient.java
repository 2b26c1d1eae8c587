package dev.keepalive.bench;

import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The benchmark's client side of TLS: an {@link SSLContext} that trusts only the {@link TlsSink}'s
 * certificate, with a trust manager that counts the server certificates it checks. The JDK
 * checks the server's certificate only in a full handshake (a resumed one presents none), so the
 * count is the number of full handshakes this context made; every other handshake was resumed.
 */
final class TlsClient {
  final SSLContext context;
  private final CountingTrustManager trust;

  private TlsClient(SSLContext context, CountingTrustManager trust) {
    this.context = context;
    this.trust = trust;
  }

  /** A new context (its own session cache) trusting the sink's certificate only. */
  static TlsClient trusting(SinkProcess sink) throws GeneralSecurityException {
    String der = sink.header("CERT");
    if (der == null) {
      throw new IllegalStateException("the sink printed no certificate");
    }
    X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(der)));
    KeyStore ks;
    try {
      ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    ks.setCertificateEntry("sink", cert);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    X509ExtendedTrustManager delegate = null;
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager) {
        delegate = (X509ExtendedTrustManager) tm;
      }
    }
    if (delegate == null) {
      throw new IllegalStateException("no X509ExtendedTrustManager");
    }
    CountingTrustManager counting = new CountingTrustManager(delegate);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {counting}, null);
    return new TlsClient(context, counting);
  }

  /** Server certificates checked so far: the full handshakes of this context. */
  long fullHandshakes() {
    return trust.checked;
  }

  /**
   * Forgets every cached client session, so the next handshake is full. (A cache size or
   * timeout of 0 means "no limit" in the JDK, not "no cache".)
   */
  void forgetSessions(SSLSession current) {
    if (current != null) {
      current.invalidate();
    }
    SSLSessionContext cache = context.getClientSessionContext();
    List<byte[]> ids = Collections.list(cache.getIds());
    for (byte[] id : ids) {
      SSLSession s = cache.getSession(id);
      if (s != null) {
        s.invalidate();
      }
    }
  }

  /** Counts the server certificates it checks (the engine's handshakes run on the loop thread). */
  private static final class CountingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    volatile long checked;

    CountingTrustManager(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checked = checked + 1;
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      checked = checked + 1;
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      checked = checked + 1;
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
