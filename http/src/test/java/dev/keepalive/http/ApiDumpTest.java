package dev.keepalive.http;

import dev.keepalive.testkit.ApiDump;
import org.junit.jupiter.api.Test;

/**
 * The public API of keepalive-http (package {@code dev.keepalive.http}) is the committed dump
 * {@code http/api/keepalive-http.api}: every public type and its public and protected members,
 * sorted, one per line. A change of the API fails this test until the dump is regenerated, so it
 * is always deliberate and shows in review. Regenerate (docs/BUILD.md):
 *
 * <pre>
 * ./mvnw -B test -pl core,http -Dtest=ApiDumpTest -Dsurefire.failIfNoSpecifiedTests=false -Dkeepalive.api.update=true
 * </pre>
 */
class ApiDumpTest {
  private static final String PACKAGE = "dev.keepalive.http";
  private static final String FILE = "api/keepalive-http.api";
  private static final Class<?> ANCHOR = HttpClient.class;

  @Test
  void publicApiMatchesTheCommittedDump() throws Exception {
    ApiDump.check(PACKAGE, FILE, ANCHOR);
  }
}
