package dev.keepalive.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The kernel's view of this machine's TCP sockets (Linux /proc/net/tcp and tcp6): half-open
 * connects (SYN_SENT), the bytes waiting in send and receive queues, a listener's accept queue,
 * and what a leaked descriptor was connected to. Reading these files costs about 10 µs per socket
 * listed, and a busy machine lists thousands in TIME_WAIT: poll it only where nothing cheaper
 * tells.
 */
public final class TcpTable {
  public static final int ESTABLISHED = 0x01;
  public static final int SYN_SENT = 0x02;
  public static final int TIME_WAIT = 0x06;
  public static final int LISTEN = 0x0A;

  private static final List<String> FILES = List.of("/proc/net/tcp", "/proc/net/tcp6");

  /**
   * One socket: its ports, state, the bytes in its send and receive queues (for a listener the
   * receive queue is its accept queue), and the inode of its descriptor.
   */
  public record Entry(
      int localPort, int remotePort, int state, long txQueue, long rxQueue, String inode) {}

  private TcpTable() {}

  /**
   * The socket from {@code localPort} to {@code remotePort}, TIME_WAIT left out (that is a
   * closed socket's ghost), or null.
   */
  public static Entry find(int localPort, int remotePort) {
    for (String file : FILES) {
      try (Stream<Entry> entries = entries(file)) {
        Entry e = entries
            .filter(x -> x.state() != TIME_WAIT
                && x.localPort() == localPort
                && x.remotePort() == remotePort)
            .findFirst()
            .orElse(null);
        if (e != null) {
          return e;
        }
      } catch (UncheckedIOException e) {
        // unreadable: as good as absent
      }
    }
    return null;
  }

  /** Every socket whose remote port is {@code remotePort} and state is {@code state}. */
  public static List<Entry> byRemotePort(int remotePort, int state) {
    return all(e -> e.remotePort() == remotePort && e.state() == state);
  }

  /**
   * The bytes waiting unread in the receive queue of the established socket whose local port is
   * {@code localPort}, or -1 when there is no such socket.
   */
  public static long receiveQueue(int localPort) {
    return all(e -> e.localPort() == localPort && e.state() == ESTABLISHED).stream()
        .mapToLong(Entry::rxQueue)
        .max()
        .orElse(-1);
  }

  /** How many connections wait in the accept queue of the listener on {@code port}, or -1. */
  public static long acceptQueue(int port) {
    return all(e -> e.localPort() == port && e.state() == LISTEN).stream()
        .mapToLong(Entry::rxQueue)
        .max()
        .orElse(-1);
  }

  /**
   * "local port -> remote port (state)" of the sockets among {@code links}, descriptor targets
   * such as "socket:[12345]" (for leak reports). Each socket once: while many sockets come and go,
   * the kernel's /proc/net/tcp can list one twice (its reader resumes by position in a table that
   * moved under it).
   */
  public static List<String> byInodes(Collection<String> links) {
    return all(e -> links.contains("socket:[" + e.inode() + "]")).stream()
        .map(e -> e.localPort() + " -> " + e.remotePort() + " (state "
            + String.format("%02X", e.state()) + ")")
        .distinct()
        .collect(Collectors.toList());
  }

  private static List<Entry> all(Predicate<Entry> which) {
    return FILES.stream()
        .flatMap(file -> {
          try (Stream<Entry> entries = entries(file)) {
            return entries.filter(which).collect(Collectors.toList()).stream();
          } catch (UncheckedIOException e) {
            return Stream.<Entry>empty(); // unreadable: as good as absent
          }
        })
        .collect(Collectors.toList());
  }

  /** The sockets {@code file} lists (none when there is no such file: no IPv6); close it. */
  private static Stream<Entry> entries(String file) {
    Stream<String> lines;
    try {
      lines = Files.lines(Path.of(file));
    } catch (IOException e) {
      return Stream.empty();
    }
    return lines
        .skip(1)
        .map(l -> l.trim().split("\\s+"))
        .filter(f -> f.length > 9)
        .map(TcpTable::entry)
        .onClose(lines::close);
  }

  private static Entry entry(String[] f) {
    int colon = f[4].indexOf(':');
    return new Entry(
        port(f[1]),
        port(f[2]),
        Integer.parseInt(f[3], 16),
        Long.parseLong(f[4].substring(0, colon), 16),
        Long.parseLong(f[4].substring(colon + 1), 16),
        f[9]);
  }

  private static int port(String hexAddressAndPort) {
    return Integer.parseInt(hexAddressAndPort.substring(hexAddressAndPort.indexOf(':') + 1), 16);
  }
}
