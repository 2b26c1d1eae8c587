package dev.keepalive.http.internal;

import java.util.Locale;

/** RFC 9110 character classes, and the checks the request side runs on user input. */
public final class Syntax {
  /** tchar per RFC 9110 5.6.2, indexed by byte value. */
  private static final boolean[] TCHAR = new boolean[128];

  static {
    for (char c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 'a' + 'A'] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
  }

  private Syntax() {}

  public static boolean isTchar(int b) {
    return b >= 0 && b < 128 && TCHAR[b];
  }

  /** True when {@code s} is a non-empty token (a method or a field name). */
  public static boolean isToken(CharSequence s) {
    int n = s.length();
    if (n == 0) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (!isTchar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * True when {@code s} may be sent as a field value: visible ASCII, obs-text (0x80-0xFF), space
   * and tab; no control characters (CR, LF, NUL, ...), nothing beyond ISO-8859-1, and no leading
   * or trailing whitespace (it would be stripped by the recipient).
   */
  public static boolean isFieldValue(CharSequence s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == '\t' || c == ' ') {
        if (i == 0 || i == n - 1) {
          return false;
        }
      } else if (c < 0x21 || c == 0x7f || c > 0xff) {
        return false;
      }
    }
    return true;
  }

  /** Methods safe to retry (RFC 9110 9.2.2): GET, HEAD, PUT, DELETE, OPTIONS, TRACE. */
  public static boolean isIdempotent(String method) {
    switch (method) {
      case "GET":
      case "HEAD":
      case "PUT":
      case "DELETE":
      case "OPTIONS":
      case "TRACE":
        return true;
      default:
        return false;
    }
  }

  /** Methods that define a meaning for request content: send Content-Length: 0 when empty. */
  public static boolean expectsContent(String method) {
    return method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
  }

  /**
   * True when the comma-separated list in {@code value} has {@code token} (ignoring case), e.g.
   * "close" in "Connection: keep-alive, close".
   */
  public static boolean hasToken(String value, String token) {
    int n = value.length();
    int i = 0;
    while (i < n) {
      int comma = value.indexOf(',', i);
      int end = comma < 0 ? n : comma;
      int s = i;
      int e = end;
      while (s < e && isWhite(value.charAt(s))) {
        s++;
      }
      while (e > s && isWhite(value.charAt(e - 1))) {
        e--;
      }
      if (e - s == token.length() && value.regionMatches(true, s, token, 0, token.length())) {
        return true;
      }
      i = end + 1;
    }
    return false;
  }

  static boolean isWhite(char c) {
    return c == ' ' || c == '\t';
  }

  /** Lower case for protocol tokens (locale-independent). */
  public static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  /** {@code bytes} (ISO-8859-1) shown for an error message: printable, escaped, at most 80 chars. */
  public static String show(byte[] bytes, int off, int len) {
    StringBuilder sb = new StringBuilder("\"");
    int end = off + Math.min(len, 80);
    for (int i = off; i < end; i++) {
      int b = bytes[i] & 0xff;
      if (b == '\\' || b == '"') {
        sb.append('\\').append((char) b);
      } else if (b >= 0x20 && b < 0x7f) {
        sb.append((char) b);
      } else if (b == '\r') {
        sb.append("\\r");
      } else if (b == '\n') {
        sb.append("\\n");
      } else if (b == '\t') {
        sb.append("\\t");
      } else {
        sb.append(String.format("\\x%02x", b));
      }
    }
    if (len > 80) {
      sb.append("...");
    }
    return sb.append('"').toString();
  }
}
