package dev.keepalive.bench.peers;

/**
 * {@link LaxConnPoolBenchmark} configured as safe as keepalive (issue 17): the same pool and
 * cycle, plus the stale check of every leased socket of {@link SafeStrictConnPoolBenchmark}.
 */
public class SafeLaxConnPoolBenchmark extends HcPoolBenchmark {}
