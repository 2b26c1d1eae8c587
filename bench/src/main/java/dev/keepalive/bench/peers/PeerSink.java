package dev.keepalive.bench.peers;

import dev.keepalive.bench.Sink;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The keepalive benchmarks' {@link Sink} (one listener on 127.0.0.1) in a child JVM with the
 * same class path and the same JVM options as {@code SinkProcess} starts it with, so that the
 * peers' sockets end at the same server as keepalive's. The sink's ends of the sockets count
 * against its own file descriptor limit, not the benchmark's.
 */
final class PeerSink implements AutoCloseable {
  private final Process process;
  private final InetSocketAddress address;
  private final Thread hook;

  private PeerSink(Process process, InetSocketAddress address) {
    this.process = process;
    this.address = address;
    this.hook = new Thread(process::destroyForcibly, "sink-kill");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  static PeerSink start() throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(List.of(java, "-Xms32m", "-Xmx128m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xshare:auto",
        "-cp", System.getProperty("java.class.path"), Sink.class.getName(), "1"))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("PORTS ")) {
        // nothing else expected from a plain sink
      }
      if (line == null) {
        throw new IOException("sink did not start");
      }
      int port = Integer.parseInt(line.substring(6).trim().split(" ")[0]);
      return new PeerSink(p, new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
  }

  /** 127.0.0.1 and the sink's port. */
  InetSocketAddress address() {
    return address;
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
