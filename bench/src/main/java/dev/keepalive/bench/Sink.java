package dev.keepalive.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;

/**
 * A TCP sink on 127.0.0.1 (or spread over many 127.x addresses): accepts every connection and keeps it open, saying nothing, so the
 * benchmark's pooled sockets stay idle and clean. A connection the client closes is closed here
 * too (no fd leak when the benchmark discards sockets); anything a client sends is dropped.
 *
 * <p>Runs as its own process ({@link SinkProcess}) so that the sink's ends of 10,000 sockets do
 * not count against the benchmark JVM's file descriptor limit. Protocol: prints
 * {@code PORTS p1 p2 ...} on one line once listening; exits when its standard input closes (the
 * parent ended or closed the pipe).
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.keepalive.bench.Sink [listeners [addresses]]}
 * (default 1 listener, 1 address). With {@code addresses} above 1, listener {@code i} listens on
 * loopback address {@code i % addresses} of {@link #address(int)} (127.1.0.1, 127.1.0.2, ...,
 * all on the loopback interface, which holds the whole of 127.0.0.0/8) instead of 127.0.0.1, and
 * the sink prints {@code ADDRS a1 a2 ...} (one per listener) before its {@code PORTS} line: for
 * holding more connections than one destination address's client ports allow, and like a client
 * of many servers.
 */
public final class Sink {
  private Sink() {}

  public static void main(String[] args) throws IOException {
    int listeners = args.length > 0 ? Integer.parseInt(args[0]) : 1;
    int addresses = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    Selector selector = Selector.open();
    StringBuilder ports = new StringBuilder("PORTS");
    StringBuilder addrs = new StringBuilder("ADDRS");
    for (int i = 0; i < listeners; i++) {
      ServerSocketChannel server = ServerSocketChannel.open();
      InetAddress at = addresses > 1 ? address(i % addresses) : loopback;
      server.bind(new InetSocketAddress(at, 0), 4096);
      addrs.append(' ').append(at.getHostAddress());
      server.configureBlocking(false);
      server.register(selector, SelectionKey.OP_ACCEPT);
      ports.append(' ').append(server.socket().getLocalPort());
    }

    Thread watchdog = new Thread(
        () -> {
          try {
            InputStream in = System.in;
            while (in.read() >= 0) {
              // the parent never writes; EOF means it is gone or wants us gone
            }
          } catch (IOException ignored) {
            // same as EOF
          }
          System.exit(0);
        },
        "sink-stdin");
    watchdog.setDaemon(true);
    watchdog.start();

    if (addresses > 1) {
      System.out.println(addrs);
    }
    System.out.println(ports);
    System.out.flush();

    ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
    selectForever(selector, key -> {
      if (key.isAcceptable()) {
        ServerSocketChannel server = (ServerSocketChannel) key.channel();
        SocketChannel ch;
        while ((ch = server.accept()) != null) {
          ch.configureBlocking(false);
          ch.register(selector, SelectionKey.OP_READ);
        }
      } else if (key.isReadable()) {
        SocketChannel ch = (SocketChannel) key.channel();
        int n;
        try {
          do {
            buffer.clear();
            n = ch.read(buffer);
          } while (n > 0);
        } catch (IOException e) {
          n = -1;
        }
        if (n < 0) {
          key.cancel();
          ch.close();
        }
      }
    });
  }

  /** The {@code n}th (from 0) of the sink's spread addresses: 127.1.0.1, ..., 127.1.0.250, 127.1.1.1, ... */
  public static InetAddress address(int n) throws IOException {
    if (n < 0 || n >= 250 * 256) {
      throw new IllegalArgumentException("address index " + n);
    }
    return InetAddress.getByAddress(new byte[] {127, 1, (byte) (n / 250), (byte) (n % 250 + 1)});
  }

  /** What a selector loop does with one selected, valid key. */
  interface KeyHandler {
    void handle(SelectionKey key) throws IOException;
  }

  /** Selects for ever, handing each selected key that is still valid to {@code handler}. */
  static void selectForever(Selector selector, KeyHandler handler) throws IOException {
    while (true) {
      selector.select();
      Iterator<SelectionKey> it = selector.selectedKeys().iterator();
      while (it.hasNext()) {
        SelectionKey key = it.next();
        it.remove();
        if (key.isValid()) {
          handler.handle(key);
        }
      }
    }
  }
}
