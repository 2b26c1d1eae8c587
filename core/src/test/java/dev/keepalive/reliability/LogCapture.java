package dev.keepalive.reliability;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.text.MessageFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * Captures what the library logs on "dev.keepalive". It logs through {@link System.Logger}, which
 * defaults to java.util.logging: every record the JUL logger "dev.keepalive" publishes passes its
 * {@code java.util.logging.Filter}, and this installs one that keeps a copy (and lets the record
 * through). System.Logger's ERROR is JUL's SEVERE, WARNING is WARNING.
 *
 * <p>The JUL types are reached reflectively: the test sources are compiled inside the library's
 * module, which does not read java.logging; at run time the tests are on the class path, where
 * everything is readable. Public for the tests of other packages (LifecycleRulesTest).
 */
public final class LogCapture implements AutoCloseable {
  public static final String ERROR = "SEVERE";
  public static final String WARNING = "WARNING";

  /** One record: its JUL level name, its message with the parameters filled in, its throwable. */
  public record Entry(String level, String text, Throwable thrown) {
    @Override
    public String toString() {
      return level + " " + text + (thrown == null ? "" : " [" + thrown + "]");
    }
  }

  private final Object logger; // java.util.logging.Logger, held strongly: keeps the filter
  private final Object previous;
  private final Method setFilter;
  private final List<Entry> entries = new CopyOnWriteArrayList<>();

  public LogCapture() {
    try {
      Class<?> loggerClass = Class.forName("java.util.logging.Logger");
      Class<?> filterClass = Class.forName("java.util.logging.Filter");
      logger = loggerClass.getMethod("getLogger", String.class).invoke(null, "dev.keepalive");
      previous = loggerClass.getMethod("getFilter").invoke(logger);
      setFilter = loggerClass.getMethod("setFilter", filterClass);
      Object filter = Proxy.newProxyInstance(
          LogCapture.class.getClassLoader(),
          new Class<?>[] {filterClass},
          (proxy, method, args) -> switch (method.getName()) {
            case "isLoggable" -> {
              entries.add(entry(args[0]));
              yield true;
            }
            case "equals" -> proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            default -> "LogCapture";
          });
      setFilter.invoke(logger, filter);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot hook java.util.logging", e);
    }
  }

  private static Entry entry(Object record) throws ReflectiveOperationException {
    Class<?> c = record.getClass();
    Object level = c.getMethod("getLevel").invoke(record);
    String name = (String) level.getClass().getMethod("getName").invoke(level);
    String message = (String) c.getMethod("getMessage").invoke(record);
    Object[] params = (Object[]) c.getMethod("getParameters").invoke(record);
    Throwable thrown = (Throwable) c.getMethod("getThrown").invoke(record);
    String text = message != null && params != null && params.length > 0 && message.contains("{0")
        ? MessageFormat.format(message, params)
        : message;
    return new Entry(name, text, thrown);
  }

  @Override
  public void close() {
    try {
      setFilter.invoke(logger, previous);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  /** Every record at {@code level} whose message starts with {@code prefix}. */
  public List<Entry> at(String level, String prefix) {
    return entries.stream()
        .filter(e -> e.level().equals(level) && e.text() != null && e.text().startsWith(prefix))
        .collect(Collectors.toList());
  }

  public List<Entry> all() {
    return List.copyOf(entries);
  }
}
