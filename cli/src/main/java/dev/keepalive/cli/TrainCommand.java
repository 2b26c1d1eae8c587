package dev.keepalive.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The training run of the {@code ./keepalive} launcher (hidden from the help): it runs {@code
 * get}, {@code bench} and {@code --help} against the embedded server, output discarded, so that
 * the JVM that runs it can record the classes they load (and, on Java 25, their profiles) in the
 * start-up archive the launcher then passes to every later run. Exit status 0 when the commands
 * ran; their own statuses do not matter.
 */
@Command(name = "startup-training", hidden = true, description = "The launcher's training run.")
final class TrainCommand implements Callable<Integer> {
  @Option(
      names = "--bench-duration",
      paramLabel = "DURATION",
      defaultValue = "2s",
      description = "How long the training bench runs (default: ${DEFAULT-VALUE}).")
  String benchDuration;

  @Override
  public Integer call() throws Exception {
    PrintStream none = new PrintStream(OutputStream.nullOutputStream(), true);
    try (EmbeddedServer server = EmbeddedServer.start(2)) {
      String url = server.url();
      Main.run(none, none, "get", url);
      Main.run(none, none, "get", "-v", url, url);
      Main.run(none, none, "bench", url, "-c", "16", "-d", benchDuration, "--no-progress");
      Main.run(none, none, "bench", url, "-c", "4", "-n", "200", "--json", "--no-progress");
    }
    Main.run(none, none, "--help");
    Main.run(none, none, "get", "--help");
    Main.run(none, none, "bench", "--help");
    Main.run(none, none, "get", "--no-such-option");
    return 0;
  }
}
