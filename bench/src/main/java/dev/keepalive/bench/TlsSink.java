package dev.keepalive.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.IdentityHashMap;
import java.util.Map;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
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
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;
import tlschannel.ServerTlsChannel;

/**
 * An echo server on 127.0.0.1 for the TLS benchmarks: plain listeners and TLS listeners in one
 * process, so one run compares both. Whatever a client sends comes back unchanged (a 64-byte
 * request, the same 64 bytes back); a connection the client closes is closed here too.
 *
 * <p>TLS: a certificate generated at start (EC P-256, self-signed, CN and SAN IP:127.0.0.1,
 * serverAuth) by BouncyCastle; the server's {@link SSLContext} is the JDK's ("TLS": TLS 1.3 and
 * 1.2) with its default session cache, so clients can resume sessions (TLS 1.3 session tickets).
 * Connections are tls-channel {@link ServerTlsChannel}s over non-blocking sockets, served by one
 * selector thread, with buffers kept for the connection's life (withReleaseBuffers(false)): the
 * benchmark measures the client, so the server is kept cheap.
 *
 * <p>Protocol on standard output: {@code CERT <base64 DER>}, {@code PLAIN <ports>},
 * {@code TLS <ports>}, then {@code PORTS <plain ports> <tls ports>} last, once listening. Standard
 * input: a line {@code STATS} is answered with {@code STATS <tls handshakes> <full handshakes>
 * <echoes> <bytes echoed> <CPU ns of the serving thread>}; EOF ends the process
 * (the parent ended or closed the pipe). A TLS handshake is full when the server chose its
 * certificate for it (the key manager was asked), resumed otherwise.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.keepalive.bench.TlsSink [plain] [tls]} (default
 * one listener of each).
 */
public final class TlsSink {
  private static final int BUFFER = 32 * 1024;

  // written by the selector thread only, read by the stdin thread
  private static volatile long handshakes;
  private static volatile long fullHandshakes;
  private static volatile long echoes;
  private static volatile long bytes;
  /** The thread that serves every connection (its CPU time is reported). */
  private static volatile Thread selectorThread;

  /** Engines whose handshake went through certificate selection (selector thread only). */
  private static final Map<SSLEngine, Boolean> FULL = new IdentityHashMap<>();

  private TlsSink() {}

  /** One accepted connection: plain (io is the socket) or TLS (io is the TLS channel). */
  private static final class Conn {
    final SocketChannel channel;
    ByteChannel io;
    ServerTlsChannel tls;
    SelectionKey key;
    int interest = SelectionKey.OP_READ;
    final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
    boolean writing;

    Conn(SocketChannel channel) {
      this.channel = channel;
    }

    void interest(int ops) {
      if (ops != interest) {
        interest = ops;
        key.interestOps(ops);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    int plainListeners = args.length > 0 ? Integer.parseInt(args[0]) : 1;
    int tlsListeners = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    selectorThread = Thread.currentThread();

    KeyPair keys = keyPair();
    X509Certificate cert = selfSigned(keys);
    SSLContext context = serverContext(keys.getPrivate(), cert);

    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    Selector selector = Selector.open();
    StringBuilder plain = new StringBuilder("PLAIN");
    StringBuilder tls = new StringBuilder("TLS");
    for (int i = 0; i < plainListeners + tlsListeners; i++) {
      boolean isTls = i >= plainListeners;
      ServerSocketChannel server = ServerSocketChannel.open();
      server.bind(new InetSocketAddress(loopback, 0), 4096);
      server.configureBlocking(false);
      server.register(selector, SelectionKey.OP_ACCEPT, isTls ? context : null);
      (isTls ? tls : plain).append(' ').append(server.socket().getLocalPort());
    }

    Thread control = new Thread(TlsSink::control, "tls-sink-stdin");
    control.setDaemon(true);
    control.start();

    synchronized (System.out) {
      System.out.println("CERT " + Base64.getEncoder().encodeToString(cert.getEncoded()));
      System.out.println(plain);
      System.out.println(tls);
      System.out.println("PORTS" + plain.substring(5) + tls.substring(3));
      System.out.flush();
    }

    Sink.selectForever(selector, key -> {
      if (key.isAcceptable()) {
        accept(selector, key);
      } else {
        serve((Conn) key.attachment());
      }
    });
  }

  /** Reads commands from standard input; exits at EOF. */
  private static void control() {
    try {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
      String line;
      while ((line = in.readLine()) != null) {
        if (line.trim().equals("STATS")) {
          synchronized (System.out) {
            System.out.println("STATS " + handshakes + " " + fullHandshakes + " " + echoes + " "
                + bytes + " "
                + ManagementFactory.getThreadMXBean().getThreadCpuTime(selectorThread.getId()));
            System.out.flush();
          }
        }
      }
    } catch (IOException ignored) {
      // same as EOF
    }
    System.exit(0);
  }

  private static void accept(Selector selector, SelectionKey key) throws IOException {
    ServerSocketChannel server = (ServerSocketChannel) key.channel();
    SSLContext context = (SSLContext) key.attachment();
    SocketChannel ch;
    while ((ch = server.accept()) != null) {
      ch.configureBlocking(false);
      ch.socket().setTcpNoDelay(true);
      Conn c = new Conn(ch);
      if (context == null) {
        c.io = ch;
      } else {
        c.tls = ServerTlsChannel.newBuilder(ch, context)
            .withSessionInitCallback(session -> handshakeDone(c))
            .withReleaseBuffers(false)
            .build();
        c.io = c.tls;
      }
      c.key = ch.register(selector, SelectionKey.OP_READ, c);
    }
  }

  private static void handshakeDone(Conn c) {
    handshakes = handshakes + 1;
    if (FULL.remove(c.tls.getSslEngine()) != null) {
      fullHandshakes = fullHandshakes + 1;
    }
  }

  /** Echoes until the connection would block (TLS may hold decrypted input the selector cannot
   *  see, so read until it says so). */
  private static void serve(Conn c) {
    try {
      while (true) {
        if (c.writing) {
          c.io.write(c.buffer);
          if (c.buffer.hasRemaining()) {
            c.interest(SelectionKey.OP_WRITE);
            return;
          }
          c.writing = false;
        }
        c.buffer.clear();
        int n = c.io.read(c.buffer);
        if (n < 0) {
          close(c);
          return;
        }
        if (n == 0) {
          c.interest(SelectionKey.OP_READ);
          return;
        }
        echoes = echoes + 1;
        bytes = bytes + n;
        c.buffer.flip();
        c.writing = true;
      }
    } catch (NeedsReadException e) {
      c.interest(SelectionKey.OP_READ);
    } catch (NeedsWriteException e) {
      c.interest(SelectionKey.OP_WRITE);
    } catch (IOException | RuntimeException e) {
      close(c);
    }
  }

  private static void close(Conn c) {
    c.key.cancel();
    if (c.tls != null) {
      FULL.remove(c.tls.getSslEngine());
    }
    try {
      // not tls.close(): it would answer the client's close_notify, to a closed socket
      c.channel.close();
    } catch (IOException ignored) {
      // closed anyway
    }
  }

  // ---- the certificate ----

  private static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  /** Self-signed, CN=127.0.0.1, SAN IP:127.0.0.1, for server authentication, valid 2 days. */
  private static X509Certificate selfSigned(KeyPair keys) throws Exception {
    Instant now = Instant.now();
    X500Name name = new X500Name("CN=127.0.0.1,O=keepalive bench");
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
        name,
        BigInteger.valueOf(now.toEpochMilli()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(2))),
        name,
        keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    b.addExtension(
        Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    b.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
  }

  private static SSLContext serverContext(PrivateKey key, X509Certificate cert) throws Exception {
    char[] password = "bench".toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("server", key, password, new Certificate[] {cert});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    X509ExtendedKeyManager delegate = null;
    for (KeyManager km : kmf.getKeyManagers()) {
      if (km instanceof X509ExtendedKeyManager) {
        delegate = (X509ExtendedKeyManager) km;
      }
    }
    if (delegate == null) {
      throw new IllegalStateException("no X509ExtendedKeyManager");
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(new KeyManager[] {new CountingKeyManager(delegate)}, null, null);
    return context;
  }

  /**
   * Marks an engine whose handshake chose the server certificate: a full handshake (a resumed
   * one authenticates with the session's key and asks for no certificate).
   */
  private static final class CountingKeyManager extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager delegate;

    CountingKeyManager(X509ExtendedKeyManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      String alias = delegate.chooseEngineServerAlias(keyType, issuers, engine);
      if (alias != null && engine != null) {
        FULL.put(engine, Boolean.TRUE);
      }
      return alias;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return delegate.chooseEngineClientAlias(keyType, issuers, engine);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return delegate.getClientAliases(keyType, issuers);
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return delegate.chooseClientAlias(keyType, issuers, socket);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return delegate.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return delegate.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return delegate.getPrivateKey(alias);
    }
  }
}
