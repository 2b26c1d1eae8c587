package dev.keepalive.http;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The future of a request whose redirects the client follows: each 3xx response with a Location
 * the policy allows starts the next exchange, until a response that is not one (or is refused)
 * completes this future. Cancelling it cancels the exchange under way.
 */
final class Redirects extends CompletableFuture<HttpResponse> {
  private final HttpClient client;
  private final boolean streaming;
  private final List<URI> passed = new ArrayList<>();
  private volatile CompletableFuture<HttpResponse> current;

  Redirects(HttpClient client, boolean streaming) {
    this.client = client;
    this.streaming = streaming;
  }

  Redirects follow(CompletableFuture<HttpResponse> exchange) {
    current = exchange;
    exchange.whenComplete(this::answered);
    return this;
  }

  private void answered(HttpResponse r, Throwable e) {
    if (isDone()) {
      if (r != null) {
        done(r); // cancelled meanwhile: let its connection go
      }
      return;
    }
    if (e != null) {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      completeExceptionally(cause);
      return;
    }
    HttpRequest next;
    try {
      next = next(r);
    } catch (HttpException x) {
      done(r);
      completeExceptionally(x);
      return;
    }
    if (next == null) {
      r.redirects(passed);
      complete(r);
      return;
    }
    passed.add(r.uri());
    done(r);
    try {
      follow(client.exchange(next, streaming));
    } catch (RuntimeException x) { // the client was closed meanwhile
      completeExceptionally(new HttpException(
          "connect", "could not follow the redirect to " + next.uri() + ": " + x.getMessage(), x));
    }
  }

  /** The request the redirect {@code r} asks for, or null when it is not followed. */
  private HttpRequest next(HttpResponse r) throws HttpException {
    int status = r.status();
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
      return null;
    }
    String location = r.headers().first("Location");
    if (location == null || location.isEmpty()) {
      return null;
    }
    HttpRequest from = r.request();
    URI to;
    try {
      to = from.uri().resolve(new URI(encode(location)));
    } catch (URISyntaxException | IllegalArgumentException x) {
      throw new HttpException(
          "receive",
          "invalid Location \"" + location + "\" in a " + status + " response from " + from.uri(),
          x);
    }
    String scheme = to.getScheme() == null ? "" : to.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return null; // not for this client: the 3xx is the answer
    }
    if (client.redirect == HttpClient.Redirect.NORMAL
        && from.scheme().equals("https")
        && scheme.equals("http")) {
      return null; // https to http: not under NORMAL
    }
    if (passed.size() >= HttpClient.MAX_REDIRECTS) {
      List<URI> chain = new ArrayList<>(passed);
      chain.add(from.uri());
      throw new HttpException(
          "receive",
          "too many redirects: more than " + HttpClient.MAX_REDIRECTS + " (" + chain + " then " + to
              + ")");
    }
    String method = from.method();
    boolean toGet = status == 303
        ? !method.equals("HEAD")
        : (status == 301 || status == 302) && method.equals("POST");
    try {
      return from.redirect(to, toGet);
    } catch (IllegalArgumentException x) {
      throw new HttpException(
          "receive",
          "cannot follow the " + status + " redirect to \"" + location + "\": " + x.getMessage(),
          x);
    }
  }

  /** Done with a redirect's response: its body (streamed) is dropped, the socket kept if cheap. */
  private void done(HttpResponse r) {
    if (!streaming) {
      return;
    }
    InputStream in = r.bodyStream();
    try {
      byte[] sink = new byte[4096];
      int n;
      while ((n = in.available()) > 0) { // what already arrived: no blocking read
        in.read(sink, 0, Math.min(n, sink.length));
      }
    } catch (IOException x) {
      // discarded below
    }
    try {
      in.close();
    } catch (IOException x) {
      // the stream's close does not fail
    }
  }

  /** Percent-encodes (UTF-8) what a sloppy server put in a Location: spaces, non-ASCII. */
  private static String encode(String location) {
    StringBuilder b = null;
    for (int i = 0; i < location.length(); i++) {
      char c = location.charAt(i);
      if (c > ' ' && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^'
          && c != '`' && c != '{' && c != '|' && c != '}') {
        if (b != null) {
          b.append(c);
        }
        continue;
      }
      if (b == null) {
        b = new StringBuilder(location.length() + 16).append(location, 0, i);
      }
      for (byte x : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
        b.append('%')
            .append(Character.forDigit((x >> 4) & 0xf, 16))
            .append(Character.forDigit(x & 0xf, 16));
      }
    }
    return b == null ? location : b.toString();
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    if (isDone()) {
      return false;
    }
    boolean cancelled = super.cancel(mayInterruptIfRunning);
    CompletableFuture<HttpResponse> c = current;
    if (c != null) {
      c.cancel(mayInterruptIfRunning);
    }
    return cancelled;
  }
}
