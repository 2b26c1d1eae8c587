package dev.keepalive.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Sink} or a {@link TlsSink} in a child JVM started with the benchmark's own class
 * path; {@link #close()} (and JVM exit) ends it. Only ever listens on loopback addresses:
 * 127.0.0.1, or the 127.1.x.y addresses of a spread {@link Sink} ({@link #addresses()}).
 */
public final class SinkProcess implements AutoCloseable {
  private final Process process;
  private final int[] ports;
  private final Thread hook;
  private final Map<String, String> header;
  private final BufferedReader stdout;

  private SinkProcess(
      Process process, int[] ports, Map<String, String> header, BufferedReader stdout) {
    this.process = process;
    this.ports = ports;
    this.header = header;
    this.stdout = stdout;
    this.hook = new Thread(process::destroyForcibly, "sink-kill");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Starts a sink with one listener. */
  public static SinkProcess start() throws IOException {
    return start(1);
  }

  /** Starts a sink with {@code listeners} listening ports. */
  public static SinkProcess start(int listeners) throws IOException {
    return launch(
        List.of(
            "-Xms32m",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-Xshare:auto"),
        Sink.class.getName(),
        String.valueOf(listeners));
  }

  /**
   * Starts a {@link TlsSink}: {@code plain} plain and {@code tls} TLS echo listeners. Fully
   * JIT-compiled (C2: the AES-GCM and GHASH intrinsics), since its TLS work is on every round
   * trip the benchmark measures.
   */
  public static SinkProcess startTls(int plain, int tls) throws IOException {
    return launch(
        List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto"),
        TlsSink.class.getName(),
        String.valueOf(plain),
        String.valueOf(tls));
  }

  /**
   * Starts {@code main} in a child JVM with this class path; reads its header lines (a first
   * word and the rest) up to and including {@code PORTS p1 p2 ...}.
   */
  public static SinkProcess launch(List<String> jvmArgs, String main, String... args)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
      Map<String, String> header = new HashMap<>();
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("PORTS ")) {
        int space = line.indexOf(' ');
        if (space > 0) {
          header.put(line.substring(0, space), line.substring(space + 1));
        }
      }
      if (line == null) {
        throw new IOException("sink did not start: " + header);
      }
      return new SinkProcess(p, parsePorts(line.substring(6)), header, out);
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
  }

  private static int[] parsePorts(String text) {
    String[] words = text.trim().split(" ");
    int[] ports = new int[words.length];
    for (int i = 0; i < words.length; i++) {
      ports[i] = Integer.parseInt(words[i]);
    }
    return ports;
  }

  /** A header line's value ({@code CERT}, {@code PLAIN}, {@code TLS}), or null. */
  public String header(String name) {
    return header.get(name);
  }

  /** The ports of header line {@code name} ({@code PLAIN}, {@code TLS}). */
  int[] headerPorts(String name) {
    String value = header.get(name);
    if (value == null) {
      throw new IllegalStateException("the sink printed no " + name + " line");
    }
    return parsePorts(value);
  }

  /** Sends {@code command} on the sink's standard input and returns its one-line answer. */
  synchronized String ask(String command) throws IOException {
    OutputStream in = process.getOutputStream();
    in.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
    in.flush();
    String line = stdout.readLine();
    if (line == null) {
      throw new IOException("the sink ended");
    }
    return line;
  }

  public int port() {
    return ports[0];
  }

  /**
   * The address of each port, in the order of {@link #ports()}: the {@code ADDRS} line of a
   * spread {@link Sink}, else 127.0.0.1 for every one.
   */
  public java.net.InetAddress[] addresses() throws IOException {
    java.net.InetAddress[] a = new java.net.InetAddress[ports.length];
    String line = header.get("ADDRS");
    String[] words = line == null ? null : line.trim().split(" ");
    for (int i = 0; i < a.length; i++) {
      a[i] = java.net.InetAddress.getByName(words == null ? "127.0.0.1" : words[i]);
    }
    return a;
  }

  public int[] ports() {
    return ports.clone();
  }

  /** 127.0.0.1 and the first port. */
  public java.net.InetSocketAddress address() {
    return new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), ports[0]);
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
