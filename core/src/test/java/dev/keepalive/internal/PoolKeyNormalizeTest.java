package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link PoolKey#normalizeHost}'s one-pass shortcut for names already in normal form gives the
 * same answer as the full normalization (trim, IPv6 brackets dropped, lower case) for any input.
 */
class PoolKeyNormalizeTest {
  /** The normalization without the shortcut. */
  private static String reference(String addr) {
    String a = addr.trim();
    if (a.length() > 2 && a.charAt(0) == '[' && a.charAt(a.length() - 1) == ']') {
      a = a.substring(1, a.length() - 1);
    }
    return a.toLowerCase(Locale.ROOT);
  }

  @Test
  void examples() {
    assertThat(PoolKey.normalizeHost("Example.COM")).isEqualTo("example.com");
    assertThat(PoolKey.normalizeHost(" h1.crawl.test\t")).isEqualTo("h1.crawl.test");
    assertThat(PoolKey.normalizeHost("[::1]")).isEqualTo("::1");
    assertThat(PoolKey.normalizeHost("[FE80::1]")).isEqualTo("fe80::1");
    assertThat(PoolKey.normalizeHost("ÄRGER.de")).isEqualTo("ärger.de");
    assertThat(PoolKey.normalizeHost("")).isEmpty();
    assertThat(PoolKey.normalizeHost("[]")).isEqualTo("[]");
  }

  @Test
  void aNameAlreadyNormalIsReturnedAsItIs() {
    String name = "h1234.crawl.test";
    assertThat(PoolKey.normalizeHost(name)).isSameAs(name);
    String ip = "127.0.0.1";
    assertThat(PoolKey.normalizeHost(ip)).isSameAs(ip);
  }

  @Property(tries = 2000)
  void sameAsTheFullNormalization(@ForAll("hosts") String host) {
    assertThat(PoolKey.normalizeHost(host)).isEqualTo(reference(host));
  }

  @Provide
  Arbitrary<String> hosts() {
    // letters of both cases, digits, the separators of names and IPv6 literals, brackets,
    // spaces and control characters (trimmed), and a few non-ASCII letters
    return Arbitraries.strings()
        .withChars("aZzA09.-:[] \t\n\u0000\u001fÄäİı\u00a0")
        .ofMinLength(0)
        .ofMaxLength(12);
  }
}
