package dev.keepalive.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Control experiment, no keepalive code: the floor the operating system sets under a cached
 * cycle. The manager checks a pooled socket with a one-byte non-blocking read when it is given
 * back and again when it leaves the pool, so a cached cycle costs at least two such reads. One
 * operation here is those two reads on idle sockets registered with a selector for OP_READ (as
 * pooled sockets are), round-robin over {@code sockets} sockets like loopCached over its keys.
 */
public class ProbeBaselineBenchmark extends JmhSettings {

  @State(Scope.Thread)
  public static class Sockets {
    @Param({"1", "10000"})
    public int sockets;

    SinkProcess sink;
    Selector selector;
    SocketChannel[] channels;
    final ByteBuffer probe = ByteBuffer.allocateDirect(1);
    int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      sink = SinkProcess.start();
      selector = Selector.open();
      channels = new SocketChannel[sockets];
      InetSocketAddress to = new InetSocketAddress("127.0.0.1", sink.port());
      for (int i = 0; i < sockets; i++) {
        SocketChannel ch = SocketChannel.open(to);
        ch.configureBlocking(false);
        ch.register(selector, SelectionKey.OP_READ);
        channels[i] = ch;
      }
      selector.selectNow();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      for (SocketChannel ch : channels) {
        if (ch != null) {
          ch.close();
        }
      }
      selector.close();
      sink.close();
    }
  }

  /** Two one-byte reads on one idle socket (both must find nothing), next socket each time. */
  @Benchmark
  public int twoProbes(Sockets s) throws IOException {
    SocketChannel ch = s.channels[s.next];
    s.next = s.next + 1 == s.channels.length ? 0 : s.next + 1;
    s.probe.clear();
    int a = ch.read(s.probe);
    s.probe.clear();
    int b = ch.read(s.probe);
    if (a != 0 || b != 0) {
      throw new IllegalStateException("an idle socket had input: " + a + ", " + b);
    }
    return a + b;
  }
}
