package dev.keepalive.tools.idle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Live heap after a full GC: the JVM's class histogram ({@code jcmd <pid> GC.class_histogram},
 * through the DiagnosticCommand MBean, which runs a full GC first and counts only reachable
 * objects), and its difference between two moments.
 */
final class Heap {
  /** One row of a histogram. */
  record Row(String name, long instances, long bytes) {}

  /** A histogram: class name to row, and the total. */
  record Histogram(Map<String, Row> rows, long instances, long bytes) {}

  private static final Pattern ROW =
      Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)(?:\\s+\\(.*\\))?\\s*$");

  private static final java.util.concurrent.atomic.AtomicInteger SNAPSHOTS =
      new java.util.concurrent.atomic.AtomicInteger();

  private Heap() {}

  /**
   * Full GC, then the histogram of what is live, written to a temporary file: kept in the heap,
   * one histogram would be counted by the next (about 150 KB of names and rows).
   */
  static Path snapshot() {
    try {
      MBeanServer server = ManagementFactory.getPlatformMBeanServer();
      ObjectName name = new ObjectName("com.sun.management:type=DiagnosticCommand");
      String text = (String)
          server.invoke(name, "gcClassHistogram", new Object[] {new String[0]}, new String[] {
            String[].class.getName()
          });
      // (not Files.createTempFile: its SecureRandom keeps two descriptors open for good)
      Path file = Path.of(
          System.getProperty("java.io.tmpdir"),
          "keepalive-idle-histogram-" + ProcessHandle.current().pid() + "-"
              + SNAPSHOTS.incrementAndGet() + ".txt");
      file.toFile().deleteOnExit();
      Files.writeString(file, text);
      return file;
    } catch (Exception e) {
      throw new IllegalStateException("cannot take a class histogram", e);
    }
  }

  /** A histogram {@link #snapshot()} wrote. */
  static Histogram read(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, Row> rows = new HashMap<>();
    long instances = 0;
    long bytes = 0;
    for (String line : text.split("\n")) {
      Matcher m = ROW.matcher(line);
      if (m.matches()) {
        Row r = new Row(m.group(3), Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        rows.merge(
            r.name(),
            r,
            (a, b) -> new Row(
                a.name(),
                a.instances() + b.instances(),
                a.bytes() + b.bytes())); // one name in two class loaders
        instances += r.instances();
        bytes += r.bytes();
      }
    }
    if (rows.isEmpty()) {
      throw new IllegalStateException(
          "unreadable class histogram: " + text.substring(0, Math.min(200, text.length())));
    }
    return new Histogram(rows, instances, bytes);
  }

  /** Used heap after three System.gc() calls (MemoryMXBean): a cross-check of the histogram. */
  static long usedAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** {@code after - before}, per class, largest byte growth first. */
  static List<Row> delta(Histogram before, Histogram after) {
    List<Row> out = new ArrayList<>();
    for (Row a : after.rows().values()) {
      Row b = before.rows().get(a.name());
      long di = a.instances() - (b == null ? 0 : b.instances());
      long db = a.bytes() - (b == null ? 0 : b.bytes());
      if (db != 0 || di != 0) {
        out.add(new Row(a.name(), di, db));
      }
    }
    for (Row b : before.rows().values()) {
      if (!after.rows().containsKey(b.name())) {
        out.add(new Row(b.name(), -b.instances(), -b.bytes()));
      }
    }
    out.sort((x, y) -> Long.compare(y.bytes(), x.bytes()));
    return out;
  }

  /** A class of keepalive itself (not of this program, nor of dev.keepalive.bench: SinkProcess). */
  static boolean ours(String name) {
    return name.startsWith("dev.keepalive.")
        && !name.startsWith("dev.keepalive.bench.")
        && !name.startsWith("dev.keepalive.tools.");
  }

  /** A readable class name: arrays as the JVM's descriptors become {@code byte[]} etc. */
  static String pretty(String name) {
    int dims = 0;
    while (dims < name.length() && name.charAt(dims) == '[') {
      dims++;
    }
    if (dims == 0) {
      return name;
    }
    String base = name.substring(dims);
    switch (base) {
      case "B":
        base = "byte";
        break;
      case "C":
        base = "char";
        break;
      case "I":
        base = "int";
        break;
      case "J":
        base = "long";
        break;
      case "Z":
        base = "boolean";
        break;
      case "S":
        base = "short";
        break;
      case "D":
        base = "double";
        break;
      case "F":
        base = "float";
        break;
      default:
        if (base.startsWith("L") && base.endsWith(";")) {
          base = base.substring(1, base.length() - 1);
        }
    }
    return base + "[]".repeat(dims);
  }

  /** The top {@code n} rows of a delta as a table, bytes and instances per connection too. */
  static String table(List<Row> delta, int n, int connections) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(
        Locale.ROOT,
        "    %-58s %12s %10s %9s %8s%n",
        "class",
        "bytes",
        "instances",
        "B/conn",
        "per conn"));
    long shown = 0;
    int rows = 0;
    for (Row r : delta) {
      if (rows++ == n) {
        break;
      }
      shown += r.bytes();
      String who = ours(r.name()) ? " *" : "";
      sb.append(String.format(
          Locale.ROOT,
          "    %-58s %,12d %,10d %9.1f %8.2f%s%n",
          abbreviate(pretty(r.name()), 58),
          r.bytes(),
          r.instances(),
          (double) r.bytes() / connections,
          (double) r.instances() / connections,
          who));
    }
    long total = delta.stream().mapToLong(Row::bytes).sum();
    sb.append(String.format(
        Locale.ROOT,
        "    %-58s %,12d %10s %9.1f%n",
        "(all other classes)",
        total - shown,
        "",
        (double) (total - shown) / connections));
    return sb.toString();
  }

  private static String abbreviate(String s, int max) {
    return s.length() <= max ? s : "..." + s.substring(s.length() - max + 3);
  }
}
