package dev.keepalive.bench;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.Resolver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Connect time to a host name whose first address is blackholed (a listener on 127.0.0.2 whose
 * accept queue is full: its connects never complete) and whose second (127.0.0.3, same port)
 * accepts: Happy Eyeballs ({@code connectAttemptDelay} 250 ms, the default) against sequential
 * attempts (emulated with an attempt delay of an hour: the next address is then tried only after
 * a failure, and a blackholed connect only ends at the request's timeout). Both in one run; every
 * allocation is fresh (a NEW connection), discarded once answered.
 *
 * <p>A plain main, not JMH: {@code java -cp keepalive-bench.jar
 * dev.keepalive.bench.HappyEyeballsBench [connects per mode, default 20] [sequential timeout ms,
 * default 2000]}. Linux only (127/8 is loopback there). Prints, per mode, the connects that
 * succeeded and the median, mean and maximum time to the answer.
 */
public final class HappyEyeballsBench {
  private static final String HOST = "blackholed-first.bench";

  private HappyEyeballsBench() {}

  public static void main(String[] args) throws Exception {
    int connects = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    long timeoutMs = args.length > 1 ? Long.parseLong(args[1]) : 2_000;
    InetAddress blackholed = InetAddress.getByAddress(new byte[] {127, 0, 0, 2});
    InetAddress live = InetAddress.getByAddress(new byte[] {127, 0, 0, 3});
    try (Live server = new Live(live);
        Blackhole hole = new Blackhole(blackholed, server.port())) {
      Resolver resolver = host -> CompletableFuture.completedFuture(List.of(hole.address(), live));
      Allocation a = Allocation.to("http", HOST, server.port())
          .timeout(Duration.ofMillis(timeoutMs))
          .fresh();
      System.out.println(
          run("happy eyeballs (250 ms)", resolver, Duration.ofMillis(250), a, connects));
      System.out.println(run("sequential (1 h delay)", resolver, Duration.ofHours(1), a, connects));
    }
  }

  private static String run(
      String mode, Resolver resolver, Duration attemptDelay, Allocation a, int connects)
      throws InterruptedException {
    long[] nanos = new long[connects];
    int ok = 0;
    try (ConnectionManager m = ConnectionManager.builder()
        .resolver(resolver)
        .connectAttemptDelay(attemptDelay)
        .build()) {
      for (int i = 0; i < connects; i++) {
        long start = System.nanoTime();
        try {
          Connection c = m.allocate(a).get();
          nanos[i] = System.nanoTime() - start;
          c.discard();
          ok++;
        } catch (ExecutionException e) {
          nanos[i] = System.nanoTime() - start;
          if (!(e.getCause() instanceof AllocationException)) {
            throw new IllegalStateException(e.getCause());
          }
        }
      }
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    double mean = Arrays.stream(nanos).average().orElse(0);
    return String.format(
        Locale.ROOT,
        "%-24s %d/%d connected; median %.1f ms, mean %.1f ms, max %.1f ms",
        mode,
        ok,
        connects,
        sorted[sorted.length / 2] / 1e6,
        mean / 1e6,
        sorted[sorted.length - 1] / 1e6);
  }

  /** Accepts and closes every connection. */
  private static final class Live implements AutoCloseable {
    private final ServerSocket server = new ServerSocket();
    private final Thread acceptor;

    Live(InetAddress address) throws IOException {
      server.bind(new InetSocketAddress(address, 0), 1024);
      acceptor = new Thread(this::acceptAll, "bench-live-acceptor");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void acceptAll() {
      while (!server.isClosed()) {
        try (Socket s = server.accept()) {
          s.getPort(); // accepted; closed at once
        } catch (IOException e) {
          // closed, or the client went away
        }
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  /**
   * A listener that never accepts, its accept queue (backlog 1) filled by connections of its own:
   * Linux then drops every further SYN. Checked with a probe connect that must time out.
   */
  private static final class Blackhole implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket();
    private final List<Socket> fillers = new ArrayList<>();
    private final InetAddress address;

    Blackhole(InetAddress address, int port) throws IOException {
      this.address = address;
      listener.bind(new InetSocketAddress(address, port), 1);
      for (int i = 0; i < 2; i++) {
        Socket s = new Socket();
        fillers.add(s);
        s.connect(listener.getLocalSocketAddress(), 5_000);
      }
      try (Socket probe = new Socket()) {
        probe.connect(listener.getLocalSocketAddress(), 300);
        throw new IllegalStateException("the blackhole accepted a connect: queue not full");
      } catch (SocketTimeoutException expected) {
        // the SYN was dropped: connects hang here
      }
    }

    InetAddress address() {
      return address;
    }

    @Override
    public void close() throws IOException {
      for (Socket s : fillers) {
        s.close();
      }
      listener.close();
    }
  }
}
