package dev.keepalive.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The order in which a host's addresses are tried (RFC 8305 section 4): address families
 * interleaved, starting with the family of the resolver's first address, one address of each in
 * turn ("First Address Family Count" 1), each family keeping the resolver's relative order. When
 * one family runs out, the rest of the other follows. Pure: no I/O, no state.
 */
final class AddressOrder {
  private AddressOrder() {}

  /**
   * {@code addresses} in the order to try them; the same list when it needs no change (fewer than
   * two addresses, one family only, or already interleaved).
   */
  static List<InetAddress> interleave(List<InetAddress> addresses) {
    int n = addresses.size();
    if (n < 3 && (n < 2 || isV6(addresses.get(0)) != isV6(addresses.get(1)))) {
      return addresses; // 0 or 1 address, or two of different families
    }
    boolean firstV6 = isV6(addresses.get(0));
    List<InetAddress> first = new ArrayList<>(n);
    List<InetAddress> second = new ArrayList<>(n);
    for (InetAddress a : addresses) {
      (isV6(a) == firstV6 ? first : second).add(a);
    }
    if (second.isEmpty()) {
      return addresses; // one family
    }
    List<InetAddress> out = new ArrayList<>(n);
    for (int i = 0; i < first.size() || i < second.size(); i++) {
      if (i < first.size()) {
        out.add(first.get(i));
      }
      if (i < second.size()) {
        out.add(second.get(i));
      }
    }
    return out.equals(addresses) ? addresses : out;
  }

  private static boolean isV6(InetAddress a) {
    return a instanceof Inet6Address;
  }
}
