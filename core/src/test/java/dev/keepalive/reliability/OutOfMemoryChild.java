package dev.keepalive.reliability;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The child JVM of LoopFailureTest's out-of-memory case (run with a small heap): a request waits
 * for a held connection, then an allocation callback fills the heap on the event loop thread
 * until an OutOfMemoryError ends the loop. Prints what the waiting request was answered and what
 * a later allocate() throws, one line each, and exits 0; exit 3 if the waiting request is still
 * unanswered after 60 s (the hang the manager must not have).
 */
final class OutOfMemoryChild {
  private OutOfMemoryChild() {}

  @SuppressWarnings("unused")
  private static volatile Object sink;

  public static void main(String[] args) throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ConnectionManager m = ConnectionManager.builder()
            .maxPerHost(1)
            .timeout(Duration.ofMinutes(10))
            .build()) {
      Allocation to = Allocation.to("http", "127.0.0.1", server.getLocalPort());
      Connection held = m.allocate(to).get(30, TimeUnit.SECONDS);
      CompletableFuture<Connection> waiting = m.allocate(to);
      m.allocate(Allocation.to("http", "127.0.0.1", 1), r -> {
        List<long[]> hog = new ArrayList<>();
        while (true) {
          hog.add(new long[1 << 20]); // 8 MB at a time, on the loop thread
          sink = hog;
        }
      });
      try {
        waiting.get(60, TimeUnit.SECONDS);
        System.out.println("WAITING: connected (unexpected)");
      } catch (ExecutionException e) {
        sink = null;
        AllocationException a = (AllocationException) e.getCause();
        System.out.println(
            "WAITING: " + a.result().function() + ": " + a.result().errorStr());
      } catch (java.util.concurrent.TimeoutException e) {
        System.out.println("WAITING: no answer after 60 s");
        System.exit(3);
      }
      try {
        m.allocate(to);
        System.out.println("LATER: accepted (unexpected)");
      } catch (IllegalStateException e) {
        System.out.println("LATER: " + e.getMessage());
      }
      System.out.println("HELD: " + (held.isOpen() ? "open" : "closed"));
    }
    System.exit(0);
  }
}
