package dev.keepalive;

import dev.keepalive.testkit.ApiDump;
import org.junit.jupiter.api.Test;

/**
 * The public API of keepalive-core (package {@code dev.keepalive}) is the committed dump
 * {@code core/api/keepalive-core.api}: every public type and its public and protected members,
 * sorted, one per line. A change of the API fails this test until the dump is regenerated, so it
 * is always deliberate and shows in review. Regenerate (docs/BUILD.md):
 *
 * <pre>
 * ./mvnw -B test -pl core,http -Dtest=ApiDumpTest -Dsurefire.failIfNoSpecifiedTests=false -Dkeepalive.api.update=true
 * </pre>
 */
class ApiDumpTest {
  private static final String PACKAGE = "dev.keepalive";
  private static final String FILE = "api/keepalive-core.api";
  private static final Class<?> ANCHOR = ConnectionManager.class;

  @Test
  void publicApiMatchesTheCommittedDump() throws Exception {
    ApiDump.check(PACKAGE, FILE, ANCHOR);
  }
}
