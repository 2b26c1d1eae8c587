package dev.keepalive;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JDK's blocking resolver behind a small bounded pool of daemon threads, shared by every
 * manager. Threads end after 30 s without work.
 */
final class SystemResolver implements Resolver {
  static final SystemResolver INSTANCE = new SystemResolver();

  private static final int THREADS = 4;

  private final ThreadPoolExecutor executor;

  private SystemResolver() {
    AtomicInteger n = new AtomicInteger();
    executor = new ThreadPoolExecutor(
        THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "keepalive-dns-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    executor.allowCoreThreadTimeOut(true);
  }

  @Override
  public CompletionStage<List<InetAddress>> resolve(String host) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return List.of(InetAddress.getAllByName(host));
          } catch (UnknownHostException e) {
            throw new CompletionException(e);
          }
        },
        executor);
  }

  @Override
  public String toString() {
    return "Resolver.system()";
  }
}
