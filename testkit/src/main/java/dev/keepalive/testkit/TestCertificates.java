package dev.keepalive.testkit;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates for TLS tests, generated once per JVM at test time (EC P-256, so it takes
 * milliseconds): a test CA, and server identities signed by it or by a CA nobody trusts.
 * Nothing touches the JVM's global security settings: no provider is installed, and every
 * {@link SSLContext} is a fresh one (its own session cache), so tests never share sessions.
 */
public final class TestCertificates {
  /** A server identity: which certificate a {@link TlsServer} presents. */
  public enum Identity {
    /** CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, signed by the test CA. */
    LOCALHOST,
    /** SAN DNS:wrong.example only, signed by the test CA: fails host name verification. */
    WRONG_HOST,
    /** Like LOCALHOST but valid only until yesterday. */
    EXPIRED,
    /** Like LOCALHOST but signed by another CA that no client context trusts. */
    UNTRUSTED
  }

  private static final char[] PASSWORD = "keepalive".toCharArray();
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());
  private static volatile TestCertificates instance;

  private final X509Certificate ca;
  private final Map<Identity, KeyStore> keyStores = new EnumMap<>(Identity.class);
  private final Map<Identity, X509Certificate> leaves = new EnumMap<>(Identity.class);
  private final KeyStore trustStore;

  private TestCertificates() throws Exception {
    Instant now = Instant.now();
    KeyPair caKeys = newKeyPair();
    X500Name caName = new X500Name("CN=keepalive test CA,O=keepalive tests");
    ca = caCertificate(caName, caKeys, now);
    KeyPair otherCaKeys = newKeyPair();
    X500Name otherCaName = new X500Name("CN=untrusted test CA,O=keepalive tests");
    X509Certificate otherCa = caCertificate(otherCaName, otherCaKeys, now);

    Instant from = now.minus(Duration.ofDays(1));
    Instant until = now.plus(Duration.ofDays(30));
    GeneralNames local = new GeneralNames(new GeneralName[] {
      new GeneralName(GeneralName.dNSName, "localhost"),
      new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
      new GeneralName(GeneralName.iPAddress, "::1")
    });
    GeneralNames wrong = new GeneralNames(new GeneralName(GeneralName.dNSName, "wrong.example"));

    add(Identity.LOCALHOST, "CN=localhost", local, from, until, caName, caKeys, ca);
    add(Identity.WRONG_HOST, "CN=wrong.example", wrong, from, until, caName, caKeys, ca);
    add(
        Identity.EXPIRED,
        "CN=localhost",
        local,
        now.minus(Duration.ofDays(10)),
        now.minus(Duration.ofDays(1)),
        caName,
        caKeys,
        ca);
    add(Identity.UNTRUSTED, "CN=localhost", local, from, until, otherCaName, otherCaKeys, otherCa);

    trustStore = KeyStore.getInstance("PKCS12");
    trustStore.load(null, null);
    trustStore.setCertificateEntry("keepalive-test-ca", ca);
  }

  /** The fixtures of this JVM, generated on first use. */
  public static TestCertificates get() {
    TestCertificates f = instance;
    if (f == null) {
      synchronized (TestCertificates.class) {
        f = instance;
        if (f == null) {
          try {
            f = new TestCertificates();
          } catch (Exception e) {
            throw new IllegalStateException("cannot generate the test certificates", e);
          }
          instance = f;
        }
      }
    }
    return f;
  }

  /** The test CA every client context of {@link #clientContext()} trusts. */
  public X509Certificate caCertificate() {
    return ca;
  }

  /** The leaf certificate a server with {@code identity} presents. */
  public X509Certificate certificate(Identity identity) {
    return leaves.get(identity);
  }

  /** A new client context that trusts the test CA only (and has no keys of its own). */
  public SSLContext clientContext() {
    try {
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trustStore);
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(null, tmf.getTrustManagers(), null);
      return c;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A new client context that trusts the test CA only, through the trust manager {@code wrap}
   * makes of the test CA's own (to watch or delay the certificate check).
   */
  public SSLContext clientContext(UnaryOperator<X509ExtendedTrustManager> wrap) {
    try {
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trustStore);
      X509ExtendedTrustManager ca = null;
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager) {
          ca = (X509ExtendedTrustManager) tm;
        }
      }
      if (ca == null) {
        throw new IllegalStateException("no X509ExtendedTrustManager for the test CA");
      }
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(null, new TrustManager[] {wrap.apply(ca)}, null);
      return c;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A new server context presenting {@code identity} (its certificate and its CA). */
  public SSLContext serverContext(Identity identity) {
    try {
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keyStores.get(identity), PASSWORD);
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(kmf.getKeyManagers(), null, null);
      return c;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------- generation

  private void add(
      Identity id,
      String subject,
      GeneralNames names,
      Instant from,
      Instant until,
      X500Name issuer,
      KeyPair issuerKeys,
      X509Certificate issuerCert)
      throws Exception {
    KeyPair keys = newKeyPair();
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
        issuer,
        serial(),
        Date.from(from),
        Date.from(until),
        new X500Name(subject),
        keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    b.addExtension(
        Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    b.addExtension(Extension.subjectAlternativeName, false, names);
    b.addExtension(
        Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
    b.addExtension(
        Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerCert));
    X509Certificate leaf = sign(b, issuerKeys.getPrivate());
    leaves.put(id, leaf);

    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    List<Certificate> chain = new ArrayList<>(List.of(leaf, issuerCert));
    ks.setKeyEntry("server", keys.getPrivate(), PASSWORD, chain.toArray(new Certificate[0]));
    keyStores.put(id, ks);
  }

  private static X509Certificate caCertificate(X500Name name, KeyPair keys, Instant now)
      throws Exception {
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
        name,
        serial(),
        Date.from(now.minus(Duration.ofDays(2))),
        Date.from(now.plus(Duration.ofDays(60))),
        name,
        keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    b.addExtension(
        Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
    return sign(b, keys.getPrivate());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
    ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    return new JcaX509CertificateConverter().getCertificate(b.build(signer));
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return BigInteger.valueOf(SERIAL.incrementAndGet());
  }
}
