package dev.keepalive.bench.peers;

import dev.keepalive.bench.JmhSettings;
import dev.keepalive.bench.KeyCycle;
import dev.keepalive.bench.SinkProcess;
import dev.keepalive.bench.ThreadCachedBenchmark;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.AbstractChannelPoolMap;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.FixedChannelPool;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * {@code ThreadCachedBenchmark}'s work through Netty's {@link FixedChannelPool}: from plain
 * threads, {@code acquire().syncUninterruptibly()} then {@code release(channel)} (not waited
 * for, like keepalive's {@code close()}), round-robin over the thread's keys; one pool per key in
 * an {@link AbstractChannelPoolMap}, all over one {@link Bootstrap} of NIO channels to the sink
 * on one event loop ({@code MultiThreadIoEventLoopGroup(1, NioIoHandler)}, Netty 4.2's
 * {@code NioEventLoopGroup(1)}). Like keepalive, each acquire and release is a task on the event
 * loop, and the caller waits for the acquire's answer. Netty's defaults otherwise: LIFO, the
 * {@code ACTIVE} health check (a flag, no I/O) on acquire and on release; per-key limit 4, no
 * limit on pending acquires. No connect while measuring (counted in {@code channelCreated}), and
 * after every iteration nothing acquired but the with-queue benchmark's blockers.
 */
public class NettyFixedPoolBenchmark extends JmhSettings {

  /** True for {@link NettySafeFixedPoolBenchmark}, which runs these methods under its name. */
  static boolean safe(BenchmarkParams params) {
    return params.getBenchmark().contains(".NettySafeFixedPoolBenchmark.");
  }

  /** The pools, their event loop and the sink. */
  static final class Pools implements PeerState.Checked {
    final SinkProcess sink;
    final EventLoopGroup group;
    final AbstractChannelPoolMap<String, FixedChannelPool> map;
    final String[] keys;
    /** Channels connected so far (on the event loop). */
    final AtomicLong created = new AtomicLong();

    final List<Channel> blockers = new ArrayList<>();
    final List<Future<Channel>> queued = new ArrayList<>();
    long expectCreated;

    /**
     * The equal-safety variant ({@link NettySafeFixedPoolBenchmark}): a channel that receives
     * anything (data or end of stream) while it waits in the pool is closed by the event loop, so
     * that the {@code ACTIVE} check on acquire never hands it out.
     */
    final boolean safe;

    Pools(String[] keys, boolean safe) throws Exception {
      this.keys = keys;
      this.safe = safe;
      sink = SinkProcess.start();
      group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
      Bootstrap bootstrap = new Bootstrap()
          .group(group)
          .channel(NioSocketChannel.class)
          .remoteAddress(sink.address());
      AbstractChannelPoolHandler handler = new AbstractChannelPoolHandler() {
        @Override
        public void channelCreated(Channel ch) {
          created.incrementAndGet();
          if (safe) {
            ch.pipeline().addLast(IdleGuard.NAME, new IdleGuard());
          }
        }

        @Override
        public void channelReleased(Channel ch) {
          if (safe) {
            ((IdleGuard) ch.pipeline().get(IdleGuard.NAME)).pooled = true;
          }
        }

        @Override
        public void channelAcquired(Channel ch) {
          if (safe) {
            ((IdleGuard) ch.pipeline().get(IdleGuard.NAME)).pooled = false;
          }
        }
      };
      map = new AbstractChannelPoolMap<>() {
        @Override
        protected FixedChannelPool newPool(String key) {
          if (!safe) {
            return new FixedChannelPool(bootstrap, handler, Keys.MAX_PER_KEY);
          }
          // every safety option spelled out: health check on acquire and on release, no
          // acquire timeout, unlimited pending acquires, LIFO
          return new FixedChannelPool(
              bootstrap,
              handler,
              ChannelHealthChecker.ACTIVE,
              null,
              -1,
              Keys.MAX_PER_KEY,
              Integer.MAX_VALUE,
              true,
              true);
        }
      };
    }

    /**
     * Closes its channel when anything arrives while the channel is in the pool: bytes nobody
     * asked for, or end of stream (Netty reads every channel all the time; without this, data
     * arriving on an idle channel would be dropped at the pipeline's end and the channel handed
     * out again). The pool handler sets {@link #pooled} on the event loop.
     */
    static final class IdleGuard extends ChannelInboundHandlerAdapter {
      static final String NAME = "idle-guard";
      boolean pooled;

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (pooled) {
          ReferenceCountUtil.release(msg);
          ctx.close();
        } else {
          ctx.fireChannelRead(msg);
        }
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (pooled && evt instanceof ChannelInputShutdownEvent) {
          ctx.close();
        }
        ctx.fireUserEventTriggered(evt);
      }
    }

    /** {@code perKey} connected, released channels per key. */
    void prewarm(int perKey) {
      List<Held> held = new ArrayList<>();
      List<Held> batch = new ArrayList<>();
      for (int round = 0; round < perKey; round++) {
        for (String key : keys) {
          FixedChannelPool pool = map.get(key);
          batch.add(new Held(pool, pool.acquire()));
          if (batch.size() == Keys.WARM_BATCH) {
            held.addAll(batch);
            await(batch);
          }
        }
      }
      held.addAll(batch);
      await(batch);
      for (Held h : held) {
        h.pool.release(h.channel.getNow()).syncUninterruptibly();
      }
      expectCreated = created.get();
      if (expectCreated != (long) keys.length * perKey) {
        throw new IllegalStateException("pre-warming connected " + expectCreated + " channels");
      }
    }

    /** A channel acquired while pre-warming, and its pool. */
    private record Held(FixedChannelPool pool, Future<Channel> channel) {}

    private static void await(List<Held> batch) {
      for (Held h : batch) {
        h.channel.syncUninterruptibly();
      }
      batch.clear();
    }

    /** Throws unless no channel was connected since set-up and only the blockers are out. */
    public void verify() throws InterruptedException {
      Keys.await(
          () -> acquired() == blockers.size(),
          () -> "expected " + blockers.size() + " acquired, found " + acquired());
      if (created.get() != expectCreated) {
        throw new IllegalStateException("not a cached benchmark: " + (created.get() - expectCreated)
            + " channels connected while measuring");
      }
      for (Future<Channel> f : queued) {
        if (f.isDone()) {
          throw new IllegalStateException("a queued acquire was answered while measuring");
        }
      }
    }

    private long acquired() {
      long n = 0;
      for (Map.Entry<String, FixedChannelPool> e : map) {
        n += e.getValue().acquiredChannelCount();
      }
      return n;
    }

    Channel cycle(Worker w) {
      FixedChannelPool pool = map.get(w.next());
      Channel ch = pool.acquire().syncUninterruptibly().getNow();
      pool.release(ch);
      return ch;
    }

    @Override
    public void close() {
      // closes every channel, acquired or idle; the pending acquires are dropped with the loop
      group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
      sink.close();
    }
  }

  @State(Scope.Benchmark)
  public static class Target extends PeerState<Pools> {
    @Param({"1", "100", "10000"})
    public int keys;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
      pools = new Pools(Keys.names(keys), safe(params));
      pools.prewarm(Keys.perKey(keys));
      pools.verify();
    }
  }

  /**
   * One key with one idle channel, cycled from one thread, while the {@link Keys#BLOCKED} key's
   * pool has its 4 channels acquired and {@value Keys#QUEUED} acquires wait behind them.
   */
  @State(Scope.Benchmark)
  public static class WithQueue extends PeerState<Pools> {

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
      pools = new Pools(Keys.names(1), safe(params));
      pools.prewarm(1);
      FixedChannelPool blocked = pools.map.get(Keys.BLOCKED);
      for (int i = 0; i < Keys.MAX_PER_KEY; i++) {
        pools.blockers.add(blocked.acquire().syncUninterruptibly().getNow());
      }
      for (int i = 0; i < Keys.QUEUED; i++) {
        pools.queued.add(blocked.acquire());
      }
      pools.expectCreated = pools.created.get();
      pools.verify();
    }
  }

  /** A benchmark thread's keys. */
  public abstract static class Worker extends KeyCycle<String> {}

  @State(Scope.Thread)
  public static class KeysWorker extends Worker {
    @Setup(Level.Trial)
    public void setUp(Target t, ThreadParams thread) {
      mine = ThreadCachedBenchmark.mine(t.pools.keys, thread);
    }
  }

  @State(Scope.Thread)
  public static class QueueWorker extends Worker {
    @Setup(Level.Trial)
    public void setUp(WithQueue q) {
      mine = q.pools.keys;
    }
  }

  @Benchmark
  @Threads(1)
  public Channel threadCached(Target t, KeysWorker w) {
    return t.pools.cycle(w);
  }

  @Benchmark
  @Threads(2)
  public Channel threadCached2(Target t, KeysWorker w) {
    return t.pools.cycle(w);
  }

  @Benchmark
  @Threads(1)
  public Channel threadCachedWithQueue(WithQueue q, QueueWorker w) {
    return q.pools.cycle(w);
  }
}
