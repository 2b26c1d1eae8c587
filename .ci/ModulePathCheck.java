import dev.keepalive.ConnectionManager;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.module.ModuleDescriptor;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.security.KeyStore;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * The published jars of keepalive-core and keepalive-http, on the module path: both are named
 * modules exporting only their API package and requiring no automatic module, and an https GET
 * through them (tls-channel, shaded into core, included) works. The tests run on the class path;
 * this is what a modular application sees. .ci/run runs it after each suite:
 *
 * <pre>
 * java -p core/target/keepalive-core-VERSION.jar:http/target/keepalive-http-VERSION.jar \
 *     --add-modules dev.keepalive.http .ci/ModulePathCheck.java KEYSTORE.p12
 * </pre>
 *
 * <p>KEYSTORE.p12 holds a self-signed key and certificate for 127.0.0.1 (password "changeit");
 * .ci/run makes one with keytool.
 *
 * <pre>
 * </pre>
 */
public class ModulePathCheck {
  public static void main(String[] args) throws Exception {
    module("dev.keepalive", "dev.keepalive");
    module("dev.keepalive.http", "dev.keepalive.http");

    char[] password = "changeit".toCharArray();
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
      store.load(in, password);
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, password);
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext server = SSLContext.getInstance("TLS");
    server.init(keys.getKeyManagers(), null, null);
    SSLContext client = SSLContext.getInstance("TLS");
    client.init(null, trust.getTrustManagers(), null);

    try (SSLServerSocket listener =
        (SSLServerSocket)
            server.getServerSocketFactory().createServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread serve = new Thread(() -> serveOne(listener), "https-server");
      serve.setDaemon(true);
      serve.start();
      jdk.jfr.Recording recording = new jdk.jfr.Recording();
      recording.enable("dev.keepalive.Connect");
      recording.enable("dev.keepalive.TlsHandshake");
      recording.start();
      try (ConnectionManager manager =
              ConnectionManager.builder().sslContext(client).jmx("module-path-check").build();
          HttpClient http = HttpClient.create(manager)) {
        HttpResponse r =
            http.sendBlocking(
                HttpRequest.newBuilder("https://127.0.0.1:" + listener.getLocalPort() + "/")
                    .timeout(Duration.ofSeconds(10))
                    .build());
        String body = new String(r.body(), StandardCharsets.US_ASCII);
        check(r.status() == 200 && body.equals("module path"), "https GET: " + r.status() + " " + body);
        // the opt-in MXBean, from a named module (java.management is an optional dependency)
        Object handOuts = java.lang.management.ManagementFactory.getPlatformMBeanServer()
            .getAttribute(
                new javax.management.ObjectName(
                    "dev.keepalive:type=ConnectionManager,name=\"module-path-check\""),
                "NewHandOuts");
        check(Long.valueOf(1).equals(handOuts), "the MXBean's NewHandOuts: " + handOuts);
      }
      // JFR events from a named module whose event classes are in a package it does not export
      recording.stop();
      Path jfr = Files.createTempFile("module-path-check", ".jfr");
      recording.dump(jfr);
      recording.close();
      java.util.List<String> names = new java.util.ArrayList<>();
      for (jdk.jfr.consumer.RecordedEvent e : jdk.jfr.consumer.RecordingFile.readAllEvents(jfr)) {
        names.add(e.getEventType().getName());
      }
      Files.delete(jfr);
      check(names.contains("dev.keepalive.Connect") && names.contains("dev.keepalive.TlsHandshake"),
          "JFR events recorded: " + names);
    }
    System.out.println("module path check: OK (" + Runtime.version() + ")");
  }

  private static void module(String name, String onlyExport) {
    Module m = ModuleLayer.boot().findModule(name).orElse(null);
    check(m != null, name + " is not a module on the module path");
    ModuleDescriptor d = m.getDescriptor();
    check(!d.isAutomatic(), name + " is an automatic module");
    Set<String> exports = new TreeSet<>();
    d.exports().forEach(e -> exports.add(e.source() + (e.isQualified() ? " to " + e.targets() : "")));
    check(exports.equals(Set.of(onlyExport)), name + " exports " + exports);
    for (ModuleDescriptor.Requires r : d.requires()) {
      Module required = ModuleLayer.boot().findModule(r.name()).orElse(null);
      check(
          required == null || !required.getDescriptor().isAutomatic(),
          name + " requires the automatic module " + r.name());
    }
    System.out.println(d.toNameAndVersion() + ": exports " + exports + ", requires " + d.requires());
  }

  private static void serveOne(SSLServerSocket listener) {
    try (Socket s = listener.accept()) {
      InputStream in = s.getInputStream();
      int matched = 0;
      byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
      while (matched < end.length) {
        int b = in.read();
        if (b < 0) {
          return;
        }
        matched = b == end[matched] ? matched + 1 : (b == end[0] ? 1 : 0);
      }
      OutputStream out = s.getOutputStream();
      out.write(
          "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nmodule path"
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
    } catch (Exception e) {
      e.printStackTrace();
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.err.println("module path check FAILED: " + what);
      System.exit(1);
    }
  }
}
