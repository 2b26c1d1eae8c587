package dev.keepalive.reliability;

import dev.keepalive.Allocation;
import dev.keepalive.AllocationException;
import dev.keepalive.AllocationResult;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.testing.Managers;
import dev.keepalive.testkit.Await;
import dev.keepalive.testkit.Descriptors;
import dev.keepalive.testkit.Loopback;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@code LocalFaultsTest} in a child JVM under a low {@code ulimit -n}, with the port of a
 * server in the parent. It warms up (so that every class it needs later is loaded: a class read
 * from a directory of the class path needs a descriptor), puts one connection in the pool, then
 * opens /dev/null until open() fails with EMFILE, and while no descriptor is left:
 *
 * <ul>
 *   <li>a request served from the pool still succeeds (IMMEDIATE: it needs no descriptor);
 *   <li>requests that need a new socket, future and callback style, each answer exactly once
 *       with function "connect", errorNum 24, errorStr "Too many open files";
 *   <li>building a new manager fails cleanly (its selector cannot be opened);
 *   <li>the counts show nothing half-made (one leased socket, nothing connecting or pending).
 * </ul>
 *
 * Then it frees the descriptors: the next request connects (NEW); it closes the manager and
 * checks the process holds exactly the descriptors it held before the manager was built. It
 * prints one line {@code FDEXHAUSTION OK ...} or {@code FDEXHAUSTION FAIL ...} and exits 0 or 1.
 */
public final class FdExhaustionMain {
  static final String VERDICT = "FDEXHAUSTION";
  /** Connections opened to the parent's server (NEW answers), so it can wait for them. */
  private static int opened;

  private FdExhaustionMain() {}

  public static void main(String[] args) {
    List<String> problems = new ArrayList<>();
    String facts = "";
    try {
      facts = run(Integer.parseInt(args[0]), problems);
    } catch (Throwable t) {
      t.printStackTrace();
      problems.add("threw " + t);
    }
    System.out.println(VERDICT
        + (problems.isEmpty() ? " OK " : " FAIL ")
        + facts
        + (problems.isEmpty() ? "" : " problems=" + problems));
    System.out.flush();
    System.exit(problems.isEmpty() ? 0 : 1);
  }

  private static String run(int port, List<String> problems) throws Exception {
    String limit = openFilesLimit();
    Allocation a = Allocation.to("http", "127.0.0.1", port);
    Allocation other = Allocation.to("other", "127.0.0.1", port);
    warmUp(a, other);
    int before = Descriptors.count();

    ConnectionManager m = ConnectionManager.builder().maxPerHost(4).build();
    Connection pooled = get(m.allocate(a));
    check(problems, "first connection", pooled.fromCache(), FromCache.NEW);
    pooled.close();
    Managers.awaitStats(m, new PoolStats(1, 1, 0, 0, 0));

    // ---- no descriptor left ----
    List<FileInputStream> hog = new ArrayList<>();
    String emfile = null;
    while (emfile == null) {
      try {
        hog.add(new FileInputStream("/dev/null"));
      } catch (FileNotFoundException e) {
        emfile = e.getMessage();
      }
    }
    int hogged = hog.size();
    Connection reused;
    List<AllocationResult> answers = new ArrayList<>();
    String managerBuild;
    PoolStats whileExhausted;
    try {
      reused = get(m.allocate(a)); // from the pool: needs no descriptor
      CompletableFuture<Connection> needsNew = m.allocate(a);
      List<CompletableFuture<AllocationResult>> callbacks = new ArrayList<>();
      for (Allocation x : List.of(a, other, other)) {
        CompletableFuture<AllocationResult> r = new CompletableFuture<>();
        m.allocate(x, result -> {
          if (!r.complete(result)) {
            problems.add("a second answer for " + result);
          }
        });
        callbacks.add(r);
      }
      answers.add(failureOf(needsNew).result());
      for (CompletableFuture<AllocationResult> r : callbacks) {
        answers.add(r.get(20, TimeUnit.SECONDS));
      }
      Managers.awaitStats(m, new PoolStats(1, 0, 1, 0, 0));
      whileExhausted = m.stats();
      try {
        ConnectionManager.builder().build().close();
        managerBuild = "built";
      } catch (UncheckedIOException e) {
        managerBuild = e.getMessage() + ": " + e.getCause().getMessage();
      }
    } finally {
      for (FileInputStream f : hog) {
        f.close();
      }
    }
    // ---- descriptors free again ----
    if (!emfile.endsWith("(Too many open files)")) {
      problems.add("open() failed otherwise: " + emfile);
    }
    if (hogged < 4) {
      problems.add("only " + hogged + " descriptors were free under the limit: raise it");
    }
    check(
        problems, "the pooled connection while exhausted", reused.fromCache(), FromCache.IMMEDIATE);
    check(problems, "answers while exhausted", answers.size(), 4);
    for (AllocationResult r : answers) {
      check(problems, "function of " + r, r.function(), "connect");
      check(problems, "errorNum of " + r, r.errorNum(), 24);
      check(problems, "errorStr of " + r, r.errorStr(), "Too many open files");
    }
    check(problems, "stats while exhausted", whileExhausted, new PoolStats(1, 0, 1, 0, 0));
    check(
        problems,
        "building a manager while exhausted",
        managerBuild,
        "cannot open a selector: Too many open files");

    Connection fresh = get(m.allocate(a)); // the pooled one is still leased: a new socket
    check(problems, "the first connection after recovery", fresh.fromCache(), FromCache.NEW);
    Connection otherKey = get(m.allocate(other));
    check(problems, "the other key after recovery", otherKey.fromCache(), FromCache.NEW);
    reused.close();
    fresh.close();
    otherKey.discard();
    Managers.awaitStats(m, new PoolStats(2, 2, 0, 0, 0));
    m.close();
    check(problems, "stats after close", m.stats(), new PoolStats(0, 0, 0, 0, 0));
    try {
      Await.await().until(() -> Descriptors.count() == before);
    } catch (RuntimeException e) {
      problems.add(
          "descriptors: " + Descriptors.count() + " open after close, " + before + " before");
    }
    return "limit=" + limit + " before=" + before + " hogged=" + hogged + " emfileAnswers="
        + answers.size() + " after=" + Descriptors.count() + " connections=" + opened;
  }

  /** Runs every path the exhausted part takes, so that no class is loaded under EMFILE. */
  private static void warmUp(Allocation a, Allocation other) throws Exception {
    Descriptors.count();
    try (ConnectionManager m = ConnectionManager.create()) {
      Connection c = get(m.allocate(a));
      c.close();
      Managers.awaitStats(m, new PoolStats(1, 1, 0, 0, 0));
      get(m.allocate(a)).discard();
      get(m.allocate(other)).close();
      int closed = Loopback.closedPort();
      AllocationException refused =
          failureOf(m.allocate(Allocation.to("http", "127.0.0.1", closed)));
      check(new ArrayList<>(), "warm-up", refused.errorNum(), 111);
      CompletableFuture<AllocationResult> r = new CompletableFuture<>();
      m.allocate(Allocation.to("http", "127.0.0.1", closed), r::complete);
      r.get(20, TimeUnit.SECONDS).toString();
      m.stats().toString();
    }
    try {
      throw new UncheckedIOException("warm-up", new IOException("warm-up"));
    } catch (UncheckedIOException e) {
      e.getCause().getMessage();
    }
    Await.await().until(() -> true);
  }

  private static Connection get(CompletableFuture<Connection> f) throws Exception {
    Connection c = f.get(20, TimeUnit.SECONDS);
    if (c.fromCache() == FromCache.NEW) {
      opened++;
    }
    return c;
  }

  private static AllocationException failureOf(CompletableFuture<Connection> f) throws Exception {
    try {
      Connection c = f.get(20, TimeUnit.SECONDS);
      c.discard();
      throw new AssertionError("expected a failure, got " + c);
    } catch (ExecutionException e) {
      return (AllocationException) e.getCause();
    }
  }

  private static void check(List<String> problems, String what, Object actual, Object expected) {
    if (!expected.equals(actual)) {
      problems.add(what + ": expected " + expected + " but was " + actual);
    }
  }

  private static String openFilesLimit() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
      if (line.startsWith("Max open files")) {
        return line.substring("Max open files".length()).trim().split("\\s+")[0];
      }
    }
    return "?";
  }
}
