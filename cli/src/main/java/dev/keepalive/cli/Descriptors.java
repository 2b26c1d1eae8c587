package dev.keepalive.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The file descriptor limit, checked before a bench opens its connections. A Java process cannot
 * raise its own limit (there is no setrlimit in the JDK), but on Linux the JVM already raises the
 * soft limit to the hard limit when it starts (-XX:+MaxFDLimit, on by default), so the limit
 * read here is the most this process can have: more needs {@code ulimit -n} in the shell (up to
 * the hard limit, or above it as root or through /etc/security/limits.conf).
 */
final class Descriptors {
  /** Descriptors kept free for the JVM's own (jars, the selector, the embedded server). */
  static final long HEADROOM = 64;

  private Descriptors() {}

  /**
   * Why {@code concurrency} connections would not fit under this process's descriptor limit, or
   * null when they fit (or the limit cannot be read).
   *
   * @param embedded the server runs in this process too: two descriptors per connection
   */
  static String tooFew(int concurrency, boolean embedded) {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (!(os instanceof com.sun.management.UnixOperatingSystemMXBean)) {
      return null;
    }
    com.sun.management.UnixOperatingSystemMXBean unix =
        (com.sun.management.UnixOperatingSystemMXBean) os;
    return tooFew(
        concurrency, embedded, unix.getMaxFileDescriptorCount(), unix.getOpenFileDescriptorCount());
  }

  /** {@link #tooFew(int, boolean)} for the given limit and count of descriptors open now. */
  static String tooFew(int concurrency, boolean embedded, long max, long open) {
    if (max <= 0 || open < 0) {
      return null;
    }
    long perConnection = embedded ? 2 : 1;
    long needed = concurrency * perConnection + Math.max(open, 0) + HEADROOM;
    if (needed <= max) {
      return null;
    }
    long fits = Math.max(0, (max - open - HEADROOM) / perConnection);
    return String.format(
        Locale.ROOT,
        "-c %d needs about %,d file descriptors (%s, %d open now and %d spare) but this "
            + "process may open %,d (ulimit -n; a Java process cannot raise it further itself): "
            + "run 'ulimit -n %d' first%s, or use -c %d or less",
        concurrency,
        needed,
        embedded ? "2 per connection: the embedded server's end too" : "1 per connection",
        open,
        HEADROOM,
        max,
        roundUp(needed),
        hardLimit(),
        fits);
  }

  /** ", above the hard limit N: as root or in /etc/security/limits.conf", or "". */
  private static String hardLimit() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          String[] f = line.substring("Max open files".length()).trim().split("\\s+");
          return f.length >= 2
              ? " (the hard limit is " + f[1] + "; above it needs root or "
                  + "/etc/security/limits.conf)"
              : "";
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: no hint
    }
    return "";
  }

  private static long roundUp(long n) {
    return (n + 999) / 1000 * 1000;
  }
}
