package dev.keepalive.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.testkit.HttpScriptServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A manager, a client and scripted servers per test, all closed after it. */
abstract class HttpTestBase {
  ConnectionManager manager;
  HttpClient client;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void setUpClient() {
    manager = ConnectionManager.builder().build();
    client = HttpClient.create(manager);
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    manager.close();
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  /** Closed after the test. */
  <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  HttpScriptServer server(HttpScriptServer.Script script) {
    return closeLater(new HttpScriptServer(script));
  }

  /** A server answering every request of a connection with {@code response}. */
  HttpScriptServer answering(String response) {
    return closeLater(HttpScriptServer.answering(response));
  }

  /**
   * A server that answers the first request of a connection with {@code response} and then
   * closes the connection.
   */
  HttpScriptServer answeringOnceThenClosing(String response) {
    return server(p -> {
      p.readRequest();
      p.write(response);
    });
  }

  /**
   * GETs / from a server answering every request with {@code response}, and asserts that the next
   * GET is served on the same connection (the response was framed right); returns the first
   * response.
   */
  HttpResponse getThenReuse(String response) throws IOException {
    HttpScriptServer s = answering(response);
    HttpResponse r = get(s.url("/"));
    assertServed(s, FromCache.IMMEDIATE);
    return r;
  }

  HttpResponse get(String url) throws IOException {
    return client.sendBlocking(HttpRequest.get(url));
  }

  /**
   * GETs / from {@code s} once for each of {@code expected}, one after the other, and asserts how
   * each was served.
   */
  void assertServed(HttpScriptServer s, FromCache... expected) throws IOException {
    for (int i = 0; i < expected.length; i++) {
      assertThat(get(s.url("/")).servedBy()).as("GET %d", i + 1).isEqualTo(expected[i]);
    }
  }

  static String text(HttpResponse r) {
    return new String(r.body(), StandardCharsets.ISO_8859_1);
  }
}
