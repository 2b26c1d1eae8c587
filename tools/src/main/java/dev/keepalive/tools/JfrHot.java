package dev.keepalive.tools;

import java.io.IOException;
import java.nio.file.Path;
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
 * The hot methods of a JFR recording (JDK 17 has no {@code jfr view}), for the recordings of
 * {@code bench/run-pool-bench.sh --jfr}, {@code bench/run-idle-bench.sh --jfr} and
 * {@code bench/run-e2e.sh --profile}. Java samples ({@code jdk.ExecutionSample}) and native
 * samples ({@code jdk.NativeMethodSample}) are counted apart: JFR samples them differently, and
 * time in system calls and waits shows only in the second. For each: the samples per thread
 * (numbers in thread names folded: {@code keepalive-bench-N}), the top frames (self), the
 * innermost keepalive method of each stack (its own code and the JDK code it calls), keepalive's
 * methods on the stack and all methods on the stack (inclusive). keepalive's methods are those
 * of {@code dev.keepalive}, without the benchmark harnesses that drive it ({@code
 * dev.keepalive.bench}, {@code .tools}, {@code .e2e} and the cli's {@code Bench}).
 *
 * <pre>
 * java -cp tools/target/keepalive-tools.jar dev.keepalive.tools.JfrHot FILE.jfr [THREAD] [N]
 * </pre>
 *
 * THREAD: only threads whose name contains it (e.g. {@code keepalive-loop}, {@code jmh-worker});
 * also {@code --thread THREAD}; default every thread. N: rows per table, default 25.
 */
public final class JfrHot {
  private static final List<String> HARNESS = List.of(
      "dev.keepalive.bench.",
      "dev.keepalive.tools.",
      "dev.keepalive.e2e.",
      "dev.keepalive.cli.Bench");

  private JfrHot() {}

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: JfrHot FILE.jfr [THREAD | --thread THREAD] [ROWS]");
      System.exit(2);
    }
    String thread = null;
    int rows = 25;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--thread") && i + 1 < args.length) {
        thread = args[++i];
      } else if (args[i].matches("\\d+")) {
        rows = Integer.parseInt(args[i]);
      } else {
        thread = args[i];
      }
    }
    Path file = Path.of(args[0]);
    System.out.println("JFR " + file + (thread == null ? "" : ", threads *" + thread + "*"));
    Map<String, Tables> byType =
        Map.of("jdk.ExecutionSample", new Tables(), "jdk.NativeMethodSample", new Tables());
    try (RecordingFile recording = new RecordingFile(file)) {
      while (recording.hasMoreEvents()) {
        RecordedEvent e = recording.readEvent();
        Tables t = byType.get(e.getEventType().getName());
        RecordedThread sampled = t == null ? null : e.getThread("sampledThread");
        String name = sampled == null
            ? null
            : sampled.getJavaName() != null ? sampled.getJavaName() : sampled.getOSName();
        if (name != null
            && (thread == null || name.contains(thread))
            && e.getStackTrace() != null
            && !e.getStackTrace().getFrames().isEmpty()) {
          t.add(name, e.getStackTrace().getFrames());
        }
      }
    }
    byType.get("jdk.ExecutionSample").print("Java samples (jdk.ExecutionSample)", rows);
    byType.get("jdk.NativeMethodSample").print("native samples (jdk.NativeMethodSample)", rows);
  }

  /** The counts of one sample type. */
  private static final class Tables {
    int samples;
    final Map<String, Integer> threads = new HashMap<>();
    final Map<String, Integer> self = new HashMap<>();
    final Map<String, Integer> innermostOurs = new HashMap<>();
    final Map<String, Integer> ours = new HashMap<>();
    final Map<String, Integer> inclusive = new HashMap<>();

    void add(String thread, List<RecordedFrame> frames) {
      samples++;
      threads.merge(thread.replaceAll("\\d+", "N"), 1, Integer::sum);
      self.merge(name(frames.get(0)), 1, Integer::sum);
      frames.stream()
          .map(JfrHot::name)
          .filter(JfrHot::ours)
          .findFirst()
          .ifPresent(n -> innermostOurs.merge(n, 1, Integer::sum));
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        String n = name(f);
        if (seen.add(n)) {
          inclusive.merge(n, 1, Integer::sum);
          if (ours(n)) {
            ours.merge(n, 1, Integer::sum);
          }
        }
      }
    }

    void print(String title, int rows) {
      System.out.printf(Locale.ROOT, "%n== %s: %,d%n", title, samples);
      if (samples > 0) {
        table("threads", threads, rows);
        table("top frame (self)", self, rows);
        table(
            "innermost dev.keepalive method (its own code + JDK code it calls)",
            innermostOurs,
            rows);
        table("dev.keepalive methods on the stack (inclusive)", ours, rows);
        table("all methods on the stack (inclusive)", inclusive, rows);
      }
    }

    private void table(String title, Map<String, Integer> counts, int rows) {
      System.out.println("-- " + title);
      counts.entrySet().stream()
          .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
          .limit(rows)
          .forEach(en -> System.out.printf(
              Locale.ROOT,
              "  %6.2f%%  %7d  %s%n",
              100.0 * en.getValue() / samples,
              en.getValue(),
              en.getKey()));
    }
  }

  private static boolean ours(String method) {
    return method.startsWith("dev.keepalive.") && HARNESS.stream().noneMatch(method::startsWith);
  }

  private static String name(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    return m == null ? "?" : m.getType().getName() + "." + m.getName();
  }
}
