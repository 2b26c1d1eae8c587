package dev.keepalive.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * The hot spots of a JFR recording: samples per thread group, the top frames (self time), the
 * methods on the most stacks (total time), and the same restricted to dev.keepalive code, from
 * jdk.ExecutionSample (Java code running) and jdk.NativeMethodSample (threads in native code:
 * system calls, waits).
 *
 * <pre>  jfrtop FILE.jfr [N] [--thread PREFIX]</pre>
 */
final class JfrTop {
  private JfrTop() {}

  static int main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: jfrtop FILE.jfr [N] [--thread PREFIX]");
      return 2;
    }
    Path file = Path.of(args[0]);
    int n = 25;
    String thread = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--thread")) {
        thread = args[++i];
      } else {
        n = Integer.parseInt(args[i]);
      }
    }
    for (String type : List.of("jdk.ExecutionSample", "jdk.NativeMethodSample")) {
      summarize(file, type, n, thread);
    }
    return 0;
  }

  private static void summarize(Path file, String type, int n, String threadPrefix)
      throws Exception {
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> total = new HashMap<>();
    Map<String, Integer> selfOurs = new HashMap<>();
    Map<String, Integer> threads = new HashMap<>();
    int samples = 0;
    try (RecordingFile rf = new RecordingFile(file)) {
      while (rf.hasMoreEvents()) {
        RecordedEvent e = rf.readEvent();
        if (!e.getEventType().getName().equals(type)) {
          continue;
        }
        RecordedThread t = e.getThread("sampledThread");
        String tn = t == null ? "?" : t.getJavaName();
        if (tn == null) {
          tn = t.getOSName();
        }
        if (threadPrefix != null && (tn == null || !tn.startsWith(threadPrefix))) {
          continue;
        }
        RecordedStackTrace st = e.getStackTrace();
        if (st == null || st.getFrames().isEmpty()) {
          continue;
        }
        samples++;
        threads.merge(group(tn), 1, Integer::sum);
        List<RecordedFrame> frames = st.getFrames();
        self.merge(name(frames.get(0)), 1, Integer::sum);
        for (RecordedFrame f : frames) {
          String m = name(f);
          if (m.startsWith("dev.keepalive.")) {
            selfOurs.merge(m, 1, Integer::sum); // the innermost of our frames
            break;
          }
        }
        Set<String> seen = new HashSet<>();
        for (RecordedFrame f : frames) {
          String m = name(f);
          if (seen.add(m)) {
            total.merge(m, 1, Integer::sum);
          }
        }
      }
    }
    System.out.printf("== %s: %,d samples%s%n", type, samples,
        threadPrefix == null ? "" : " (threads " + threadPrefix + "*)");
    if (samples == 0) {
      return;
    }
    print("threads", threads, samples, n);
    print("top frames (self)", self, samples, n);
    print("innermost dev.keepalive frame on the stack", selfOurs, samples, n);
    Map<String, Integer> ours = new HashMap<>();
    total.forEach((k, v) -> {
      if (k.startsWith("dev.keepalive.") && !k.startsWith("dev.keepalive.cli.Bench")) {
        ours.put(k, v);
      }
    });
    print("dev.keepalive methods on the stack (total)", ours, samples, n);
    print("all methods on the stack (total)", total, samples, n);
  }

  /** Thread names without their number: keepalive-bench-12 -> keepalive-bench-N. */
  private static String group(String name) {
    return name.replaceAll("\\d+", "N");
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static void print(String title, Map<String, Integer> counts, int samples, int n) {
    System.out.println("-- " + title);
    List<Map.Entry<String, Integer>> l = new ArrayList<>(counts.entrySet());
    l.sort(Map.Entry.<String, Integer>comparingByValue().reversed());
    for (int i = 0; i < Math.min(n, l.size()); i++) {
      System.out.printf("  %6.2f%%  %7d  %s%n", 100.0 * l.get(i).getValue() / samples,
          l.get(i).getValue(), l.get(i).getKey());
    }
  }
}
