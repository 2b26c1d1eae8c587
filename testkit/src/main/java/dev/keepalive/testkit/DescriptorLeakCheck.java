package dev.keepalive.testkit;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit extension that fails a test which leaves a file descriptor open: before each test it
 * takes a {@link Descriptors#snapshot()}; after the test (its servers and clients closed) it
 * waits until no descriptor is open that was not open before, and names the TCP sockets among
 * those still open if that never happens. Before the first test of the JVM, {@link #warmUp()}
 * runs once, so that the descriptors the JDK opens on first use and keeps for good (jars, the
 * random device TLS reads...) are open already: a subclass makes one connection of every kind
 * its tests make there.
 */
public abstract class DescriptorLeakCheck
    implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback {
  private static final Set<Class<?>> WARMED_UP = ConcurrentHashMap.newKeySet();

  /** Opens, once per JVM, whatever the tests' code keeps open for good once used. */
  protected abstract void warmUp() throws Exception;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    synchronized (WARMED_UP) {
      if (WARMED_UP.add(getClass())) {
        warmUp();
      }
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    store(context).put("descriptors", Descriptors.snapshot());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    @SuppressWarnings("unchecked")
    Map<Integer, String> before = (Map<Integer, String>) store(context).get("descriptors");
    try {
      Await.await().until(() -> Descriptors.openedSince(before).isEmpty());
    } catch (ConditionTimeoutException e) {
      Map<Integer, String> leaked = Descriptors.openedSince(before);
      throw new AssertionError(
          "file descriptors leaked: " + leaked + " ("
              + Descriptors.count() + " open now, " + before.size() + " before); TCP sockets among "
              + "them: " + TcpTable.byInodes(leaked.values()),
          e);
    }
  }

  private ExtensionContext.Store store(ExtensionContext context) {
    return context.getStore(ExtensionContext.Namespace.create(DescriptorLeakCheck.class));
  }
}
