package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.ProxyServer;
import java.time.Duration;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link KeyCache} answers the same key as {@link PoolKey#of} for every allocation, and the very
 * same key object for an allocation asked again, or for its copies.
 */
class KeyCacheTest {
  @Test
  void theSameAllocationAndItsCopiesGetTheSameKeyObject() {
    KeyCache cache = new KeyCache();
    Allocation a = Allocation.to("http", "example.org", 80);
    PoolKey k = cache.of(a);
    assertThat(k).isEqualTo(PoolKey.of(a));
    assertThat(cache.of(a)).isSameAs(k);
    assertThat(cache.of(a.timeout(Duration.ofSeconds(1)))).isSameAs(k);
    assertThat(cache.of(a.context("state"))).isSameAs(k);
  }

  @Test
  void anythingElseOfTheKeyGetsItsOwnKey() {
    KeyCache cache = new KeyCache();
    Allocation a = Allocation.to("http", "example.org", 80);
    PoolKey k = cache.of(a);
    Allocation[] others = {
      Allocation.to("https", "example.org", 80),
      Allocation.to("http", "example.org", 81),
      Allocation.to("http", "example.net", 80),
      a.forTarget("https", "example.org", 443),
      a.via(ProxyServer.http("127.0.0.1", 3128)),
    };
    for (Allocation o : others) {
      assertThat(cache.of(o)).isEqualTo(PoolKey.of(o)).isNotEqualTo(k);
      assertThat(cache.of(a)).isEqualTo(k); // the slot may have changed hands: still right
    }
  }

  @Test
  void namesThatNeedNormalizingStillGetTheNormalKey() {
    KeyCache cache = new KeyCache();
    Allocation a = Allocation.to("HTTP", "[::1]", 8080);
    assertThat(cache.of(a)).isEqualTo(PoolKey.of(a));
    assertThat(cache.of(a)).isEqualTo(PoolKey.of(a));
    assertThat(cache.of(a).host).isEqualTo("::1");
  }

  /** Whatever is asked, in whatever order: the cache's key equals the one built afresh. */
  @Property(tries = 200)
  void alwaysTheKeyOfTheAllocation(@ForAll("sequences") java.util.List<Allocation> asked) {
    KeyCache cache = new KeyCache();
    for (Allocation a : asked) {
      assertThat(cache.of(a)).isEqualTo(PoolKey.of(a));
    }
  }

  @Provide
  Arbitrary<java.util.List<Allocation>> sequences() {
    // a few shared objects (hits) and strings made anew (misses), with colliding slots
    Allocation[] shared = {
      Allocation.to("http", "a.test", 80), Allocation.to("http", "b.test", 80),
      Allocation.to("https", "a.test", 443), Allocation.to("http", "A.test", 80),
    };
    Arbitrary<Allocation> fromShared = Arbitraries.of(shared);
    Arbitrary<Allocation> fresh = Arbitraries.of("a.test", "b.test", "A.TEST", "[::1]")
        .flatMap(h -> Arbitraries.integers()
            .between(1, 600)
            .map(p -> Allocation.to("http", new String(h.toCharArray()), p)));
    return Arbitraries.oneOf(fromShared, fresh).list().ofMaxSize(60);
  }
}
