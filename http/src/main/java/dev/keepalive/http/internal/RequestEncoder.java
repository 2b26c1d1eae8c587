package dev.keepalive.http.internal;

import java.util.Arrays;

/**
 * Writes a request head (RFC 9112 3): request line, fields, empty line; ISO-8859-1 bytes. The
 * caller has validated method, target, names and values (see {@link Syntax}).
 *
 * <pre>{@code
 * byte[] head = new RequestEncoder("GET", "/x").field("Host", "h").end();
 * }</pre>
 */
public final class RequestEncoder {
  private byte[] buf = new byte[256];
  private int len;

  public RequestEncoder(String method, String target) {
    append(method);
    append(' ');
    append(target);
    append(" HTTP/1.1\r\n");
  }

  public RequestEncoder field(String name, String value) {
    append(name);
    append(':');
    append(' ');
    append(value);
    append('\r');
    append('\n');
    return this;
  }

  /** Ends the head: the request's bytes when it has no body. */
  public byte[] end() {
    append('\r');
    append('\n');
    return Arrays.copyOf(buf, len);
  }

  /** Ends the head and appends {@code body} in the same array (one write for small requests). */
  public byte[] endWith(byte[] body) {
    append('\r');
    append('\n');
    byte[] out = Arrays.copyOf(buf, len + body.length);
    System.arraycopy(body, 0, out, len, body.length);
    return out;
  }

  private void append(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      buf[len++] = (byte) s.charAt(i); // ISO-8859-1: checked by the caller
    }
  }

  private void append(char c) {
    ensure(1);
    buf[len++] = (byte) c;
  }

  private void ensure(int more) {
    if (len + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
  }
}
