package dev.keepalive.reliability;

import dev.keepalive.testkit.ScriptedPeer;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A hostile line-protocol peer. The client asks {@code "REQ nnnnnnnn action\n"}; the peer answers
 * {@code "RSP nnnnnnnn\n"} (13 bytes) and then does what the action says: nothing ({@code ok}),
 * unsolicited bytes in the same write ({@code junk}) or in a write of their own ({@code later}),
 * FIN ({@code fin}) or RST ({@code rst}, once the client has said {@code "BYE"}: a reset drops
 * what the client has not acknowledged yet).
 *
 * <p>It also judges the manager: a connection on which it sent junk or FIN must never carry
 * another request, since that means the socket was handed to a new holder with the junk still
 * unread (or at EOF). Each such request is a {@link #violations() violation}.
 */
final class LinePeer implements AutoCloseable {
  /** What the peer does after its answer. */
  enum Action {
    OK,
    JUNK,
    LATER,
    FIN,
    RST;

    String word() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** True when the socket must not be reused after this exchange. */
    boolean spoils() {
      return this != OK;
    }
  }

  static final int RESPONSE_LENGTH = 13;
  static final String JUNK = "JUNK\n";
  /** What the client sends after reading the answer to an {@code rst} request. */
  static final String BYE = "BYE\n";

  private final ScriptedPeer server;
  private final List<String> violations = new CopyOnWriteArrayList<>();

  LinePeer() {
    server = new ScriptedPeer(this::serve);
  }

  int port() {
    return server.port();
  }

  int acceptedCount() {
    return server.acceptedCount();
  }

  List<String> violations() {
    return violations;
  }

  List<Throwable> failures() {
    return server.failures();
  }

  static String request(long n, Action action) {
    return String.format(Locale.ROOT, "REQ %08d %s\n", n, action.word());
  }

  static String response(long n) {
    return String.format(Locale.ROOT, "RSP %08d\n", n);
  }

  private void serve(SocketChannel peer) throws IOException {
    peer.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
    int clientPort = peer.socket().getPort();
    InputStream in = new BufferedInputStream(Channels.newInputStream(peer));
    OutputStream out = Channels.newOutputStream(peer);
    String spoiled = null;
    try (peer) {
      String line;
      while ((line = readLine(in)) != null) {
        if (spoiled != null) {
          violations.add("\"" + line + "\" arrived from port " + clientPort + " after " + spoiled);
        }
        String[] f = line.split(" ");
        long n = Long.parseLong(f[1]);
        Action action = Action.valueOf(f[2].toUpperCase(Locale.ROOT));
        byte[] rsp = response(n).getBytes(StandardCharsets.US_ASCII);
        switch (action) {
          case OK -> out.write(rsp);
          case JUNK -> out.write((response(n) + JUNK).getBytes(StandardCharsets.US_ASCII));
          case LATER -> {
            out.write(rsp);
            out.write(JUNK.getBytes(StandardCharsets.US_ASCII));
          }
          case FIN -> {
            out.write(rsp);
            peer.shutdownOutput();
          }
          case RST -> {
            out.write(rsp);
            // a reset drops what is not yet acknowledged: wait for the client to say it has
            // read the answer
            String bye = readLine(in);
            if (!(BYE.trim()).equals(bye)) {
              violations.add(
                  "expected " + BYE.trim() + " from port " + clientPort + ", got " + bye);
            }
            ScriptedPeer.reset(peer);
            return;
          }
          default -> throw new AssertionError(action);
        }
        if (action.spoils()) {
          spoiled = action.word() + " after request " + n;
        }
      }
    }
  }

  /** A line without its LF, or null at EOF. */
  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        return null;
      }
      line.write(b);
    }
    return line.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    server.close();
  }
}
