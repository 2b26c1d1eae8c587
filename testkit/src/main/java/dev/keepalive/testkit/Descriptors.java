package dev.keepalive.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** This process's open file descriptors (Linux /proc/self/fd). */
public final class Descriptors {
  private static final String DIR = "/proc/self/fd";

  private Descriptors() {}

  /** How many descriptors are open now, or -1 when /proc/self/fd cannot be listed. */
  public static int count() {
    String[] fds = new File(DIR).list();
    return fds == null ? -1 : fds.length;
  }

  /** Every descriptor open now and what it is open on ("socket:[12345]", a path...). */
  public static Map<Integer, String> snapshot() {
    Map<Integer, String> out = new TreeMap<>();
    String[] names = new File(DIR).list();
    if (names != null) {
      for (String n : names) {
        try {
          out.put(Integer.parseInt(n), Files.readSymbolicLink(Path.of(DIR, n)).toString());
        } catch (IOException | NumberFormatException e) {
          // closed meanwhile (the directory listing's own descriptor, for one)
        }
      }
    }
    return out;
  }

  /**
   * The descriptors open now that were not open in {@code before} (a {@link #snapshot()}), or
   * are open on something else now (a number reused for a new socket). Jar files are left out:
   * the JVM opens each jar of the class path on first use and keeps it.
   */
  public static Map<Integer, String> openedSince(Map<Integer, String> before) {
    Map<Integer, String> now = snapshot();
    now.entrySet()
        .removeIf(
            e -> e.getValue().endsWith(".jar") || e.getValue().equals(before.get(e.getKey())));
    return now;
  }
}
