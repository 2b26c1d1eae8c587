package dev.keepalive.bench.peers;

/**
 * {@link NettyFixedPoolBenchmark} configured as safe as keepalive (issue 17): the
 * {@code FixedChannelPool} built with every safety option spelled out ({@code
 * ChannelHealthChecker.ACTIVE} on acquire, {@code releaseHealthCheck} true), and a handler that
 * closes a channel receiving anything while it waits in the pool ({@code
 * NettyFixedPoolBenchmark.Pools.IdleGuard}): Netty's event loop reads every channel all the
 * time, so a byte or end of stream arriving on an idle channel closes it there and the {@code
 * ACTIVE} check keeps it from being handed out, which is what a Netty user would add for
 * keepalive's guarantee. Same cycle and checks.
 */
public class NettySafeFixedPoolBenchmark extends NettyFixedPoolBenchmark {}
