package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An echo server on a Unix domain socket, in a directory of its own under the temporary
 * directory: each connection's thread writes back what it reads until the client closes. The
 * socket file and its directory are removed on close.
 */
public final class UnixEchoServer implements AutoCloseable {
  private final Path dir;
  private final Path path;
  private final ServerSocketChannel server;
  private final AcceptLoop<SocketChannel> loop;

  public UnixEchoServer() {
    try {
      dir = Files.createTempDirectory("keepalive-unix");
      path = dir.resolve("echo.sock");
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(path), 128);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    loop = new AcceptLoop<>(
        "unix-echo-acceptor",
        server,
        server::accept,
        ch -> AcceptLoop.daemon("unix-echo", () -> echo(ch)));
  }

  private static void echo(SocketChannel ch) {
    ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
    try (ch) {
      while (ch.read(buf) >= 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        buf.clear();
      }
    } catch (IOException e) {
      // the client went away, or the server was closed
    }
  }

  /** The socket file. */
  public Path path() {
    return path;
  }

  /** Connections accepted so far. */
  public int acceptedCount() {
    return loop.accepted().size();
  }

  @Override
  public void close() {
    loop.close();
    try {
      Files.deleteIfExists(path);
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
