package dev.keepalive.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/** The {@code keepalive} command. */
@Command(
    name = "keepalive",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    usageHelpAutoWidth = true,
    description = "A keep-alive HTTP load generator (bench) and fetcher (get) built on the "
        + "keepalive connection manager.",
    footer = {
      "",
      "Run 'keepalive bench' to benchmark an embedded server on 127.0.0.1 for 10 s.",
      "'keepalive help COMMAND' tells more about a command."
    })
public final class Main implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  private final boolean stderrIsTerminal;

  private Main(boolean stderrIsTerminal) {
    this.stderrIsTerminal = stderrIsTerminal;
  }

  public static void main(String[] args) {
    int status = run(System.out, System.err, isTerminal(), args);
    System.exit(status);
  }

  /**
   * Runs the command with these streams and returns its exit status: 0 when all went well, 1
   * when a request (or all of a benchmark's) failed, 2 on a usage error.
   */
  static int run(PrintStream out, PrintStream err, String... args) {
    return run(out, err, false, args);
  }

  private static int run(PrintStream out, PrintStream err, boolean terminal, String... args) {
    PrintWriter o = new PrintWriter(out, true);
    PrintWriter e = new PrintWriter(err, true);
    GetCommand plain = GetCommand.plain(args);
    if (plain != null) {
      // `keepalive get URL...`, the command people time against curl: without picocli, which
      // reads every option's annotations by reflection, about half of that command's start-up
      try {
        return plain.fetch(o, e);
      } catch (Exception | LinkageError ex) {
        e.println("keepalive: " + Errors.describe(ex, false));
        return 1;
      } finally {
        o.flush();
        e.flush();
      }
    }
    CommandLine cl = new CommandLine(new Main(terminal));
    addSubcommands(cl, args.length == 0 ? null : args[0]);
    cl.setOut(o);
    cl.setErr(e);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    // "@FILE" is curl's (-d @FILE, --body @FILE), not picocli's argument file
    cl.setExpandAtFiles(false);
    // every Duration option, in every subcommand, takes 250ms, 10s, 1.5s, 2m, 1h
    cl.registerConverter(Duration.class, Durations::parse);
    cl.setParameterExceptionHandler(Main::usageError);
    cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      PrintWriter w = commandLine.getErr();
      if (debug(parseResult)) {
        ex.printStackTrace(w);
      } else {
        w.println("keepalive: " + Errors.describe(ex, false));
      }
      w.flush();
      return 1;
    });
    try {
      return cl.execute(args);
    } finally {
      o.flush();
      e.flush();
    }
  }

  /**
   * Adds the subcommands: only {@code first}'s when it names one (picocli reads every option of
   * a subcommand's classes by reflection when it is added, which was most of the start-up time of
   * {@code keepalive get}), else all of them (help, usage errors and their suggestions).
   */
  private static void addSubcommands(CommandLine cl, String first) {
    if ("startup-training".equals(first)) {
      cl.addSubcommand("startup-training", new TrainCommand());
      return;
    }
    boolean all = !"bench".equals(first) && !"get".equals(first);
    if (all || "bench".equals(first)) {
      cl.addSubcommand("bench", new BenchCommand());
    }
    if (all || "get".equals(first)) {
      cl.addSubcommand("get", new GetCommand());
    }
    if (all) {
      cl.addSubcommand("help", new HelpCommand());
    }
  }

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "a command is needed: bench or get");
  }

  boolean stderrIsTerminal() {
    return stderrIsTerminal;
  }

  /**
   * Prints the failure of {@code url} in one line ("keepalive: URL: cause"), or its stack trace
   * with --debug; returns 1, the exit status for it.
   */
  static int fail(PrintWriter err, String url, Throwable failure, boolean debug) {
    err.println("keepalive: " + url + ": " + Errors.describe(failure, true));
    if (debug) {
      Errors.unwrap(failure).printStackTrace(err);
    }
    err.flush();
    return 1;
  }

  private static int usageError(ParameterException ex, String[] args) {
    CommandLine cl = ex.getCommandLine();
    PrintWriter err = cl.getErr();
    err.println("keepalive: " + ex.getMessage());
    UnmatchedArgumentException.printSuggestions(ex, err);
    err.println("Try '" + cl.getCommandSpec().qualifiedName() + " --help' for more information.");
    err.flush();
    return cl.getCommandSpec().exitCodeOnInvalidInput();
  }

  private static boolean debug(ParseResult parseResult) {
    for (ParseResult p = parseResult; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--debug")) {
        return true;
      }
    }
    return false;
  }

  /** Whether stderr is a terminal (for the progress bar); on Linux, without native code. */
  private static boolean isTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (Exception | LinkageError e) {
      return System.console() != null;
    }
  }

  /** The version from the jar's manifest. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {
        "keepalive " + (v == null ? "(development build)" : v),
        "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name")
            + ")"
      };
    }
  }
}
