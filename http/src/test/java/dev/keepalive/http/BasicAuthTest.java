package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testkit.HttpScriptServer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Basic authentication from the user's credentials. */
class BasicAuthTest extends HttpTestBase {
  private HttpScriptServer recording() {
    return answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  }

  @Test
  void credentialsAreSentAsRfc7617Says() throws Exception {
    HttpScriptServer s = recording();
    client.sendBlocking(
        HttpRequest.newBuilder(s.url("/")).basicAuth("Aladdin", "open sesame").build());
    assertThat(s.requests().get(0).header("Authorization"))
        .isEqualTo("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  }

  @Test
  void credentialsAreUtf8AndMayBeEmptyOrHoldColonsInThePassword() throws Exception {
    HttpScriptServer s = recording();
    client.sendBlocking(
        HttpRequest.newBuilder(s.url("/")).basicAuth("j\u00f6rg", "p:\u20ac").build());
    client.sendBlocking(HttpRequest.newBuilder(s.url("/")).basicAuth("", "").build());
    String first = s.requests().get(0).header("Authorization");
    assertThat(new String(Base64.getDecoder().decode(first.substring(6)), StandardCharsets.UTF_8))
        .isEqualTo("j\u00f6rg:p:\u20ac");
    assertThat(s.requests().get(1).header("Authorization")).isEqualTo("Basic Og==");
  }

  @Test
  void anAuthorizationHeaderWins() throws Exception {
    HttpScriptServer s = recording();
    client.sendBlocking(HttpRequest.newBuilder(s.url("/"))
        .header("Authorization", "Bearer t")
        .basicAuth("u", "p")
        .build());
    assertThat(s.requests().get(0).headers().get("authorization")).containsExactly("Bearer t");
  }

  @Test
  void badCredentialsAreRefused() {
    HttpRequest.Builder b = HttpRequest.newBuilder("http://127.0.0.1/");
    assertThatThrownBy(() -> b.basicAuth(null, "p")).hasMessageContaining("user");
    assertThatThrownBy(() -> b.basicAuth("u", null)).hasMessageContaining("password");
    assertThatThrownBy(() -> b.basicAuth("a:b", "p")).hasMessageContaining("':'");
    assertThatThrownBy(() -> b.basicAuth("u", "p\r\nX: y")).hasMessageContaining("control");
  }
}
