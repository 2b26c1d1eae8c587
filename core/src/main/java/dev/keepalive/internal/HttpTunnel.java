package dev.keepalive.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The HTTP CONNECT stage: after the TCP connect to an HTTP proxy, asks it for a tunnel to the
 * target ({@code CONNECT host:port HTTP/1.1}, with {@code Proxy-Authorization: Basic} when the
 * tunnel has credentials) and reads its answer: a 2xx status opens the tunnel (the next stage, TLS
 * to the target for TLS schemes, runs through it); any other final status fails with function
 * "proxy" and the status line as the text (no errno: 407 is an answer, not an error of the
 * socket). Interim 1xx answers are skipped. The answer's header is read a byte or two at a time,
 * never past its blank line, so nothing the target sends through the tunnel is consumed here; it
 * is at most {@link Tunnel#MAX_ANSWER} bytes.
 */
final class HttpTunnel implements ConnectStage {
  private final Progress progress;

  HttpTunnel(Progress progress) {
    this.progress = progress;
  }

  /** The request for {@code t}. */
  static byte[] request(Tunnel t) {
    StringBuilder sb = new StringBuilder(128)
        .append("CONNECT ")
        .append(t.authority())
        .append(" HTTP/1.1\r\nHost: ")
        .append(t.authority())
        .append("\r\n");
    if (t.user() != null) {
      String pair = t.user() + ":" + (t.password() == null ? "" : t.password());
      sb.append("Proxy-Authorization: Basic ")
          .append(Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)))
          .append("\r\n");
    }
    return sb.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public Failure start(SocketIo s) {
    s.stageState = new Tunnel.Exchange(request(s.tunnel));
    onReady(s);
    return null;
  }

  @Override
  public void onReady(SocketIo s) {
    Tunnel.Exchange x = (Tunnel.Exchange) s.stageState;
    try {
      if (!x.flush(s)) {
        return;
      }
      while (true) {
        int have = x.in.position();
        int last = have == 0 ? 0 : x.at(have - 1);
        // a header ends in "\n\n" or "\n\r\n": after any other byte at least 2 more are needed
        if (!x.fill(s, have + (last == '\n' || last == '\r' ? 1 : 2))) {
          return;
        }
        if (!headerEnded(x)) {
          continue;
        }
        String status = statusLine(x);
        int code = statusCode(status);
        if (code >= 100 && code < 200) {
          x.in.clear(); // an interim answer: the final one follows
          continue;
        }
        if (code >= 200 && code < 300) {
          s.stageState = null;
          s.interest(0);
          progress.done(s);
        } else {
          progress.failed(s, new Failure(Failure.Function.PROXY, null, printable(status)));
        }
        return;
      }
    } catch (IOException e) {
      progress.failed(s, Tunnel.failure(e));
    }
  }

  private static boolean headerEnded(Tunnel.Exchange x) {
    int n = x.in.position();
    if (n >= 2 && x.at(n - 1) == '\n' && x.at(n - 2) == '\n') {
      return true;
    }
    return n >= 3 && x.at(n - 1) == '\n' && x.at(n - 2) == '\r' && x.at(n - 3) == '\n';
  }

  private static String statusLine(Tunnel.Exchange x) {
    int end = 0;
    while (x.at(end) != '\n') {
      end++;
    }
    if (end > 0 && x.at(end - 1) == '\r') {
      end--;
    }
    return new String(x.in.array(), 0, end, StandardCharsets.ISO_8859_1);
  }

  /** The status code of an HTTP/1.x status line. */
  static int statusCode(String line) throws Tunnel.ProxyAnswerException {
    if (line.length() >= 12
        && line.startsWith("HTTP/1.")
        && line.charAt(8) == ' '
        && Character.isDigit(line.charAt(9))
        && Character.isDigit(line.charAt(10))
        && Character.isDigit(line.charAt(11))
        && (line.length() == 12 || line.charAt(12) == ' ')) {
      return Integer.parseInt(line.substring(9, 12));
    }
    throw new Tunnel.ProxyAnswerException(
        "malformed proxy answer to CONNECT: \"" + printable(line) + "\"");
  }

  /** {@code s} without control characters, at most 200 of them, for an error text. */
  static String printable(String s) {
    StringBuilder sb = new StringBuilder(Math.min(s.length(), 200));
    for (int i = 0; i < s.length() && sb.length() < 200; i++) {
      char c = s.charAt(i);
      sb.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return sb.toString();
  }
}
