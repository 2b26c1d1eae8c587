package dev.keepalive;

import static dev.keepalive.testing.Managers.assertFailure;
import static dev.keepalive.testing.Managers.buf;
import static dev.keepalive.testing.Managers.failureOf;
import static dev.keepalive.testing.Managers.get;
import static dev.keepalive.testkit.Await.await;
import static dev.keepalive.testkit.Await.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keepalive.testkit.Loopback;
import dev.keepalive.testkit.ScriptedPeer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Proxy tunnels against scripted proxies on loopback, which misbehave on purpose: what each
 * answer of an HTTP CONNECT or SOCKS5 proxy becomes, that nothing the target sends first is lost,
 * and that the request's deadline covers the tunnel. (The same against real tinyproxy, squid and
 * microsocks: RealProxyTest.)
 */
class ProxyTunnelTest {
  private final ConnectionManager m =
      ConnectionManager.builder().timeout(Duration.ofSeconds(20)).build();
  /** What the scripted proxies received before answering. */
  private final List<String> requests = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    m.close();
  }

  /** Reads an HTTP request header (to its blank line) from {@code peer}. */
  private String readHeader(SocketChannel peer) throws IOException {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocate(1);
    while (!seen.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      one.clear();
      if (peer.read(one) < 0) {
        throw new IOException("client went away");
      }
      seen.write(one.get(0));
    }
    String header = seen.toString(StandardCharsets.ISO_8859_1);
    requests.add(header);
    return header;
  }

  private static void write(SocketChannel peer, String text) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1));
    while (b.hasRemaining()) {
      peer.write(b);
    }
  }

  private static void write(SocketChannel peer, int... bytes) throws IOException {
    byte[] b = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      b[i] = (byte) bytes[i];
    }
    ByteBuffer buf = ByteBuffer.wrap(b);
    while (buf.hasRemaining()) {
      peer.write(buf);
    }
  }

  private static byte[] read(SocketChannel peer, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    while (b.hasRemaining()) {
      if (peer.read(b) < 0) {
        throw new IOException("client went away");
      }
    }
    return b.array();
  }

  /** An HTTP proxy that reads the CONNECT request and answers {@code answer}. */
  private ScriptedPeer httpProxy(String answer) {
    return new ScriptedPeer(peer -> {
      readHeader(peer);
      write(peer, answer);
      read(peer, 1); // holds the connection until the client closes it
    });
  }

  private static Allocation target(String host, int port, ScriptedPeer proxy) {
    return Allocation.to("tcp", host, port).via(ProxyServer.http("127.0.0.1", proxy.port()));
  }

  @Test
  void connectAsksForTheTargetAndTheBytesAfterTheAnswerReachTheHolder() throws Exception {
    // the target's greeting comes in the same segment as the proxy's answer: none of it may be
    // consumed by the tunnel stage
    try (ScriptedPeer proxy =
        httpProxy("HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\nHELLO from the target")) {
      Connection c = get(m.allocate(target("example.org", 8443, proxy)));
      c.readTimeout(Duration.ofSeconds(20));
      byte[] greeting = c.inputStream().readNBytes("HELLO from the target".length());
      assertThat(new String(greeting, StandardCharsets.US_ASCII))
          .isEqualTo("HELLO from the target");
      assertThat(requests)
          .singleElement()
          .isEqualTo("CONNECT example.org:8443 HTTP/1.1\r\nHost: example.org:8443\r\n\r\n");
      c.discard();
    }
  }

  @Test
  void credentialsGoAsBasicProxyAuthorizationAndIpv6TargetsInBrackets() throws Exception {
    try (ScriptedPeer proxy = httpProxy("HTTP/1.0 200 OK\r\n\r\n")) {
      Allocation a = Allocation.to("tcp", "::1", 25)
          .via(ProxyServer.http("127.0.0.1", proxy.port()).credentials("ann", "p:ss wörd"));
      get(m.allocate(a)).discard();
      String basic =
          Base64.getEncoder().encodeToString("ann:p:ss wörd".getBytes(StandardCharsets.UTF_8));
      assertThat(requests)
          .singleElement()
          .isEqualTo("CONNECT [::1]:25 HTTP/1.1\r\nHost: [::1]:25\r\n"
              + "Proxy-Authorization: Basic " + basic + "\r\n\r\n");
    }
  }

  @Test
  void aRefusalIsFunctionProxyWithTheStatusLine() throws Exception {
    try (ScriptedPeer proxy = httpProxy(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")) {
      assertFailure(
          failureOf(m.allocate(target("example.org", 443, proxy))),
          "proxy",
          null,
          "HTTP/1.1 407 Proxy Authentication Required");
    }
    try (ScriptedPeer proxy = httpProxy("HTTP/1.1 502 Bad Gateway\r\n\r\n")) {
      assertFailure(
          failureOf(m.allocate(target("example.org", 443, proxy))),
          "proxy",
          null,
          "HTTP/1.1 502 Bad Gateway");
    }
    await().until(() -> m.stats().open() == 0);
  }

  @Test
  void interimAnswersAreSkipped() throws Exception {
    try (ScriptedPeer proxy = httpProxy("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")) {
      get(m.allocate(target("example.org", 443, proxy))).discard();
    }
  }

  @Test
  void garbageAnEarlyCloseAndAnEndlessHeaderAreClearFailures() throws Exception {
    try (ScriptedPeer proxy = httpProxy("SSH-2.0-OpenSSH_9.2\r\n\r\n")) {
      assertFailure(
          failureOf(m.allocate(target("example.org", 443, proxy))),
          "proxy",
          null,
          "malformed proxy answer to CONNECT: \"SSH-2.0-OpenSSH_9.2\"");
    }
    try (ScriptedPeer proxy = new ScriptedPeer(peer -> {
      readHeader(peer);
      write(peer, "HTTP/1.1 200 OK\r\n");
      peer.close();
    })) {
      assertFailure(
          failureOf(m.allocate(target("example.org", 443, proxy))),
          "proxy",
          null,
          "proxy closed the connection before the tunnel was up");
    }
    try (ScriptedPeer proxy = new ScriptedPeer(peer -> {
      readHeader(peer);
      write(peer, "HTTP/1.1 200 OK\r\n");
      String line = "X-Filler: " + "x".repeat(1000) + "\r\n";
      for (int i = 0; i < 20; i++) {
        write(peer, line);
      }
      read(peer, 1);
    })) {
      assertFailure(
          failureOf(m.allocate(target("example.org", 443, proxy))),
          "proxy",
          null,
          "proxy answer longer than 16384 bytes");
    }
    await().until(() -> m.stats().open() == 0);
  }

  @Test
  void aSilentProxyIsCoveredByTheRequestTimeout() throws Exception {
    try (ScriptedPeer proxy = new ScriptedPeer(peer -> {
      readHeader(peer);
      read(peer, 1); // never answers
    })) {
      Allocation a = target("example.org", 443, proxy).timeout(Duration.ofMillis(300));
      assertFailure(failureOf(m.allocate(a)), "connect", 110, "Connection timed out");
      await().until(() -> m.stats().open() == 0);
    }
  }

  @Test
  void anUnreachableProxyIsAConnectFailure() throws Exception {
    Allocation a = Allocation.to("tcp", "example.org", 443)
        .via(ProxyServer.http("127.0.0.1", Loopback.closedPort()));
    assertFailure(failureOf(m.allocate(a)), "connect", 111, "Connection refused");
  }

  @Test
  void tunnelsArePooledPerProxyAndTarget() throws Exception {
    try (ScriptedPeer proxy = new ScriptedPeer(peer -> {
      readHeader(peer);
      write(peer, "HTTP/1.1 200 OK\r\n\r\n");
      while (true) { // the tunnel: echo
        write(peer, new String(read(peer, 4), StandardCharsets.ISO_8859_1));
      }
    })) {
      Allocation toA = target("a.example", 443, proxy);
      Connection first = get(m.allocate(toA));
      int port = first.localAddress().getPort();
      first.close();
      Connection again = get(m.allocate(toA));
      assertThat(again.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      assertThat(again.localAddress().getPort()).isEqualTo(port);
      within(again.write(buf("ping")));
      again.readTimeout(Duration.ofSeconds(20));
      assertThat(new String(again.inputStream().readNBytes(4), StandardCharsets.US_ASCII))
          .isEqualTo("ping");
      again.close();
      // another target through the same proxy, and the same target directly: never that socket
      Connection toB = get(m.allocate(target("b.example", 443, proxy)));
      assertThat(toB.fromCache()).isEqualTo(FromCache.NEW);
      Connection withCredentials = get(
          m.allocate(toA.via(ProxyServer.http("127.0.0.1", proxy.port()).credentials("u", "p"))));
      assertThat(withCredentials.fromCache()).isEqualTo(FromCache.NEW);
      toB.discard();
      withCredentials.discard();
      assertThat(m.stats(toA).idle()).isEqualTo(1);
      assertThat(requests).hasSize(3);
    }
  }

  // ---------------------------------------------------------------- SOCKS5

  /** A SOCKS5 proxy that accepts no-auth and answers the CONNECT with {@code reply}. */
  private ScriptedPeer socks(int reply, List<byte[]> connects) {
    return new ScriptedPeer(peer -> {
      byte[] hello = read(peer, 2);
      read(peer, hello[1]);
      write(peer, 5, 0);
      byte[] head = read(peer, 5);
      byte[] rest = read(peer, head[3] == 3 ? (head[4] & 0xff) + 2 : head[3] == 1 ? 5 : 17);
      byte[] all = new byte[head.length + rest.length];
      System.arraycopy(head, 0, all, 0, head.length);
      System.arraycopy(rest, 0, all, head.length, rest.length);
      connects.add(all);
      write(peer, 5, reply, 0, 1, 127, 0, 0, 1, 0x1f, 0x90);
      write(peer, "HELLO");
      read(peer, 1);
    });
  }

  @Test
  void socks5SendsTheNameForTheProxyToResolveAndKeepsWhatFollowsTheReply() throws Exception {
    List<byte[]> connects = new CopyOnWriteArrayList<>();
    try (ScriptedPeer proxy = socks(0, connects)) {
      Allocation a = Allocation.to("tcp", "example.org", 8080)
          .via(ProxyServer.socks5("127.0.0.1", proxy.port()));
      Connection c = get(m.allocate(a));
      c.readTimeout(Duration.ofSeconds(20));
      assertThat(new String(c.inputStream().readNBytes(5), StandardCharsets.US_ASCII))
          .isEqualTo("HELLO");
      byte[] name = "example.org".getBytes(StandardCharsets.US_ASCII);
      assertThat(connects).singleElement().satisfies(b -> {
        assertThat(b[0]).isEqualTo((byte) 5);
        assertThat(b[1]).isEqualTo((byte) 1); // CONNECT
        assertThat(b[3]).isEqualTo((byte) 3); // a domain name
        assertThat(b[4]).isEqualTo((byte) name.length);
        assertThat(new String(b, 5, name.length, StandardCharsets.US_ASCII))
            .isEqualTo("example.org");
        assertThat(((b[5 + name.length] & 0xff) << 8) | (b[6 + name.length] & 0xff))
            .isEqualTo(8080);
      });
      c.discard();
    }
  }

  @Test
  void socks5RepliesBecomeTheirErrno() throws Exception {
    int[][] cases = {{5, 111}, {4, 113}, {3, 101}, {2, 13}, {6, 110}};
    String[] texts = {
      "SOCKS5 proxy: connection refused",
      "SOCKS5 proxy: host unreachable",
      "SOCKS5 proxy: network unreachable",
      "SOCKS5 proxy: connection not allowed by ruleset",
      "SOCKS5 proxy: TTL expired"
    };
    for (int i = 0; i < cases.length; i++) {
      try (ScriptedPeer proxy = socks(cases[i][0], new CopyOnWriteArrayList<>())) {
        Allocation a =
            Allocation.to("tcp", "10.1.2.3", 80).via(ProxyServer.socks5("127.0.0.1", proxy.port()));
        assertFailure(failureOf(m.allocate(a)), "proxy", cases[i][1], texts[i]);
      }
    }
  }

  @Test
  void socks5AuthenticationRefusedAndNotOffered() throws Exception {
    try (ScriptedPeer wantsAuth = new ScriptedPeer(peer -> {
      byte[] hello = read(peer, 2);
      read(peer, hello[1]);
      write(peer, 5, 0xff);
      read(peer, 1);
    })) {
      Allocation a = Allocation.to("tcp", "example.org", 80)
          .via(ProxyServer.socks5("127.0.0.1", wantsAuth.port()));
      assertFailure(failureOf(m.allocate(a)), "proxy", 13, "SOCKS5 proxy requires authentication");
    }
    List<String> credentials = new CopyOnWriteArrayList<>();
    try (ScriptedPeer refuses = new ScriptedPeer(peer -> {
      byte[] hello = read(peer, 2);
      read(peer, hello[1]);
      write(peer, 5, 2);
      byte[] head = read(peer, 2);
      String user = new String(read(peer, head[1]), StandardCharsets.UTF_8);
      byte[] plen = read(peer, 1);
      credentials.add(user + ":" + new String(read(peer, plen[0]), StandardCharsets.UTF_8));
      write(peer, 1, 1);
      read(peer, 1);
    })) {
      Allocation a = Allocation.to("tcp", "example.org", 80)
          .via(ProxyServer.socks5("127.0.0.1", refuses.port()).credentials("ann", "secret"));
      assertFailure(
          failureOf(m.allocate(a)), "proxy", 13, "SOCKS5 proxy refused the user name and password");
      assertThat(credentials).containsExactly("ann:secret");
    }
  }

  @Test
  void notASocksProxyIsAClearFailure() throws Exception {
    try (ScriptedPeer talker = new ScriptedPeer(peer -> {
      write(peer, "HTTP/1.1 400 Bad Request\r\n\r\n");
      read(peer, 1);
    })) {
      Allocation a = Allocation.to("tcp", "example.org", 80)
          .via(ProxyServer.socks5("127.0.0.1", talker.port()));
      assertFailure(
          failureOf(m.allocate(a)), "proxy", null, "not a SOCKS5 proxy (answered version 72)");
    }
  }

  // ---------------------------------------------------------------- ProxyServer

  @Test
  void proxyUrlsParseAsCurlTakesThem() {
    assertThat(ProxyServer.parse("http://proxy.internal:3128"))
        .isEqualTo(ProxyServer.http("proxy.internal", 3128));
    assertThat(ProxyServer.parse("proxy.internal"))
        .isEqualTo(ProxyServer.http("proxy.internal", ProxyServer.DEFAULT_PORT));
    assertThat(ProxyServer.parse("socks5h://u%40x:p%3Ass@[::1]:1080"))
        .isEqualTo(ProxyServer.socks5("::1", 1080).credentials("u@x", "p:ss"));
    assertThat(ProxyServer.parse("SOCKS5://h:1").type()).isEqualTo(ProxyServer.Type.SOCKS5);
    assertThat(ProxyServer.parse("http://ann:secret@h:1").toString())
        .isEqualTo("http://ann@h:1")
        .doesNotContain("secret");
  }

  @Test
  void badProxyInputNamesTheArgument() {
    assertThatThrownBy(() -> ProxyServer.parse(null)).hasMessageContaining("url");
    assertThatThrownBy(() -> ProxyServer.parse("ftp://h:1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("url");
    assertThatThrownBy(() -> ProxyServer.parse("http://h:1/path"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("url");
    assertThatThrownBy(() -> ProxyServer.http("h", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("port");
    assertThatThrownBy(() -> ProxyServer.socks5(null, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("host");
    assertThatThrownBy(() -> ProxyServer.http("h", 1).credentials("a:b", "c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("user");
    assertThatThrownBy(() -> ProxyServer.http("h", 1).credentials("a", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("password");
  }
}
