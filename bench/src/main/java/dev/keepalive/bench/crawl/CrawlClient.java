package dev.keepalive.bench.crawl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * One HTTP client under test in the crawl: set up once with the crawl's limits (2 connections per
 * host, 1,000 in all where the client has a total limit), then asked for GET / on host after host.
 */
interface CrawlClient extends AutoCloseable {
  /**
   * Sends GET / to host {@code host} (an index into the crawl's host names); {@code done} gets
   * (status, null) or (0, the failure) once, on any thread, after the whole body is read.
   */
  void get(int host, BiConsumer<Integer, Throwable> done);

  /**
   * What the client can tell about its connections since the last call (connections opened,
   * reused, evicted, DNS lookups...), name to count; a count it cannot see is left out.
   */
  Map<String, Long> countersSinceLastCall();

  /** Differences between two counter snapshots, by name. */
  static Map<String, Long> delta(Map<String, Long> now, Map<String, Long> before) {
    Map<String, Long> d = new LinkedHashMap<>();
    now.forEach((k, v) -> d.put(k, v - before.getOrDefault(k, 0L)));
    return d;
  }

  @Override
  void close();
}
