/**
 * JMH benchmarks of keepalive (run by {@code bench/run-pool-bench.sh}, never by the build): cached
 * allocate/close cycles driven from the event loop and from plain threads, new-connection cycles,
 * and an OS baseline; all against {@link dev.keepalive.bench.Sink}, a silent TCP server on
 * 127.0.0.1 in a child process. See bench/README.md.
 */
package dev.keepalive.bench;
