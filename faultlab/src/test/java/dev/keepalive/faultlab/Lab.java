package dev.keepalive.faultlab;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The lab built by {@code scripts/faultlab.sh up}: its addresses, and the script that injects
 * faults, restarts servers and clears faults, run as a child process bounded in time. Runs only
 * when KEEPALIVE_LAB=1 (environment or system property); {@link #assumeUp()} skips a test
 * otherwise, saying why.
 */
final class Lab {
  /** nginx's first and second address in the namespace, its port, tinyproxy's port. */
  static final String ADDR_A = setting("KEEPALIVE_LAB_ADDR_A", "10.77.0.2");

  static final String ADDR_B = setting("KEEPALIVE_LAB_ADDR_B", "10.77.0.3");
  static final int HTTP_PORT = Integer.parseInt(setting("KEEPALIVE_LAB_HTTP_PORT", "80"));
  static final int PROXY_PORT = 8888;
  /** The size of /big.bin and /slow/big.bin (the latter sent at 256 KiB/s). */
  static final int BIG = 1 << 20;
  /** The body of "/". */
  static final String SMALL_BODY = "faultlab ok\n";

  /** The bound of one script command (they bound their own steps at 10 s). */
  private static final long COMMAND_SECONDS = 60;

  private Lab() {}

  static String setting(String name, String otherwise) {
    String v = System.getProperty(name);
    if (v == null || v.isEmpty() || v.startsWith("${")) {
      v = System.getenv(name);
    }
    return v == null || v.isEmpty() ? otherwise : v;
  }

  static boolean enabled() {
    String flag = setting("KEEPALIVE_LAB", "");
    return flag.equals("1") || flag.equalsIgnoreCase("true");
  }

  /** Skips the calling test unless the lab is up (KEEPALIVE_LAB=1), printing why. */
  static void assumeUp() {
    if (!enabled()) {
      String why = "fault lab tests skipped: they run in network namespaces as root; "
          + "run scripts/faultlab.sh test (builds the lab, runs them with KEEPALIVE_LAB=1, "
          + "removes the lab)";
      System.out.println(why);
      Assumptions.assumeTrue(false, why);
    }
  }

  static String url(String addr, String path) {
    return "http://" + addr + (HTTP_PORT == 80 ? "" : ":" + HTTP_PORT) + path;
  }

  private static Path script() {
    String s = setting("keepalive.lab.script", setting("KEEPALIVE_LAB_SCRIPT", ""));
    if (s.isEmpty()) {
      throw new IllegalStateException(
          "KEEPALIVE_LAB=1 but neither keepalive.lab.script nor KEEPALIVE_LAB_SCRIPT is set: "
              + "scripts/faultlab.sh env prints it");
    }
    return Path.of(s);
  }

  /**
   * Runs {@code scripts/faultlab.sh ARGS...} and returns its output (stdout and stderr); fails
   * if it exits non-zero or outlasts its bound. No pipe is opened: its output goes to a file, its
   * input comes from /dev/null, so it leaves no descriptor behind in this JVM.
   */
  static String run(String... args) {
    List<String> command = new ArrayList<>();
    command.add(script().toString());
    command.addAll(List.of(args));
    Path out = null;
    try {
      out = Files.createTempFile("faultlab", ".out");
      Process p = new ProcessBuilder(command)
          .redirectInput(Redirect.from(new File("/dev/null")))
          .redirectErrorStream(true)
          .redirectOutput(out.toFile())
          .start();
      if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(command + " did not end within " + COMMAND_SECONDS + " s");
      }
      String text = Files.readString(out, StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as(command + " exit status; output:\n" + text).isZero();
      return text;
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + command, e);
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException e) {
          // a temp file left behind: harmless
        }
      }
    }
  }

  /** Injects a fault: {@code fault("loss", "2")}, {@code fault("drop-flows", "40000")}... */
  static void fault(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "fault";
    System.arraycopy(args, 0, all, 1, args.length);
    run(all);
  }

  /** Drops every packet of the connections from these local ports (both directions). */
  static void dropFlows(List<Integer> ports) {
    if (ports.isEmpty()) {
      throw new IllegalArgumentException("ports must not be empty");
    }
    List<String> args = new ArrayList<>(List.of("fault", "drop-flows"));
    ports.forEach(p -> args.add(String.valueOf(p)));
    run(args.toArray(new String[0]));
  }

  /** Removes every fault (and zeroes the SYN counter). */
  static void clear() {
    run("clear");
  }

  /** SYNs from this host to nginx since the last {@link #clear()}: connections opened. */
  static long syns() {
    String out = run("syns").strip();
    String[] lines = out.split("\n");
    for (String line : lines) {
      if (line.matches("[0-9]+")) {
        return Long.parseLong(line);
      }
    }
    throw new AssertionError("scripts/faultlab.sh syns printed no count: " + out);
  }
}
