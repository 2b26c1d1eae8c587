package dev.keepalive.bench.idle;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link dev.keepalive.bench.Sink} or {@link dev.keepalive.bench.TlsSink} in a child JVM on this
 * class path, so that the server ends of the held sockets do not count against this JVM's
 * descriptors or heap. Both listen on 127.0.0.1 only, print header lines and then
 * {@code PORTS p1 p2 ...}, and exit when their standard input closes ({@link #close()}).
 */
final class ChildSink implements AutoCloseable {
  private final Process process;
  private final Thread hook;
  final int[] ports;
  final Map<String, String> header;

  private ChildSink(Process process, int[] ports, Map<String, String> header) {
    this.process = process;
    this.ports = ports;
    this.header = header;
    this.hook = new Thread(process::destroyForcibly, "sink-kill");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** A silent sink with {@code listeners} ports. */
  static ChildSink plain(int listeners) throws IOException {
    // its heap holds the server ends of every socket (about 1 KB each)
    return launch(List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-XX:-UsePerfData"), "dev.keepalive.bench.Sink", String.valueOf(listeners));
  }

  /** A TLS echo sink with one TLS listener (and no plain one); its certificate is header CERT. */
  static ChildSink tls() throws IOException {
    // tls-channel's buffers are kept per connection there (about 50 KB heap + 32 KB direct)
    return launch(List.of("-Xms128m", "-Xmx1g", "-XX:MaxDirectMemorySize=1g",
        "-XX:+UseSerialGC", "-XX:-UsePerfData"), "dev.keepalive.bench.TlsSink", "0", "1");
  }

  private static ChildSink launch(List<String> jvmArgs, String main, String... args)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
      Map<String, String> header = new HashMap<>();
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("PORTS ")) {
        int space = line.indexOf(' ');
        if (space > 0) {
          header.put(line.substring(0, space), line.substring(space + 1));
        }
      }
      if (line == null) {
        throw new IOException("the sink did not start: " + header);
      }
      String[] words = line.substring(6).trim().split(" ");
      int[] ports = new int[words.length];
      for (int i = 0; i < words.length; i++) {
        ports[i] = Integer.parseInt(words[i]);
      }
      return new ChildSink(p, ports, header);
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
  }

  @Override
  public void close() {
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // killed below anyway
    }
    try {
      if (!process.waitFor(3, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException ignored) {
      // shutting down: the hook kills it
    }
  }
}
