package dev.keepalive;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The {@link ConnectionManagerMXBean} of one manager, and its registration in the platform MBean
 * server. Loaded only when a builder asked for JMX (java.management is an optional module).
 */
final class ManagementBean implements ConnectionManagerMXBean {
  private final ConnectionManager manager;
  private final ObjectName name;

  private ManagementBean(ConnectionManager manager, ObjectName name) {
    this.manager = manager;
    this.name = name;
  }

  /** The JMX name of a manager registered as {@code name}. */
  static ObjectName objectName(String name) {
    try {
      return new ObjectName("dev.keepalive:type=ConnectionManager,name=" + ObjectName.quote(name));
    } catch (JMException e) {
      throw new IllegalArgumentException("jmx name is not usable in an ObjectName: " + name, e);
    }
  }

  /** Registers {@code manager} as {@code name}; returns what unregisters it. */
  static Runnable register(ConnectionManager manager, String name) {
    ObjectName on = objectName(name);
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    try {
      server.registerMBean(new ManagementBean(manager, on), on);
    } catch (JMException e) {
      throw new IllegalStateException("could not register " + on + " (" + e.getMessage() + ")", e);
    }
    return () -> {
      try {
        server.unregisterMBean(on);
      } catch (JMException ignored) {
        // unregistered already
      }
    };
  }

  @Override
  public int getOpen() {
    return manager.stats().open();
  }

  @Override
  public int getIdle() {
    return manager.stats().idle();
  }

  @Override
  public int getLeased() {
    return manager.stats().leased();
  }

  @Override
  public int getConnecting() {
    return manager.stats().connecting();
  }

  @Override
  public int getPending() {
    return manager.stats().pending();
  }

  @Override
  public long getNewHandOuts() {
    return manager.totals().newHandOuts();
  }

  @Override
  public long getImmediateHandOuts() {
    return manager.totals().immediateHandOuts();
  }

  @Override
  public long getDeferredHandOuts() {
    return manager.totals().deferredHandOuts();
  }

  @Override
  public Map<String, Long> getCloses() {
    Map<String, Long> m = new LinkedHashMap<>();
    manager.totals().closes().forEach((reason, n) -> m.put(reason.name(), n));
    return m;
  }

  @Override
  public Map<String, Long> getFailures() {
    return new LinkedHashMap<>(manager.totals().failures());
  }

  @Override
  public void evictIdle() {
    manager.evictIdle();
  }

  @Override
  public int retireAll() {
    return manager.retireAll();
  }

  @Override
  public String toString() {
    return name.toString();
  }
}
