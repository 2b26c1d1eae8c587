package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Against a real nginx on 127.0.0.1, started by {@code scripts/nginx-tls.sh start}: http on
 * KEEPALIVE_NGINX_HTTP_PORT (18080), https on KEEPALIVE_NGINX_HTTPS_PORT (18443) with a
 * certificate from the CA file KEEPALIVE_NGINX_CA; every path answers 200 "keepalive nginx
 * ok\n". Runs only when KEEPALIVE_NGINX=1 (environment or system property); skipped otherwise.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NginxTest {
  private static final String BODY = "keepalive nginx ok\n";

  private ConnectionManager manager;
  private HttpClient client;

  private static String setting(String name, String otherwise) {
    String v = System.getProperty(name);
    if (v == null || v.isEmpty()) {
      v = System.getenv(name);
    }
    return v == null || v.isEmpty() ? otherwise : v;
  }

  @BeforeEach
  void onlyWithNginx() throws Exception {
    String flag = setting("KEEPALIVE_NGINX", "");
    Assumptions.assumeTrue(
        flag.equals("1") || flag.equalsIgnoreCase("true"),
        "NginxTest skipped: set KEEPALIVE_NGINX=1 (and KEEPALIVE_NGINX_CA) after "
            + "scripts/nginx-tls.sh start");
    String ca = setting("KEEPALIVE_NGINX_CA", "");
    if (ca.isEmpty()) {
      throw new IllegalStateException("KEEPALIVE_NGINX=1 but KEEPALIVE_NGINX_CA is not set: "
          + "scripts/nginx-tls.sh start prints the CA file's path");
    }
    manager = ConnectionManager.builder().sslContext(trusting(Path.of(ca))).build();
    client = HttpClient.create(manager);
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.close();
    }
    if (manager != null) {
      manager.close();
    }
  }

  private static SSLContext trusting(Path caFile) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    int i = 0;
    try (InputStream in = Files.newInputStream(caFile)) {
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca" + i++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  private void servesAndReuses(String base) throws Exception {
    HttpResponse first = client.sendBlocking(HttpRequest.get(base + "/first"));
    assertThat(first.status()).isEqualTo(200);
    assertThat(new String(first.body(), StandardCharsets.US_ASCII)).isEqualTo(BODY);
    assertThat(first.headers().first("Server")).startsWith("nginx");
    assertThat(first.servedBy()).isEqualTo(FromCache.NEW);

    HttpResponse head = client.sendBlocking(HttpRequest.head(base + "/head"));
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.servedBy()).isEqualTo(FromCache.IMMEDIATE);

    byte[] upload = new byte[100_000];
    HttpResponse post = client.sendBlocking(HttpRequest.post(base + "/upload", upload));
    assertThat(post.status()).isEqualTo(200);
    assertThat(post.servedBy()).isEqualTo(FromCache.IMMEDIATE);

    HttpResponse streamed =
        client.sendStreaming(HttpRequest.get(base + "/streamed")).get();
    try (InputStream in = streamed.bodyStream()) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo(BODY);
    }
    assertThat(streamed.servedBy()).isEqualTo(FromCache.IMMEDIATE);

    List<CompletableFuture<HttpResponse>> many = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      many.add(client.send(HttpRequest.get(base + "/many/" + i)));
    }
    for (CompletableFuture<HttpResponse> f : many) {
      HttpResponse r = f.get(30, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(new String(r.body(), StandardCharsets.US_ASCII)).isEqualTo(BODY);
    }
    assertThat(manager.stats().open()).isLessThanOrEqualTo(4); // maxPerHost: reused throughout

    HttpResponse close = client.sendBlocking(
        HttpRequest.newBuilder(base + "/close").header("Connection", "close").build());
    assertThat(close.status()).isEqualTo(200);
    assertThat(close.headers().first("Connection")).isEqualToIgnoringCase("close");
  }

  @Test
  void http() throws Exception {
    servesAndReuses("http://127.0.0.1:" + setting("KEEPALIVE_NGINX_HTTP_PORT", "18080"));
  }

  @Test
  void https() throws Exception {
    servesAndReuses("https://127.0.0.1:" + setting("KEEPALIVE_NGINX_HTTPS_PORT", "18443"));
  }

  @Test
  void httpsByHostName() throws Exception {
    servesAndReuses("https://localhost:" + setting("KEEPALIVE_NGINX_HTTPS_PORT", "18443"));
  }
}
