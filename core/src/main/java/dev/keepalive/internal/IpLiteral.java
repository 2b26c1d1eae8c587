package dev.keepalive.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Literal IPv4 and IPv6 addresses, recognised and parsed without any lookup. */
final class IpLiteral {
  private IpLiteral() {}

  /**
   * The address when {@code host} (normalized) is a literal IPv4 or IPv6 address, else null.
   * No lookup is made either way.
   */
  static InetAddress parse(String host) {
    if (host.indexOf(':') >= 0) {
      if (!isIpv6Literal(host)) {
        return null;
      }
      try {
        return InetAddress.getByName(host); // a literal: parsed, never looked up
      } catch (UnknownHostException e) {
        return null;
      }
    }
    byte[] b = parseIpv4(host);
    if (b == null) {
      return null;
    }
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static boolean isIpv6Literal(String s) {
    int end = s.indexOf('%'); // zone id
    if (end < 0) {
      end = s.length();
    }
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (!hex && c != ':' && c != '.') {
        return false;
      }
    }
    return true;
  }

  private static byte[] parseIpv4(String s) {
    byte[] out = new byte[4];
    int part = 0;
    int value = -1;
    for (int i = 0; i <= s.length(); i++) {
      char c = i < s.length() ? s.charAt(i) : '.';
      if (c >= '0' && c <= '9') {
        value = (value < 0 ? 0 : value * 10) + (c - '0');
        if (value > 255) {
          return null;
        }
      } else if (c == '.') {
        if (value < 0 || part == 4) {
          return null;
        }
        out[part++] = (byte) value;
        value = -1;
      } else {
        return null;
      }
    }
    return part == 4 ? out : null;
  }
}
