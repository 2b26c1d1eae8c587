package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.testkit.Addresses;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8305 order of a host's addresses: families interleaved, the resolver's first first. */
class AddressOrderTest {
  private static final InetAddress A4 = v4(1);
  private static final InetAddress B4 = v4(2);
  private static final InetAddress C4 = v4(3);
  private static final InetAddress A6 = v6(1);
  private static final InetAddress B6 = v6(2);
  private static final InetAddress C6 = v6(3);

  @Test
  void interleavesStartingWithTheFirstAddressFamily() {
    assertThat(AddressOrder.interleave(List.of(A6, B6, C6, A4, B4, C4)))
        .containsExactly(A6, A4, B6, B4, C6, C4);
    assertThat(AddressOrder.interleave(List.of(A4, B4, A6, B6))).containsExactly(A4, A6, B4, B6);
  }

  @Test
  void theRestOfTheLongerFamilyFollowsInItsOrder() {
    assertThat(AddressOrder.interleave(List.of(A6, B6, C6, A4))).containsExactly(A6, A4, B6, C6);
    assertThat(AddressOrder.interleave(List.of(A4, A6, B6, C6))).containsExactly(A4, A6, B6, C6);
  }

  @Test
  void eachFamilyKeepsTheResolversRelativeOrder() {
    assertThat(AddressOrder.interleave(List.of(C4, A4, B6, B4, A6)))
        .containsExactly(C4, B6, A4, A6, B4);
  }

  @Test
  void aListThatNeedsNoChangeIsReturnedAsIs() {
    List<InetAddress> one = List.of(A4);
    List<InetAddress> sameFamily = List.of(A4, B4, C4);
    List<InetAddress> interleaved = List.of(A6, A4, B6, B4);
    List<InetAddress> two = List.of(A4, A6);
    assertThat(AddressOrder.interleave(List.of())).isEmpty();
    assertThat(AddressOrder.interleave(one)).isSameAs(one);
    assertThat(AddressOrder.interleave(sameFamily)).isSameAs(sameFamily);
    assertThat(AddressOrder.interleave(interleaved)).isSameAs(interleaved);
    assertThat(AddressOrder.interleave(two)).isSameAs(two);
  }

  @Test
  void theInputIsNotChanged() {
    List<InetAddress> in = new ArrayList<>(Arrays.asList(A4, B4, A6));
    assertThat(AddressOrder.interleave(in)).containsExactly(A4, A6, B4);
    assertThat(in).containsExactly(A4, B4, A6);
  }

  private static InetAddress v4(int last) {
    return Addresses.of(new byte[] {(byte) 192, 0, 2, (byte) last});
  }

  private static InetAddress v6(int last) {
    byte[] b = new byte[16];
    b[0] = 0x20;
    b[1] = 0x01;
    b[2] = 0x0d;
    b[3] = (byte) 0xb8;
    b[15] = (byte) last;
    return Addresses.of(b);
  }
}
