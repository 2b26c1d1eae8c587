package dev.keepalive.internal;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

/**
 * The SOCKS5 stage (RFC 1928, with RFC 1929 user name and password): after the TCP connect to a
 * SOCKS5 proxy, offers "no authentication" (and user name/password when the tunnel has
 * credentials), authenticates if the proxy asks, then asks it to CONNECT to the target: by name
 * for a host name (the proxy resolves it, as curl's socks5h:// does), by address for a literal.
 * A reply other than "succeeded" fails with function "proxy", its meaning as the text and the
 * errno it stands for where there is one (refused: 111, network unreachable: 101, host
 * unreachable: 113, TTL expired: 110, not allowed: 13). Each read takes exactly the bytes of the
 * answer expected, so nothing the target sends through the tunnel is consumed here.
 */
final class Socks5Tunnel implements ConnectStage {
  private static final int GREETED = 0;
  private static final int AUTHENTICATING = 1;
  private static final int CONNECTING = 2;
  private static final int REPLY_HEAD = 3;
  private static final int REPLY_REST = 4;

  private static final int NO_AUTH = 0;
  private static final int USER_PASSWORD = 2;
  private static final int NO_ACCEPTABLE = 0xff;

  private final Progress progress;

  Socks5Tunnel(Progress progress) {
    this.progress = progress;
  }

  @Override
  public Failure start(SocketIo s) {
    Tunnel t = s.tunnel;
    if (!t.literal() && t.host().getBytes(StandardCharsets.UTF_8).length > 255) {
      return new Failure(Failure.Function.PROXY, null, "host name too long for SOCKS5");
    }
    if (t.user() != null && (bytes(t.user()).length > 255 || bytes(password(t)).length > 255)) {
      return new Failure(
          Failure.Function.PROXY, null, "SOCKS5 user name or password longer than 255 bytes");
    }
    byte[] greeting =
        t.user() == null ? new byte[] {5, 1, NO_AUTH} : new byte[] {5, 2, NO_AUTH, USER_PASSWORD};
    Tunnel.Exchange x = new Tunnel.Exchange(greeting);
    x.step = GREETED;
    s.stageState = x;
    onReady(s);
    return null;
  }

  @Override
  public void onReady(SocketIo s) {
    Tunnel.Exchange x = (Tunnel.Exchange) s.stageState;
    Tunnel t = s.tunnel;
    try {
      while (true) {
        if (!x.flush(s)) {
          return;
        }
        Failure f = null;
        switch (x.step) {
          case GREETED:
            if (!x.fill(s, 2)) {
              return;
            }
            version(x, 5);
            int method = x.at(1);
            if (method == NO_AUTH) {
              next(x, CONNECTING, connectRequest(t));
            } else if (method == USER_PASSWORD && t.user() != null) {
              next(x, AUTHENTICATING, authRequest(t));
            } else if (method == NO_ACCEPTABLE) {
              f = new Failure(
                  Failure.Function.PROXY,
                  Errno.EACCES,
                  t.user() == null
                      ? "SOCKS5 proxy requires authentication"
                      : "SOCKS5 proxy accepts none of the offered authentication methods");
            } else {
              throw new Tunnel.ProxyAnswerException(
                  "SOCKS5 proxy chose a method not offered: " + method);
            }
            break;
          case AUTHENTICATING:
            if (!x.fill(s, 2)) {
              return;
            }
            version(x, 1);
            if (x.at(1) != 0) {
              f = new Failure(
                  Failure.Function.PROXY,
                  Errno.EACCES,
                  "SOCKS5 proxy refused the user name and password");
            } else {
              next(x, CONNECTING, connectRequest(t));
            }
            break;
          case CONNECTING:
            if (!x.fill(s, 2)) {
              return;
            }
            version(x, 5);
            if (x.at(1) != 0) {
              f = reply(x.at(1));
            } else {
              x.step = REPLY_HEAD;
            }
            break;
          case REPLY_HEAD:
            if (!x.fill(s, 5)) {
              return;
            }
            x.step = REPLY_REST;
            break;
          case REPLY_REST:
            if (!x.fill(s, replyLength(x))) {
              return;
            }
            s.stageState = null;
            s.interest(0);
            progress.done(s);
            return;
          default:
            throw new IllegalStateException("step " + x.step);
        }
        if (f != null) {
          progress.failed(s, f);
          return;
        }
      }
    } catch (IOException e) {
      progress.failed(s, Tunnel.failure(e));
    }
  }

  /** The next request to send, and the step that reads its answer. */
  private static void next(Tunnel.Exchange x, int step, byte[] request) {
    x.in.clear();
    x.step = step;
    x.send(request);
  }

  private static void version(Tunnel.Exchange x, int expected) throws IOException {
    if (x.at(0) != expected) {
      throw new Tunnel.ProxyAnswerException(
          "not a SOCKS5 proxy (answered version " + x.at(0) + ")");
    }
  }

  /** The whole length of a CONNECT reply, from its first 5 bytes. */
  private static int replyLength(Tunnel.Exchange x) throws IOException {
    switch (x.at(3)) {
      case 1:
        return 4 + 4 + 2;
      case 4:
        return 4 + 16 + 2;
      case 3:
        return 4 + 1 + x.at(4) + 2;
      default:
        throw new Tunnel.ProxyAnswerException("SOCKS5 reply with address type " + x.at(3));
    }
  }

  /** The failure a CONNECT reply code stands for (RFC 1928 section 6). */
  static Failure reply(int code) {
    switch (code) {
      case 1:
        return socks(null, "general SOCKS server failure");
      case 2:
        return socks(Errno.EACCES, "connection not allowed by ruleset");
      case 3:
        return socks(Errno.ENETUNREACH, "network unreachable");
      case 4:
        return socks(Errno.EHOSTUNREACH, "host unreachable");
      case 5:
        return socks(Errno.ECONNREFUSED, "connection refused");
      case 6:
        return socks(Errno.ETIMEDOUT, "TTL expired");
      case 7:
        return socks(null, "command not supported");
      case 8:
        return socks(Errno.EAFNOSUPPORT, "address type not supported");
      default:
        return socks(null, "reply " + code);
    }
  }

  private static Failure socks(Integer errno, String meaning) {
    return new Failure(Failure.Function.PROXY, errno, "SOCKS5 proxy: " + meaning);
  }

  static byte[] connectRequest(Tunnel t) {
    byte[] addr;
    int type;
    if (t.literal()) {
      InetAddress a = IpLiteral.parse(t.host());
      addr = a.getAddress();
      type = a instanceof Inet6Address ? 4 : 1;
    } else {
      byte[] name = bytes(t.host());
      addr = new byte[name.length + 1];
      addr[0] = (byte) name.length;
      System.arraycopy(name, 0, addr, 1, name.length);
      type = 3;
    }
    byte[] r = new byte[4 + addr.length + 2];
    r[0] = 5;
    r[1] = 1; // CONNECT
    r[3] = (byte) type;
    System.arraycopy(addr, 0, r, 4, addr.length);
    r[r.length - 2] = (byte) (t.port() >>> 8);
    r[r.length - 1] = (byte) t.port();
    return r;
  }

  static byte[] authRequest(Tunnel t) {
    byte[] user = bytes(t.user());
    byte[] pass = bytes(password(t));
    byte[] r = new byte[3 + user.length + pass.length];
    r[0] = 1;
    r[1] = (byte) user.length;
    System.arraycopy(user, 0, r, 2, user.length);
    r[2 + user.length] = (byte) pass.length;
    System.arraycopy(pass, 0, r, 3 + user.length, pass.length);
    return r;
  }

  private static String password(Tunnel t) {
    return t.password() == null ? "" : t.password();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
