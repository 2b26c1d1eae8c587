package dev.keepalive.reliability;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel's view of TCP sockets (Linux /proc/net/tcp and tcp6): half-open connects
 * (SYN_SENT), send and receive queues, and what a leaked descriptor was connected to.
 */
final class TcpTable {
  static final int ESTABLISHED = 0x01;
  static final int SYN_SENT = 0x02;
  static final int TIME_WAIT = 0x06;

  /** One socket: its state and the bytes in its send and receive queues. */
  record Entry(int localPort, int remotePort, int state, long txQueue, long rxQueue) {}

  private TcpTable() {}

  /**
   * The socket from {@code localPort} to {@code remotePort} (TIME_WAIT left out: that is a closed
   * socket's ghost), or null. Reading these files costs about 10 µs per socket listed, and a busy
   * test machine lists thousands in TIME_WAIT: poll it only where nothing cheaper tells.
   */
  static Entry find(int localPort, int remotePort) {
    for (String file : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      try (java.util.stream.Stream<String> lines = Files.lines(Path.of(file))) {
        Entry e = lines.skip(1).map(l -> l.trim().split("\\s+"))
            .filter(f -> f.length > 4 && Integer.parseInt(f[3], 16) != TIME_WAIT
                && port(f[1]) == localPort && port(f[2]) == remotePort)
            .map(f -> entry(f, Integer.parseInt(f[3], 16)))
            .findFirst().orElse(null);
        if (e != null) {
          return e;
        }
      } catch (IOException | java.io.UncheckedIOException e) {
        // no such file: no IPv6
      }
    }
    return null;
  }

  private static Entry entry(String[] f, int state) {
    int colon = f[4].indexOf(':');
    return new Entry(port(f[1]), port(f[2]), state,
        Long.parseLong(f[4].substring(0, colon), 16),
        Long.parseLong(f[4].substring(colon + 1), 16));
  }

  /** Every socket whose remote port is {@code remotePort} and state is {@code state}. */
  static List<Entry> byRemotePort(int remotePort, int state) {
    List<Entry> out = new ArrayList<>();
    for (String file : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file));
      } catch (IOException e) {
        continue;
      }
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split("\\s+");
        if (f.length < 5 || port(f[2]) != remotePort || Integer.parseInt(f[3], 16) != state) {
          continue;
        }
        out.add(entry(f, state));
      }
    }
    return out;
  }

  /**
   * "local port -> remote port (state)" of the TCP sockets among {@code links} (descriptor
   * targets such as "socket:[12345]"), for leak reports.
   */
  static List<String> byInodes(java.util.Collection<String> links) {
    List<String> out = new ArrayList<>();
    for (String file : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file));
      } catch (IOException e) {
        continue;
      }
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split("\\s+");
        if (f.length > 9 && links.contains("socket:[" + f[9] + "]")) {
          out.add(port(f[1]) + " -> " + port(f[2]) + " (state " + f[3] + ")");
        }
      }
    }
    return out;
  }

  private static int port(String hexAddressAndPort) {
    return Integer.parseInt(hexAddressAndPort.substring(hexAddressAndPort.indexOf(':') + 1), 16);
  }
}
