package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keepalive.testkit.HttpScriptServer;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TestCertificates.Identity;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The curl-named options of {@code keepalive get} (and bench's body), against scripted servers. */
class CurlOptionsTest {
  private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

  private static String basic(String pair) {
    return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void dataMethodAndUserAreSentAsCurlSendsThem(@TempDir Path dir) throws Exception {
    try (HttpScriptServer s = HttpScriptServer.answering(OK)) {
      Path file =
          Files.write(dir.resolve("body.json"), "{\"a\":1}".getBytes(StandardCharsets.UTF_8));
      assertThat(Cli.run("get", "-d", "a=1&b=2", "-u", "ann:pw", s.url("/form")).status())
          .isZero();
      Cli.Run putRun = Cli.run(
          "get",
          "-X",
          "PUT",
          "-H",
          "Content-Type: application/json",
          "-d",
          "@" + file,
          s.url("/file"));
      assertThat(putRun.status()).as(putRun.toString()).isZero();
      String withUser = s.url("/u").replace("http://", "http://bob:s%40cret@");
      assertThat(Cli.run("get", withUser).status()).isZero();

      HttpScriptServer.Request form = s.requests().get(0);
      assertThat(form.method()).isEqualTo("POST");
      assertThat(new String(form.body(), StandardCharsets.UTF_8)).isEqualTo("a=1&b=2");
      assertThat(form.header("Content-Type")).isEqualTo("application/x-www-form-urlencoded");
      assertThat(form.header("Authorization")).isEqualTo(basic("ann:pw"));
      HttpScriptServer.Request put = s.requests().get(1);
      assertThat(put.method()).isEqualTo("PUT");
      assertThat(put.body()).isEqualTo(Files.readAllBytes(file));
      assertThat(put.header("Content-Type")).isEqualTo("application/json");
      assertThat(s.requests().get(2).header("Authorization")).isEqualTo(basic("bob:s@cret"));
      assertThat(s.requests().get(2).target()).isEqualTo("/u");
    }
  }

  @Test
  void redirectsAreFollowedOnlyWithL() throws Exception {
    try (HttpScriptServer target = HttpScriptServer.answering(OK);
        HttpScriptServer s = HttpScriptServer.answering("HTTP/1.1 302 Found\r\nLocation: "
            + target.url("/there") + "\r\nContent-Length: 0\r\n\r\n")) {
      Cli.Run plain = Cli.run("get", s.url("/"));
      assertThat(plain.out()).startsWith("302 Found");
      Cli.Run followed = Cli.run("get", "-L", s.url("/"));
      assertThat(followed.out()).startsWith("200 OK");
      assertThat(target.requests()).hasSize(1);
    }
  }

  @Test
  void plainHttpGoesThroughTheProxyGivenWithX() throws Exception {
    try (HttpScriptServer proxy = HttpScriptServer.answering(OK)) {
      Cli.Run run =
          Cli.run("get", "-x", "http://127.0.0.1:" + proxy.port(), "http://origin.invalid/page");
      assertThat(run.status()).as(run.toString()).isZero();
      assertThat(proxy.requests())
          .singleElement()
          .satisfies(r -> assertThat(r.target()).isEqualTo("http://origin.invalid/page"));
      Cli.Run bypass = Cli.run(
          "get",
          "-x",
          "http://127.0.0.1:" + proxy.port(),
          "--noproxy",
          "*",
          "http://origin.invalid/page");
      assertThat(bypass.status()).isEqualTo(1);
      assertThat(bypass.err()).contains("unknown host");
      assertThat(Cli.run("get", "-x", "ftp://nope", "http://x/").status()).isEqualTo(2);
    }
  }

  @Test
  void cacertTrustsThatCaAndInsecureTrustsAnything(@TempDir Path dir) throws Exception {
    TestCertificates certs = TestCertificates.get();
    Path pem = dir.resolve("ca.pem");
    Files.writeString(
        pem,
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder().encodeToString(certs.caCertificate().getEncoded())
            + "\n-----END CERTIFICATE-----\n");
    try (HttpScriptServer good =
            HttpScriptServer.overTls(certs.serverContext(Identity.LOCALHOST), p -> {
              while (p.readRequest() != null) {
                p.write(OK);
              }
            });
        HttpScriptServer wrongName =
            HttpScriptServer.overTls(certs.serverContext(Identity.WRONG_HOST), p -> {
              while (p.readRequest() != null) {
                p.write(OK);
              }
            })) {
      String url = "https://localhost:" + good.port() + "/";
      assertThat(Cli.run("get", url).status())
          .as("the JDK does not trust the test CA")
          .isEqualTo(1);
      assertThat(Cli.run("get", "--cacert", pem.toString(), url).status()).isZero();
      String wrong = "https://localhost:" + wrongName.port() + "/";
      assertThat(Cli.run("get", "--cacert", pem.toString(), wrong).status()).isEqualTo(1);
      assertThat(Cli.run("get", "-k", wrong).status()).isZero();
    }
  }

  @Test
  void verboseShowsTheTlsSessionAndThePeerCertificate(@TempDir Path dir) throws Exception {
    TestCertificates certs = TestCertificates.get();
    Path pem = dir.resolve("ca.pem");
    Files.writeString(
        pem,
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder().encodeToString(certs.caCertificate().getEncoded())
            + "\n-----END CERTIFICATE-----\n");
    try (HttpScriptServer s =
        HttpScriptServer.overTls(certs.serverContext(Identity.LOCALHOST), p -> {
          while (p.readRequest() != null) {
            p.write(OK);
          }
        })) {
      String url = "https://localhost:" + s.port() + "/secure";
      Cli.Run run = Cli.run("get", "-v", "--cacert", pem.toString(), url);

      assertThat(run.status()).as(run.toString()).isZero();
      assertThat(run.errLines())
          .contains("* URL: " + url)
          .anySatisfy(l ->
              assertThat(l).matches("\\* Connected to: (127\\.0\\.0\\.1|\\[::1\\]):" + s.port()))
          .anySatisfy(l -> assertThat(l).matches("\\* TLS: TLSv1\\.[23], TLS_\\w+"))
          .contains("* Certificate subject: CN=localhost")
          .anySatisfy(l ->
              assertThat(l).startsWith("* Certificate issuer: ").contains("CN=keepalive test CA"))
          .containsSubsequence(
              "> GET /secure HTTP/1.1", "> Host: localhost:" + s.port(), ">", "< HTTP/1.1 200 OK");
    }
  }

  @Test
  void benchTimesTheTlsHandshakes() throws Exception {
    TestCertificates certs = TestCertificates.get();
    try (HttpScriptServer s =
        HttpScriptServer.overTls(certs.serverContext(Identity.LOCALHOST), p -> {
          while (p.readRequest() != null) {
            p.write(OK);
          }
        })) {
      Cli.Run run = Cli.run(
          "bench", "--json", "-k", "-n", "20", "-c", "2", "https://localhost:" + s.port() + "/");

      assertThat(run.status()).as(run.toString()).isZero();
      JsonNode r = new ObjectMapper().readTree(run.out());
      long opened = r.get("connectionsOpened").asLong();
      assertThat(opened).isBetween(1L, 2L);
      JsonNode tls = r.get("tlsHandshakeMs");
      assertThat(tls.get("count").asLong()).isEqualTo(opened);
      assertThat(tls.get("p50").asDouble()).isPositive();
      assertThat(tls.get("max").asDouble())
          .isGreaterThanOrEqualTo(tls.get("p99").asDouble());
      assertThat(r.get("connectMs").get("count").asLong()).isEqualTo(opened);
      assertThat(r.get("connectionWaitMs").get("count").asLong()).isEqualTo(20);
    }
  }

  @Test
  void benchSendsItsBodyWithEveryRequest() throws Exception {
    try (HttpScriptServer s = HttpScriptServer.answering(OK)) {
      Cli.Run run = Cli.run("bench", "-n", "20", "-c", "2", "--body", "payload", s.url("/in"));
      assertThat(run.status()).as(run.toString()).isZero();
      assertThat(s.requests()).hasSize(20).allSatisfy(r -> {
        assertThat(r.method()).isEqualTo("POST");
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("payload");
      });
    }
  }
}
