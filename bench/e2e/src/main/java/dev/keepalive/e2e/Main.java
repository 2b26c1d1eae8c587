package dev.keepalive.e2e;

import java.util.Arrays;

/**
 * Entry point of the end-to-end benchmark's Java side (bench/run-e2e.sh runs it):
 *
 * <pre>
 *   run CLIENT URL [options]   one closed-loop load run of a Java peer client: one JSON line
 *   blocking CLIENT URL [opts] one run of the blocking-style comparison (BlockingBench)
 *   blocking-report DIR        its medians and ratios (BlockingReport), from runs.tsv
 *   report RESULTS_DIR [opts]  medians, ratios to wrk, docs/BENCHMARKS.md and the PNG charts
 *   versions                   the peer clients' versions, one "name version" per line
 * </pre>
 *
 * The hot frames of the {@code --profile} recordings come from the tools module's
 * {@code dev.keepalive.tools.JfrHot}.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      usage();
      System.exit(2);
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    switch (args[0]) {
      case "run" -> System.exit(Harness.main(rest));
      case "blocking" -> System.exit(BlockingBench.main(rest));
      case "blocking-report" -> System.exit(BlockingReport.main(rest));
      case "report" -> System.exit(Report.main(rest));
      case "versions" -> Versions.print(System.out);
      default -> {
        usage();
        System.exit(2);
      }
    }
  }

  private static void usage() {
    System.err.println("usage: keepalive-e2e run CLIENT URL [-c N] [-d SECONDS] [--warmup SECONDS]"
        + " [--no-keepalive] [--ca FILE]\n"
        + "       keepalive-e2e blocking CLIENT URL [--threads N] [--virtual] [--warmup S]"
        + " [-d S] [--expect-bytes N]\n"
        + "       keepalive-e2e blocking-report RESULTS_DIR\n"
        + "       keepalive-e2e report RESULTS_DIR [--out docs/BENCHMARKS.md] [--charts DIR]\n"
        + "       keepalive-e2e versions\n"
        + "clients: " + String.join(", ", Peer.NAMES));
  }
}
