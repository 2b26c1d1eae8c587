package dev.keepalive.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Hot methods of one thread in a JFR recording (JDK 17 has no {@code jfr view}): the top frames,
 * the methods on the stack (inclusive), and the innermost keepalive method of each sample.
 * Java samples ({@code jdk.ExecutionSample}) and native samples ({@code jdk.NativeMethodSample})
 * are counted apart: JFR samples them differently, and time in system calls shows only in the
 * second.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.keepalive.bench.JfrHot profile.jfr [thread] [n]};
 * thread is a substring of the thread name, default {@code keepalive-loop}; n rows, default 20.
 */
public final class JfrHot {
  private JfrHot() {}

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: JfrHot profile.jfr [thread-name-substring] [rows]");
      System.exit(2);
    }
    Path file = Path.of(args[0]);
    String thread = args.length > 1 ? args[1] : "keepalive-loop";
    int rows = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    List<RecordedEvent> java = new ArrayList<>();
    List<RecordedEvent> nativ = new ArrayList<>();
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      String type = e.getEventType().getName();
      boolean isJava = type.equals("jdk.ExecutionSample");
      if (!isJava && !type.equals("jdk.NativeMethodSample")) {
        continue;
      }
      RecordedThread t = e.getThread("sampledThread");
      String name = t == null ? null : t.getJavaName();
      if (name == null || !name.contains(thread) || e.getStackTrace() == null) {
        continue;
      }
      (isJava ? java : nativ).add(e);
    }
    System.out.println("JFR " + file + ", thread *" + thread + "*");
    report("Java samples (jdk.ExecutionSample)", java, rows);
    report("native samples (jdk.NativeMethodSample)", nativ, rows);
  }

  private static void report(String title, List<RecordedEvent> samples, int rows) {
    System.out.println();
    System.out.println("== " + title + ": " + samples.size());
    if (samples.isEmpty()) {
      return;
    }
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> inclusive = new HashMap<>();
    Map<String, Integer> keepalive = new HashMap<>();
    for (RecordedEvent e : samples) {
      List<RecordedFrame> frames = e.getStackTrace().getFrames();
      if (frames.isEmpty()) {
        continue;
      }
      self.merge(name(frames.get(0)), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        String n = name(f);
        if (seen.add(n)) {
          inclusive.merge(n, 1, Integer::sum);
        }
      }
      for (RecordedFrame f : frames) {
        String n = name(f);
        if (n.startsWith("dev.keepalive.") && !n.startsWith("dev.keepalive.bench.")) {
          keepalive.merge(n, 1, Integer::sum);
          break;
        }
      }
    }
    table("top frame (self)", self, samples.size(), rows);
    table("on the stack (inclusive)", inclusive, samples.size(), rows);
    table("innermost dev.keepalive method (its own code + JDK code it calls)", keepalive,
        samples.size(), rows);
  }

  private static void table(String title, Map<String, Integer> counts, int total, int rows) {
    System.out.println("-- " + title);
    counts.entrySet().stream()
        .sorted((a, b) -> Integer.compare(b.getValue(), a.getValue()))
        .limit(rows)
        .forEach(en -> System.out.println(String.format(Locale.ROOT, "  %5.1f%%  %s",
            100.0 * en.getValue() / total, en.getKey())));
  }

  private static String name(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    if (m == null) {
      return "?";
    }
    return m.getType().getName() + "." + m.getName();
  }
}
