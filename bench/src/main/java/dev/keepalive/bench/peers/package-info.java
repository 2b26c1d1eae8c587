/**
 * The pool benchmarks' peers, doing the work of {@code ThreadCachedBenchmark} (cached
 * take-then-give-back cycles from plain threads, at 1, 100 and 10,000 keys, and with 10,000
 * requests queued on another key): httpcore5's {@code StrictConnPool} and {@code LaxConnPool}
 * (lease/release) and Netty's {@code FixedChannelPool} (acquire/release), each holding real
 * loopback sockets to the same {@link dev.keepalive.bench.Sink} in a child process.
 * {@link dev.keepalive.bench.peers.PeerSummary} prints the comparison. See bench/README.md.
 */
package dev.keepalive.bench.peers;
