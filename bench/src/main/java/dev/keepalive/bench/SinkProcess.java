package dev.keepalive.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Sink} in a child JVM started with the benchmark's own class path; {@link #close()}
 * (and JVM exit) ends it. Only ever listens on 127.0.0.1.
 */
final class SinkProcess implements AutoCloseable {
  private final Process process;
  private final int[] ports;
  private final Thread hook;

  private SinkProcess(Process process, int[] ports) {
    this.process = process;
    this.ports = ports;
    this.hook = new Thread(process::destroyForcibly, "sink-kill");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Starts a sink with one listener. */
  static SinkProcess start() throws IOException {
    return start(1);
  }

  /** Starts a sink with {@code listeners} listening ports. */
  static SinkProcess start(int listeners) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java,
        "-Xms32m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-XX:-UsePerfData", "-Xshare:auto",
        "-cp", System.getProperty("java.class.path"),
        Sink.class.getName(), String.valueOf(listeners)));
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
      String line = out.readLine();
      if (line == null || !line.startsWith("PORTS ")) {
        throw new IOException("sink did not start: " + line);
      }
      String[] words = line.substring(6).trim().split(" ");
      int[] ports = new int[words.length];
      for (int i = 0; i < words.length; i++) {
        ports[i] = Integer.parseInt(words[i]);
      }
      return new SinkProcess(p, ports);
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
  }

  int port() {
    return ports[0];
  }

  int[] ports() {
    return ports.clone();
  }

  @Override
  public void close() {
    try {
      process.getOutputStream().close(); // the sink exits on EOF
    } catch (IOException ignored) {
      // killed below anyway
    }
    try {
      if (!process.waitFor(2, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException ignored) {
      // already shutting down: the hook kills it
    }
  }
}
