package dev.keepalive.testkit;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An echo server on 127.0.0.1: each connection's thread writes back whatever it reads, as it
 * reads it (so a client writing megabytes must read the echo at the same time), and closes its
 * side when the client closes.
 */
public final class EchoServer extends AcceptingServer {
  private final AtomicLong echoed;

  public EchoServer() {
    this(new AtomicLong());
  }

  private EchoServer(AtomicLong echoed) {
    super("echo", unbound(), Loopback.ipv4(), peer -> echo(peer, echoed));
    this.echoed = echoed;
  }

  private static void echo(Socket peer, AtomicLong echoed) throws Exception {
    byte[] buf = new byte[64 * 1024];
    try (peer) {
      InputStream in = peer.getInputStream();
      OutputStream out = peer.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
        echoed.addAndGet(n);
      }
    }
  }

  /** Bytes echoed so far over every connection. */
  public long echoed() {
    return echoed.get();
  }
}
