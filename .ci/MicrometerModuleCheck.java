import dev.keepalive.Allocation;
import dev.keepalive.ConnectionManager;
import dev.keepalive.micrometer.KeepaliveMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.module.ModuleDescriptor;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The published jar of keepalive-micrometer on the module path, with keepalive-core's and
 * micrometer-core's (an automatic module) and what those need: it is the named module
 * dev.keepalive.micrometer exporting only its API package, and a manager bound to a
 * SimpleMeterRegistry through it counts a hand-out and loses its meters at close(). .ci/run runs
 * it after each suite:
 *
 * <pre>
 * java -p core/target/keepalive-core-VERSION.jar:micrometer/target/keepalive-micrometer-VERSION.jar:\
 *     $(cat micrometer/target/runtime-classpath.txt) \
 *     --add-modules dev.keepalive.micrometer .ci/MicrometerModuleCheck.java
 * </pre>
 */
public class MicrometerModuleCheck {
  public static void main(String[] args) throws Exception {
    Module module = KeepaliveMetrics.class.getModule();
    ModuleDescriptor d = module.getDescriptor();
    check(module.isNamed() && !d.isAutomatic(), "dev.keepalive.micrometer is a named module");
    check(d.name().equals("dev.keepalive.micrometer"), "module name: " + d.name());
    Set<String> exports = new TreeSet<>();
    d.exports().forEach(e -> exports.add(e.source()));
    check(exports.equals(Set.of("dev.keepalive.micrometer")), "exports: " + exports);

    MeterRegistry registry = new SimpleMeterRegistry();
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try (Socket s = server.accept()) {
          s.getInputStream().read(); // until the manager closes it
        } catch (Exception e) {
          // the check below says what went wrong
        }
      });
      acceptor.start();
      KeepaliveMetrics metrics = KeepaliveMetrics.builder(registry).name("check").build();
      try (ConnectionManager m = ConnectionManager.builder().listener(metrics).build()) {
        metrics.bindTo(m);
        m.allocate(Allocation.to("http", "127.0.0.1", server.getLocalPort()))
            .get(20, TimeUnit.SECONDS)
            .close();
        double handouts = registry.get("keepalive.handouts").tag("kind", "new").counter().count();
        check(handouts == 1, "keepalive.handouts{kind=new} = " + handouts);
      }
      acceptor.join(TimeUnit.SECONDS.toMillis(20));
      metrics.close();
      check(registry.getMeters().isEmpty(), "meters left after close(): " + registry.getMeters());
    }
    System.out.println("module path: dev.keepalive.micrometer OK (exports " + exports + ")");
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("module-path check failed: " + what);
    }
  }
}
