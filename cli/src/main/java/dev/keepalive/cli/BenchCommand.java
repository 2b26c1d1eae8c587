package dev.keepalive.cli;

import dev.keepalive.ConnectionManager;
import dev.keepalive.PoolTotals;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.RequestBody;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    usageHelpAutoWidth = true,
    versionProvider = Main.Version.class,
    description = {
      "Sends the same request again and again, CONCURRENCY at a time, through one "
          + "connection manager (each response starts the next request on its event loop), then reports requests/s, latency percentiles, status counts, "
          + "errors, connections opened and how requests were served (NEW, IMMEDIATE, "
          + "DEFERRED), the manager's times (the wait for a connection, TCP connect, TLS "
          + "handshake: p50, p90, p99, max) and the sockets closed during the run by reason.",
      "With no URL it benchmarks an embedded HTTP server on 127.0.0.1 for 10 s.",
      "It stops early when no request has succeeded for 2 s and at least 10 have failed "
          + "(an unknown host, a refused port)."
    },
    footer = {
      "",
      "Examples:",
      "  keepalive bench",
      "  keepalive bench -c 64 -d 30s http://127.0.0.1:8080/",
      "  keepalive bench -n 2000 --no-keepalive",
      "  keepalive bench -c 100 -R 20000 -d 30s --latency http://127.0.0.1:8080/",
      "  keepalive bench --json http://127.0.0.1:8080/ > report.json"
    })
final class BenchCommand implements Callable<Integer> {
  static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  @Spec
  CommandSpec spec;

  @ParentCommand
  Main main;

  @Parameters(
      arity = "0..1",
      paramLabel = "URL",
      description =
          "http:// or https:// URL to benchmark (default: an embedded server on " + "127.0.0.1).")
  String url;

  @Option(
      names = {"-c", "--concurrency"},
      paramLabel = "N",
      defaultValue = "16",
      description = "Requests in flight at once (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(
      names = {"-n", "--requests"},
      paramLabel = "N",
      description = "Stop after N requests.")
  Long requests;

  @Option(
      names = {"-d", "--duration"},
      paramLabel = "DURATION",
      description = "Stop after this long (default: 10s unless -n is given).")
  Duration duration;

  @Option(
      names = "--warmup",
      paramLabel = "DURATION",
      description = "Send requests for this long first, without counting them (the JVM "
          + "compiles its hot code in the first seconds).")
  Duration warmup;

  @Option(
      names = "--no-keepalive",
      description = "Send 'Connection: close': a new connection per request, to compare.")
  boolean noKeepAlive;

  @Option(
      names = {"-R", "--rate"},
      paramLabel = "N",
      description = "Send N requests per second in all, on a fixed schedule (as wrk2), and "
          + "measure each latency from the time the request should have been sent (corrected "
          + "for coordinated omission). Default: each chain sends as soon as it is answered.")
  Double rate;

  @Option(names = "--latency", description = "Print the full latency percentile distribution.")
  boolean latency;

  @Option(
      names = "--json",
      description = "Print the report as JSON: the same fields; the manager's times are "
          + "connectionWaitMs, connectMs and tlsHandshakeMs (each with count, p50, p90, p99, "
          + "max), the sockets closed during the run closes (by reason).")
  boolean json;

  @Option(
      names = "--progress",
      negatable = true,
      description = "Draw a progress bar on stderr (default: when stderr is a terminal).")
  Boolean progress;

  @Option(
      names = "--body",
      paramLabel = "DATA",
      description = "Send DATA as each request's body (POST unless -X says otherwise); @FILE "
          + "sends the file.")
  String body;

  @Mixin
  ClientOptions options;

  @Override
  public Integer call() throws Exception {
    options.validate(spec);
    if (concurrency < 1) {
      throw new ParameterException(spec.commandLine(), "--concurrency must be at least 1");
    }
    if (requests != null && requests < 1) {
      throw new ParameterException(spec.commandLine(), "--requests must be at least 1");
    }
    if (rate != null && !(rate > 0 && rate < 1e9)) {
      throw new ParameterException(
          spec.commandLine(), "--rate must be a positive number of requests per second");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Duration limit = duration != null ? duration : requests == null ? DEFAULT_DURATION : null;
    Duration timeout = options.timeout != null ? options.timeout : DEFAULT_TIMEOUT;
    int maxPerHost = options.maxPerHost != null ? options.maxPerHost : concurrency;
    int maxOpen = options.maxOpen != null ? options.maxOpen : Math.max(128, maxPerHost);

    if (url != null) {
      try {
        options.request(url, method(), timeout, noKeepAlive, requestBody()); // a bad URL fails now
      } catch (IllegalArgumentException e) {
        return Main.fail(err, url, e, options.debug);
      }
    }
    String tooMany = Descriptors.tooFew(concurrency, url == null);
    if (tooMany != null) {
      err.println("keepalive: " + tooMany);
      return 1;
    }
    EmbeddedServer server = url == null
        ? EmbeddedServer.start(Math.max(2, Runtime.getRuntime().availableProcessors()))
        : null;
    String target = server != null ? server.url() : url;
    BenchReport.Setup setup = new BenchReport.Setup(
        target,
        server != null,
        concurrency,
        maxPerHost,
        maxOpen,
        options.keepAliveOrDefault(),
        !noKeepAlive,
        timeout,
        requests == null ? 0 : requests,
        limit,
        warmup,
        rate == null ? 0 : rate,
        latency);
    HttpRequest request = options.request(target, method(), timeout, noKeepAlive, requestBody());

    Bench.Result result;
    Bench.Result warm = null;
    boolean interrupted;
    String stoppedBecause;
    ConnectionTimes times = new ConnectionTimes();
    try (server;
        ConnectionManager manager = options.manager(maxPerHost, maxOpen, timeout, times);
        HttpClient client = options.client(manager, false, false)) {
      Bench bench = new Bench(
          client,
          request,
          concurrency,
          setup.requestLimit(),
          limit == null ? 0 : limit.toNanos(),
          setup.rate());
      // Ctrl-C: stop sending, let the requests in flight finish, print what was measured.
      CountDownLatch reported = new CountDownLatch(1);
      Thread hook = new Thread(
          () -> {
            bench.stop();
            try {
              reported.await(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          },
          "keepalive-bench-interrupt");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        boolean drawProgress = progress != null ? progress : main.stderrIsTerminal();
        if (warmup != null) {
          Bench warming =
              new Bench(client, request, concurrency, 0, warmup.toNanos(), setup.rate());
          bench.onStop(warming::stop);
          warm = run(warming, drawProgress ? err : null, "warm-up ", 0, warmup.toNanos());
        }
        times.reset(); // the warm-up's times are not counted either
        PoolTotals before = manager.totals();
        result = run(
            bench,
            drawProgress ? err : null,
            "",
            setup.requestLimit(),
            limit == null ? 0 : limit.toNanos());
        ConnectionTimes.Times pool = times.take(before, manager.totals());
        stoppedBecause = bench.stoppedBecause();
        interrupted = bench.stopped() && stoppedBecause == null;
        out.print(
            json
                ? BenchReport.json(setup, warm, result, pool, interrupted, stoppedBecause)
                : BenchReport.text(setup, warm, result, pool, interrupted, stoppedBecause));
        out.flush();
      } finally {
        reported.countDown();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // the hook is running: it has been released above
        }
      }
    }
    if (stoppedBecause != null) {
      err.println("keepalive: " + target + ": stopped early: " + stoppedBecause + ": "
          + result.commonestError());
      return 1;
    }
    if (result.succeeded == 0 && result.failed > 0) {
      err.println("keepalive: " + target + ": every request failed: " + result.commonestError());
      return 1;
    }
    return 0;
  }

  /** Runs {@code bench}, with a progress bar on {@code err} unless it is null. */
  private static Bench.Result run(
      Bench bench, PrintWriter err, String label, long requests, long durationNanos)
      throws InterruptedException {
    Progress bar = err == null
        ? null
        : new Progress(err, label, bench::done, bench::failed, requests, durationNanos).start();
    try {
      return bench.run();
    } finally {
      if (bar != null) {
        bar.close();
      }
    }
  }

  private String method() {
    return body == null ? "GET" : "POST";
  }

  /** The --body, or null: bytes read once, sent with every request. */
  private RequestBody requestBody() throws java.io.IOException {
    if (body == null) {
      return null;
    }
    return body.startsWith("@")
        ? RequestBody.ofBytes(java.nio.file.Files.readAllBytes(Path.of(body.substring(1))))
        : RequestBody.ofString(body, java.nio.charset.StandardCharsets.UTF_8);
  }
}
