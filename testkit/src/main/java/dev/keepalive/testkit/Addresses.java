package dev.keepalive.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Literal IP addresses for tests, made from their bytes without a name lookup. */
public final class Addresses {
  private Addresses() {}

  /**
   * The address with these bytes: 4 for IPv4, 16 for IPv6.
   *
   * @throws IllegalArgumentException naming {@code address} when it is neither 4 nor 16 bytes long
   */
  public static InetAddress of(byte[] address) {
    try {
      return InetAddress.getByAddress(address);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(
          "address: 4 or 16 bytes, was " + address.length + " bytes", e);
    }
  }
}
