package dev.keepalive.cli;

import dev.keepalive.ConnectionManager;
import dev.keepalive.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The connection manager's and the requests' settings, shared by every command. */
final class ClientOptions {
  @Option(
      names = "--max-per-host",
      paramLabel = "N",
      description = "Most connections to one host at once (bench: the concurrency; get: 4).")
  Integer maxPerHost;

  @Option(
      names = "--max-open",
      paramLabel = "N",
      description = "Most connections open at once, idle ones included (default: 128, or more "
          + "for a larger concurrency).")
  Integer maxOpen;

  @Option(
      names = "--keep-alive",
      paramLabel = "DURATION",
      description = "How long an idle connection is kept for reuse (default: 15s).")
  Duration keepAlive;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      description = "Time limit of one request: connecting and waiting for the response "
          + "(bench: 10s; get: 30s).")
  Duration timeout;

  @Option(
      names = {"-H", "--header"},
      paramLabel = "'NAME: VALUE'",
      description = "Adds a request header (repeatable).")
  List<String> headers = new ArrayList<>();

  @Option(names = "--debug", description = "Print the stack trace of every error.")
  boolean debug;

  /** Checks the values picocli cannot: throws a usage error (exit status 2) naming the option. */
  void validate(CommandSpec spec) {
    if (maxPerHost != null && maxPerHost < 1) {
      throw new ParameterException(spec.commandLine(), "--max-per-host must be at least 1");
    }
    if (maxOpen != null && maxOpen < 1) {
      throw new ParameterException(spec.commandLine(), "--max-open must be at least 1");
    }
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0 || h.substring(0, colon).isBlank()) {
        throw new ParameterException(
            spec.commandLine(), "header '" + h + "' is not of the form 'NAME: VALUE'");
      }
      try {
        HttpRequest.newBuilder("http://127.0.0.1/")
            .header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "-H '" + h + "': " + e.getMessage());
      }
    }
  }

  ConnectionManager manager(int maxPerHost, int maxOpen, Duration timeout) {
    return ConnectionManager.builder()
        .maxPerHost(maxPerHost)
        .maxOpen(maxOpen)
        .keepAlive(keepAlive == null ? Duration.ofSeconds(15) : keepAlive)
        .timeout(timeout)
        .build();
  }

  Duration keepAliveOrDefault() {
    return keepAlive == null ? Duration.ofSeconds(15) : keepAlive;
  }

  /**
   * The request for {@code url}, with the headers, the timeout and, when {@code close}, a
   * "Connection: close" header (the server and the client then close the connection after it).
   *
   * @throws IllegalArgumentException if the URL is not a valid http or https URL
   */
  HttpRequest request(String url, String method, Duration timeout, boolean close) {
    HttpRequest.Builder b = HttpRequest.newBuilder(url).method(method).timeout(timeout);
    for (String h : headers) {
      int colon = h.indexOf(':');
      b.header(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
    }
    if (close) {
      b.header("Connection", "close");
    }
    return b.build();
  }
}
