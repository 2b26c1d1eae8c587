package dev.keepalive.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Helpers for the test's (server) side of a connection, and a view of the kernel's sockets. */
public final class SeedSockets {
  /** How the peer saw the client's side end. */
  public enum Ending {
    EOF, RESET
  }

  /** TCP states in /proc/net/tcp. */
  public static final int ESTABLISHED = 0x01;
  public static final int SYN_SENT = 0x02;

  private SeedSockets() {}

  /**
   * Reads {@code peer} until the other side closes (waits up to 10 s); data still arriving first
   * is skipped. EOF for an orderly close, RESET for an abortive one.
   */
  public static Ending awaitClosed(Socket peer) {
    try {
      peer.setSoTimeout(10_000);
      byte[] buf = new byte[256];
      while (true) {
        if (peer.getInputStream().read(buf) < 0) {
          return Ending.EOF;
        }
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the peer's side was not closed within 10 s", e);
    } catch (SocketException e) {
      return Ending.RESET;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes {@code text} (ASCII) to {@code peer}. */
  public static void write(Socket peer, String text) {
    try {
      peer.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
      peer.getOutputStream().flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads exactly {@code n} bytes from {@code peer} (waits up to 10 s). */
  public static String read(Socket peer, int n) {
    try {
      peer.setSoTimeout(10_000);
      byte[] b = peer.getInputStream().readNBytes(n);
      return new String(b, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The bytes waiting unread in the receive queue of the established TCP socket whose local port
   * is {@code localPort} (Linux /proc/net/tcp and tcp6), or -1 when there is no such socket.
   */
  public static long receiveQueue(int localPort) {
    long found = -1;
    for (String[] f : procNetTcp()) {
      if (port(f[1]) == localPort && Integer.parseInt(f[3], 16) == ESTABLISHED) {
        String rx = f[4].substring(f[4].indexOf(':') + 1);
        found = Math.max(found, Long.parseLong(rx, 16));
      }
    }
    return found;
  }

  /** How many TCP sockets in {@code state} have {@code remotePort} as their remote port. */
  public static int countByRemotePort(int remotePort, int state) {
    int n = 0;
    for (String[] f : procNetTcp()) {
      if (port(f[2]) == remotePort && Integer.parseInt(f[3], 16) == state) {
        n++;
      }
    }
    return n;
  }

  private static int port(String hexAddressAndPort) {
    return Integer.parseInt(hexAddressAndPort.substring(hexAddressAndPort.indexOf(':') + 1), 16);
  }

  private static List<String[]> procNetTcp() {
    List<String[]> out = new java.util.ArrayList<>();
    for (String file : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file));
      } catch (IOException e) {
        continue;
      }
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split("\\s+");
        if (f.length > 4) {
          out.add(f);
        }
      }
    }
    return out;
  }
}
