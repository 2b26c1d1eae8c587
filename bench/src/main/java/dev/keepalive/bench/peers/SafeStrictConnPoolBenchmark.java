package dev.keepalive.bench.peers;

/**
 * {@link StrictConnPoolBenchmark} configured as safe as keepalive (issue 17): the same pool and
 * cycle, plus a stale check of every leased socket before it is handed out, a 1-byte
 * non-blocking read (see {@link HcPool#stale}); a stale socket would be replaced by a new
 * connection, which the checks after each iteration count as a failure of the benchmark.
 */
public class SafeStrictConnPoolBenchmark extends HcPoolBenchmark {}
