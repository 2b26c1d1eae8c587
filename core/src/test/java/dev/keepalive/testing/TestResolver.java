package dev.keepalive.testing;

import dev.keepalive.Resolver;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A resolver for tests that records every lookup it is asked for. Depending on how it is made it
 * answers at once from a table, leaves every lookup open for the test to complete (or never), or
 * refuses (for resolvers that must never be called).
 */
public final class TestResolver implements Resolver {
  /** One call of {@link #resolve}: the host asked for and the answer handed back. */
  public record Lookup(String host, CompletableFuture<List<InetAddress>> answer, Thread thread) {}

  private final List<Lookup> calls = new CopyOnWriteArrayList<>();
  private final Function<String, CompletableFuture<List<InetAddress>>> behaviour;

  private TestResolver(Function<String, CompletableFuture<List<InetAddress>>> behaviour) {
    this.behaviour = behaviour;
  }

  /** Leaves every lookup open: the test completes it with {@link #completeAll}, or never. */
  public static TestResolver manual() {
    return new TestResolver(host -> new CompletableFuture<>());
  }

  /** Answers at once from {@code table}; an unknown host fails with UnknownHostException. */
  public static TestResolver answering(Map<String, List<InetAddress>> table) {
    return new TestResolver(host -> {
      List<InetAddress> a = table.get(host);
      return a == null
          ? CompletableFuture.failedFuture(new UnknownHostException(host))
          : CompletableFuture.completedFuture(a);
    });
  }

  /** Must never be asked: records the call and fails the lookup. */
  public static TestResolver forbidden() {
    return new TestResolver(host -> CompletableFuture.failedFuture(
        new AssertionError("the resolver must not be called (asked for " + host + ")")));
  }

  @Override
  public CompletionStage<List<InetAddress>> resolve(String host) {
    CompletableFuture<List<InetAddress>> answer = behaviour.apply(host);
    calls.add(new Lookup(host, answer, Thread.currentThread()));
    return answer;
  }

  /** Every lookup asked for so far, in order. */
  public List<Lookup> calls() {
    return calls;
  }

  public int callCount() {
    return calls.size();
  }

  /** The hosts asked for, in order. */
  public List<String> hosts() {
    return calls.stream().map(Lookup::host).collect(Collectors.toList());
  }

  /** Completes every lookup still open with {@code addresses}. */
  public void completeAll(InetAddress... addresses) {
    for (Lookup l : calls) {
      l.answer().complete(List.of(addresses));
    }
  }
}
