package dev.keepalive.cli;

import dev.keepalive.ConnectionManager;
import dev.keepalive.http.HttpClient;
import dev.keepalive.http.HttpRequest;
import dev.keepalive.http.HttpResponse;
import dev.keepalive.http.RequestBody;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "get",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    usageHelpAutoWidth = true,
    versionProvider = Main.Version.class,
    description = {
      "Fetches the URLs concurrently through one connection manager and prints, per URL in "
          + "the order given: the status, the body size, the time taken and how the "
          + "connection was served (NEW, IMMEDIATE or DEFERRED).",
      "Exits with status 1 when any fetch fails (bad URL, unknown host, refused, timeout, "
          + "TLS failure...); an HTTP error status is not a failure unless --fail is given."
    },
    footer = {
      "",
      "Examples:",
      "  keepalive get http://127.0.0.1:8080/ http://127.0.0.1:8080/about",
      "  keepalive get -v -o pages https://example.org/"
    })
final class GetCommand implements Callable<Integer> {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  @Spec
  CommandSpec spec;

  @Parameters(arity = "1..*", paramLabel = "URL", description = "http:// or https:// URLs.")
  List<String> urls;

  @Option(
      names = {"-o", "--output-dir"},
      paramLabel = "DIR",
      description = "Save each body in DIR (named after the URL's last path segment, "
          + "index.html for none).")
  Path dir;

  @Option(
      names = {"-v", "--verbose"},
      description = "Print on stderr, as curl does, for each URL: '* ' the address connected "
          + "to, how the connection was obtained (NEW, IMMEDIATE, DEFERRED; the wait for it, "
          + "its idle time in the pool, its use), the TLS protocol, cipher suite and peer "
          + "certificate; '> ' the request line and headers as sent; '< ' the response's.")
  boolean verbose;

  @Option(
      names = {"-f", "--fail"},
      description = "Exit with status 1 on an HTTP status >= 400 " + "too.")
  boolean failOnHttpError;

  @Option(names = "--head", description = "Send HEAD instead of GET.")
  boolean head;

  @Option(
      names = {"-d", "--data"},
      paramLabel = "DATA",
      description = "Send DATA as the body of a POST (application/x-www-form-urlencoded unless "
          + "-H sets Content-Type); @FILE sends the file.")
  String data;

  @Option(
      names = {"-L", "--location"},
      description = "Follow redirects (at most 10; https to http is not followed).")
  boolean location;

  @Option(
      names = "--compressed",
      description = "Ask for gzip or deflate and print the size decoded.")
  boolean compressed;

  @Mixin
  ClientOptions options;

  /** One URL's fetch. */
  private static final class Fetch {
    final String url;
    HttpRequest request;
    IllegalArgumentException badUrl;
    CompletableFuture<HttpResponse> response;
    long start;
    volatile long end;

    Fetch(String url) {
      this.url = url;
    }
  }

  @Override
  public Integer call() throws Exception {
    options.validate(spec);
    return fetch(spec.commandLine().getOut(), spec.commandLine().getErr());
  }

  /**
   * {@code keepalive get URL...} with no option, run without picocli (see {@link Main}): null when
   * {@code args} are not just URLs or the environment's proxy settings are not valid (picocli
   * then runs the command and reports that as it does).
   */
  static GetCommand plain(String[] args) {
    if (args.length < 2 || !args[0].equals("get")) {
      return null;
    }
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      if (!(a.startsWith("http://") || a.startsWith("https://"))) {
        return null;
      }
    }
    GetCommand g = new GetCommand();
    g.urls = List.of(args).subList(1, args.length);
    g.options = new ClientOptions();
    try {
      g.options.proxies();
    } catch (IllegalArgumentException e) {
      return null;
    }
    return g;
  }

  /** Fetches the URLs, printing to {@code out} and {@code err}; returns the exit status. */
  int fetch(PrintWriter out, PrintWriter err) throws Exception {
    Duration timeout = options.timeout != null ? options.timeout : DEFAULT_TIMEOUT;
    int maxPerHost = options.maxPerHost != null ? options.maxPerHost : 4;
    int maxOpen = options.maxOpen != null ? options.maxOpen : Math.max(128, maxPerHost);
    if (dir != null) {
      Files.createDirectories(dir);
    }

    RequestBody requestBody = body();
    List<Fetch> fetches = new ArrayList<>();
    for (String url : urls) {
      Fetch f = new Fetch(url);
      try {
        f.request = options.request(
            url, head ? "HEAD" : data != null ? "POST" : "GET", timeout, false, requestBody);
      } catch (IllegalArgumentException e) {
        f.badUrl = e;
      }
      fetches.add(f);
    }

    int failures = 0;
    Set<String> names = new HashSet<>();
    Verbose.HandOuts handOuts = verbose ? new Verbose.HandOuts() : null;
    try (ConnectionManager manager = options.manager(maxPerHost, maxOpen, timeout, handOuts);
        HttpClient client = options.client(manager, location, compressed)) {
      for (Fetch f : fetches) {
        if (f.request == null) {
          continue;
        }
        f.start = System.nanoTime();
        try {
          f.response = client.send(f.request);
        } catch (RuntimeException e) {
          f.response = CompletableFuture.failedFuture(e);
        }
        f.response = f.response.whenComplete((r, e) -> f.end = System.nanoTime());
      }
      for (Fetch f : fetches) {
        if (f.badUrl != null) {
          failures++;
          Main.fail(err, f.url, f.badUrl, options.debug);
          continue;
        }
        HttpResponse r;
        try {
          r = f.response.join();
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
          failures++;
          Main.fail(err, f.url, e, options.debug);
          continue;
        }
        if (verbose) {
          Verbose.print(err, f.url, r, handOuts.get(r.allocationId()), options);
          err.flush();
        }
        String saved = "";
        if (dir != null) {
          Path file = dir.resolve(fileName(f.url, names));
          Files.write(file, r.body());
          saved = "  -> " + file;
        }
        // "%-18s %,10d bytes %9s  %-9s  %s%s", without java.util.Formatter: its first use
        // loads regex, locale data and decimal formatting, 25 ms of a 200 ms `get` on JDK 17
        out.println(Columns.left(r.status() + " " + (r.reason() == null ? "" : r.reason()), 18)
            + " " + Columns.right(Columns.grouped(r.bodySize()), 10)
            + " bytes " + Columns.right(BenchReport.millis(f.end - f.start), 9)
            + "  " + Columns.left(String.valueOf(r.servedBy()), 9)
            + "  " + f.url + saved);
        if (failOnHttpError && r.status() >= 400) {
          failures++;
        }
        out.flush();
      }
    }
    return failures == 0 ? 0 : 1;
  }

  /** The -d body, or null. */
  private RequestBody body() {
    if (data == null) {
      return null;
    }
    boolean typed = options.headers.stream()
        .anyMatch(h -> h.regionMatches(true, 0, "content-type:", 0, "content-type:".length()));
    if (!typed) { // curl's default for -d
      options.headers.add("Content-Type: application/x-www-form-urlencoded");
    }
    return data.startsWith("@")
        ? RequestBody.ofFile(Path.of(data.substring(1)))
        : RequestBody.ofString(data, StandardCharsets.UTF_8);
  }

  /** The URL's last path segment, made safe ("index.html" for none), unique within this run. */
  static String fileName(String url, Set<String> taken) {
    String path =
        url.replaceFirst("^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", "").replaceFirst("[?#].*$", "");
    String last = path.substring(path.lastIndexOf('/') + 1);
    String name = last.isEmpty() ? "index.html" : last.replaceAll("[^A-Za-z0-9._-]", "_");
    if (name.equals(".") || name.equals("..")) {
      name = "index.html";
    }
    String unique = name;
    for (int i = 1; !taken.add(unique); i++) {
      unique = name + "." + i;
    }
    return unique;
  }
}
