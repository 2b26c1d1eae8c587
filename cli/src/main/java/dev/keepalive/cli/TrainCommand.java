package dev.keepalive.cli;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.util.concurrent.Callable;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The training run of the {@code ./keepalive} launcher (hidden from the help): it runs {@code
 * get}, {@code bench} and {@code --help} against the embedded server, over http and https (a
 * server made here from startup-training.p12, a self-signed certificate for 127.0.0.1 that only
 * this run trusts), output discarded, so that
 * the JVM that runs it can record the classes they load (and, on Java 25, their profiles) in the
 * start-up archive the launcher then passes to every later run. Exit status 0 when the commands
 * ran; their own statuses do not matter.
 */
@Command(name = "startup-training", hidden = true, description = "The launcher's training run.")
final class TrainCommand implements Callable<Integer> {
  @Option(
      names = "--bench-duration",
      paramLabel = "DURATION",
      defaultValue = "2s",
      description = "How long the training bench runs (default: ${DEFAULT-VALUE}).")
  String benchDuration;

  @Option(
      names = "--quick",
      description = "Only get over http and --help: a smaller archive, made in a fraction of the "
          + "time (the launcher's tests).")
  boolean quick;

  @Override
  public Integer call() throws Exception {
    PrintStream none = new PrintStream(OutputStream.nullOutputStream(), true);
    try (EmbeddedServer server = EmbeddedServer.start(2)) {
      String url = server.url();
      Main.run(none, none, "get", url);
      Main.run(none, none, "get", "-v", url, url);
      if (quick) {
        Main.run(none, none, "--help");
        return 0;
      }
      Main.run(none, none, "bench", url, "-c", "16", "-d", benchDuration, "--no-progress");
      Main.run(none, none, "bench", url, "-c", "4", "-n", "200", "--json", "--no-progress");
    }
    Path pem = Files.createTempFile("keepalive-training", ".pem");
    HttpsServer tls = httpsServer();
    try (InputStream in = TrainCommand.class.getResourceAsStream("startup-training.pem")) {
      Files.copy(in, pem, StandardCopyOption.REPLACE_EXISTING);
      String url = "https://127.0.0.1:" + tls.getAddress().getPort() + "/";
      // the JDK's TLS classes, the certificate path checks (--cacert) and a few handshakes
      Main.run(none, none, "get", "--cacert", pem.toString(), url, url);
      Main.run(none, none, "bench", url, "-k", "-c", "8", "-n", "400", "--no-progress");
    } finally {
      tls.stop(0);
      Files.deleteIfExists(pem);
    }
    Main.run(none, none, "--help");
    Main.run(none, none, "get", "--help");
    Main.run(none, none, "bench", "--help");
    Main.run(none, none, "get", "--no-such-option");
    return 0;
  }

  /** An https server on 127.0.0.1 answering every request as {@link EmbeddedServer} does. */
  private static HttpsServer httpsServer() throws Exception {
    char[] password = "training".toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = TrainCommand.class.getResourceAsStream("startup-training.p12")) {
      ks.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    HttpsServer server = HttpsServer.create(
        new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 256);
    server.setHttpsConfigurator(new HttpsConfigurator(ctx));
    server.createContext("/", EmbeddedServer::handle);
    server.start();
    return server;
  }
}
