package dev.keepalive;

import static dev.keepalive.testing.Managers.assertReused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keepalive.testing.TestResolver;
import dev.keepalive.testkit.Loopback;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * https against a real nginx on 127.0.0.1, started by {@code scripts/nginx-tls.sh start}: HTTP/1.1
 * requests written through the manager's connections and responses read with the blocking
 * stream. Runs only when KEEPALIVE_NGINX=1 (environment or system property); the CA file comes
 * from KEEPALIVE_NGINX_CA, the ports from KEEPALIVE_NGINX_HTTPS_PORT (18443) and
 * KEEPALIVE_NGINX_HTTP_PORT (18080).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NginxTlsTest {
  private static final Duration LONG = Duration.ofSeconds(20);
  private static final String BODY = "keepalive nginx ok\n";

  private static int httpsPort;
  private static int httpPort;
  private static Path caFile;

  private static boolean told;

  /** Each test is skipped (reported as such) unless KEEPALIVE_NGINX=1. */
  @BeforeEach
  void onlyWithNginx() {
    String flag = setting("KEEPALIVE_NGINX", "");
    boolean on = flag.equals("1") || flag.equalsIgnoreCase("true");
    String why = "NginxTlsTest skipped: set KEEPALIVE_NGINX=1 (and KEEPALIVE_NGINX_CA) after "
        + "scripts/nginx-tls.sh start to run it against a real nginx";
    if (!on && !told) {
      told = true;
      System.out.println(why);
    }
    Assumptions.assumeTrue(on, why);
    configure();
  }

  private static synchronized void configure() {
    if (caFile != null) {
      return;
    }
    String ca = setting("KEEPALIVE_NGINX_CA", "");
    if (ca.isEmpty()) {
      throw new IllegalStateException("KEEPALIVE_NGINX=1 but KEEPALIVE_NGINX_CA is not set: "
          + "scripts/nginx-tls.sh start prints the CA file's path");
    }
    Path file = Path.of(ca);
    if (!Files.isReadable(file)) {
      throw new IllegalStateException("KEEPALIVE_NGINX_CA=" + ca + " is not a readable file");
    }
    httpsPort = Integer.parseInt(setting("KEEPALIVE_NGINX_HTTPS_PORT", "18443"));
    httpPort = Integer.parseInt(setting("KEEPALIVE_NGINX_HTTP_PORT", "18080"));
    caFile = file;
  }

  /** A system property, else the environment variable of that name, else {@code fallback}. */
  private static String setting(String name, String fallback) {
    String v = System.getProperty(name);
    if (v == null || v.isBlank()) {
      v = System.getenv(name);
    }
    return v == null || v.isBlank() ? fallback : v.trim();
  }

  /** A new client context (its own session cache) that trusts the script's CA only. */
  private static SSLContext trustingNginxCa() throws Exception {
    X509Certificate ca;
    try (InputStream in = Files.newInputStream(caFile)) {
      ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("nginx-ca", ca);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(null, tmf.getTrustManagers(), null);
    return c;
  }

  /** nginx listens on 127.0.0.1 only: names used here resolve there. */
  private static Resolver toLoopback() {
    return TestResolver.answering(Map.of(
        "localhost", List.of(Loopback.ipv4()),
        "not-the-name.invalid", List.of(Loopback.ipv4())));
  }

  private static ConnectionManager.Builder manager() throws Exception {
    return ConnectionManager.builder().sslContext(trustingNginxCa()).resolver(toLoopback());
  }

  private static Connection get(CompletableFuture<Connection> f) throws Exception {
    return f.get(LONG.toSeconds(), TimeUnit.SECONDS);
  }

  /** A response: status code, headers (lower-case names) and body. */
  private record Response(int status, Map<String, String> headers, String body) {}

  /** Writes a GET for {@code path} and reads the response (Content-Length framing). */
  private static Response request(Connection c, String host, String path) throws IOException {
    c.readTimeout(LONG);
    OutputStream out = c.outputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: keepalive-test"
            + "\r\nConnection: keep-alive\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = c.inputStream();
    String statusLine = readLine(in);
    String[] parts = statusLine.split(" ", 3);
    assertThat(parts[0]).as(statusLine).isEqualTo("HTTP/1.1");
    int status = Integer.parseInt(parts[1]);
    Map<String, String> headers = new java.util.TreeMap<>();
    for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
      int colon = line.indexOf(':');
      headers.put(
          line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).trim());
    }
    assertThat(headers)
        .as("nginx frames a return body with Content-Length")
        .containsKey("content-length");
    int length = Integer.parseInt(headers.get("content-length"));
    byte[] body = in.readNBytes(length);
    assertThat(body).as("the whole body arrived").hasSize(length);
    return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  /** One CRLF-terminated line, without the CRLF. */
  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        throw new IOException("EOF inside the response head after " + line);
      }
      line.write(b);
    }
    byte[] bytes = line.toByteArray();
    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
    return new String(bytes, 0, n, StandardCharsets.US_ASCII);
  }

  @Test
  void httpsRequestsOnANewThenAnImmediateConnection() throws Exception {
    try (ConnectionManager m = manager().build()) {
      Allocation a = Allocation.to("https", "localhost", httpsPort);
      Connection c1 = get(m.allocate(a));
      assertThat(c1.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(c1.sslSession()).isNotNull();
      assertThat(c1.sslSession().getProtocol()).isIn("TLSv1.3", "TLSv1.2");
      int port = c1.localAddress().getPort();
      Response r1 = request(c1, "localhost", "/");
      assertThat(r1.status()).isEqualTo(200);
      assertThat(r1.headers().get("server")).startsWith("nginx");
      assertThat(r1.body()).isEqualTo(BODY);
      c1.close(); // the whole response was read: back to the pool
      await(m, new PoolStats(1, 1, 0, 0, 0));

      Connection c2 = get(m.allocate(a));
      assertReused(c2, port);
      for (int i = 0; i < 3; i++) {
        Response r = request(c2, "localhost", "/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(BODY);
      }
      c2.close();
      Connection c3 = get(m.allocate(a));
      assertThat(c3.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(request(c3, "localhost", "/").status()).isEqualTo(200);
      c3.close();
    }
  }

  /** nginx tells whether it resumed the session ($ssl_session_reused: "r" or "."). */
  @Test
  void aSecondNewConnectionResumesTheSession() throws Exception {
    try (ConnectionManager m = manager().build()) {
      checkResumption(m, null);
    }
  }

  @Test
  void aSecondNewConnectionResumesATls12Session() throws Exception {
    SSLContext ctx = trustingNginxCa();
    SSLParameters tls12 = ctx.getDefaultSSLParameters();
    tls12.setProtocols(new String[] {"TLSv1.2"});
    tls12.setEndpointIdentificationAlgorithm("HTTPS");
    try (ConnectionManager m = ConnectionManager.builder()
        .sslContext(ctx)
        .sslParameters(tls12)
        .resolver(toLoopback())
        .build()) {
      Connection[] both = checkResumption(m, "TLSv1.2");
      assertThat(both[1].sslSession().getId())
          .as("the client resumed the session it had")
          .isEqualTo(both[0].sslSession().getId());
      both[0].close();
      both[1].close();
    }
  }

  /** Two NEW connections, the first still held: the second resumes the first's session. */
  private static Connection[] checkResumption(ConnectionManager m, String protocol)
      throws Exception {
    Allocation a = Allocation.to("https", "localhost", httpsPort);
    Connection c1 = get(m.allocate(a));
    String p = c1.sslSession().getProtocol();
    if (protocol != null) {
      assertThat(p).isEqualTo(protocol);
    }
    Response r1 = request(c1, "localhost", "/session"); // also reads TLS 1.3 session tickets
    assertThat(r1.status()).isEqualTo(200);
    assertThat(r1.body()).isEqualTo("reused=. protocol=" + p + "\n");
    Connection c2 = get(m.allocate(a)); // c1 is still leased: a second socket
    assertThat(c2.fromCache()).isEqualTo(FromCache.NEW);
    assertThat(c2.localAddress().getPort()).isNotEqualTo(c1.localAddress().getPort());
    Response r2 = request(c2, "localhost", "/session");
    assertThat(r2.body())
        .as("nginx resumed the session of the first connection")
        .isEqualTo("reused=r protocol=" + p + "\n");
    return new Connection[] {c1, c2};
  }

  @Test
  void plainHttpToTheSameServerNeverGetsATlsSocket() throws Exception {
    try (ConnectionManager m = manager().build()) {
      Connection tls = get(m.allocate(Allocation.to("https", "127.0.0.1", httpsPort)));
      assertThat(request(tls, "127.0.0.1", "/").status()).isEqualTo(200);
      tls.close();
      Connection plain = get(m.allocate(Allocation.to("http", "127.0.0.1", httpPort)));
      assertThat(plain.fromCache()).isEqualTo(FromCache.NEW);
      assertThat(plain.sslSession()).isNull();
      Response r = request(plain, "127.0.0.1", "/");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(BODY);
      plain.close();
      await(m, new PoolStats(2, 2, 0, 0, 0));
    }
  }

  @Test
  void aNameTheCertificateDoesNotCoverFailsWithSslify() throws Exception {
    try (ConnectionManager m = manager().build()) {
      CompletableFuture<Connection> f =
          m.allocate(Allocation.to("https", "not-the-name.invalid", httpsPort));
      Throwable t = catchThrowable(() -> f.get(LONG.toSeconds(), TimeUnit.SECONDS));
      assertThat(t).isInstanceOf(ExecutionException.class);
      assertThat(t.getCause()).isInstanceOf(AllocationException.class);
      AllocationException e = (AllocationException) t.getCause();
      assertThat(e.function()).isEqualTo("sslify");
      assertThat(e.errorNum()).isNull();
      assertThat(e.errorStr()).contains("not-the-name.invalid");
      await(m, new PoolStats(0, 0, 0, 0, 0));
    }
  }

  private static void await(ConnectionManager m, PoolStats expected) {
    org.awaitility.Awaitility.await()
        .atMost(LONG)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .untilAsserted(() -> assertThat(m.stats()).isEqualTo(expected));
  }
}
