package dev.keepalive.cli;

import dev.keepalive.AllocationException;
import dev.keepalive.http.HttpException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/** Failures in words: one line a person can read, and the function they count under. */
final class Errors {
  private Errors() {}

  /** The failure itself, without the CompletionException/ExecutionException wrapping. */
  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The connection manager's answer to a failed allocation, wherever the failure carries it. */
  private record Allocation(String function, Integer errorNum, String errorStr, String where) {
    static Allocation of(Throwable t) {
      AllocationException ae = find(t, AllocationException.class);
      if (ae != null) {
        return new Allocation(
            ae.function(),
            ae.errorNum(),
            ae.errorStr(),
            ae.result().addr() + ":" + ae.result().port());
      }
      HttpException he = find(t, HttpException.class);
      if (he != null && "connect".equals(he.stage()) && he.function() != null) {
        return new Allocation(he.function(), he.errorNum(), he.errorStr(), null);
      }
      return null;
    }
  }

  /**
   * What the failure counts under in the bench report: the manager's function for a failed
   * allocation ("resolve", "connect", "sslify", "shutdown"), else the HTTP client's stage
   * ("send", "receive", "parse"), "timeout", or the exception's simple class name.
   */
  static String function(Throwable failure) {
    Throwable t = unwrap(failure);
    Allocation a = Allocation.of(t);
    if (a != null) {
      return a.function();
    }
    if (isTimeout(t)) {
      return "timeout";
    }
    HttpException he = find(t, HttpException.class);
    if (he != null) {
      return he.stage();
    }
    if (find(t, SSLException.class) != null) {
      return "sslify";
    }
    if (t instanceof IllegalArgumentException) {
      return "request";
    }
    return t.getClass().getSimpleName();
  }

  /**
   * One line, no stack trace: "connection refused (127.0.0.1:1)", "unknown host x.invalid".
   *
   * @param ofRequest the failure is that of an HTTP request (an IllegalArgumentException then
   *     means its URL was refused)
   */
  static String describe(Throwable failure, boolean ofRequest) {
    Throwable t = unwrap(failure);
    if (t instanceof IllegalArgumentException) {
      return ofRequest ? "bad URL: " + message(t) : message(t);
    }
    Allocation a = Allocation.of(t);
    if (a != null) {
      return describe(a);
    }
    UnknownHostException uh = find(t, UnknownHostException.class);
    if (uh != null) {
      return "unknown host " + message(uh);
    }
    SSLException ssl = find(t, SSLException.class);
    if (ssl != null) {
      return "TLS failure: " + message(ssl);
    }
    HttpException he = find(t, HttpException.class);
    String stage = he == null ? null : he.stage();
    if (isTimeout(t)) {
      return "timed out" + (stage == null ? "" : " " + stageWords(stage));
    }
    if (t instanceof NoSuchFileException) {
      return "no such file or directory: " + t.getMessage();
    }
    if (t instanceof AccessDeniedException) {
      return "permission denied: " + t.getMessage();
    }
    if (t instanceof FileAlreadyExistsException) {
      return "file exists: " + t.getMessage();
    }
    Throwable top = he != null ? he : t;
    String text = message(top);
    Throwable cause = top.getCause();
    if (cause != null
        && cause != top
        && cause.getMessage() != null
        && !text.contains(cause.getMessage())) {
      text += ": " + cause.getMessage();
    }
    return stage == null || text.toLowerCase(java.util.Locale.ROOT).contains(stage)
        ? text
        : stage + " failed: " + text;
  }

  private static String describe(Allocation a) {
    String at = a.where() == null ? "" : " (" + a.where() + ")";
    String str = a.errorStr() == null ? "" : a.errorStr();
    Integer num = a.errorNum();
    switch (a.function()) {
      case "resolve": {
        // the manager's text is the resolver's: "x.invalid: Name or service not known"
        java.util.regex.Matcher m =
            java.util.regex.Pattern.compile("([^\\s:]+): (.+)").matcher(str);
        if (m.matches()) {
          return "unknown host " + m.group(1) + " (" + m.group(2) + ")";
        }
        return "unknown host" + (str.isEmpty() ? at : ": " + str);
      }
      case "connect":
        if (num != null && num == 111) {
          return "connection refused" + at;
        }
        if (num != null && num == 110) {
          return "timed out connecting" + at;
        }
        return "cannot connect" + at + ": " + str;
      case "sslify":
        return "TLS failure" + at + ": " + str;
      case "shutdown":
        return "cancelled: the client was shut down";
      default:
        return a.function() + " failed" + at + ": " + str;
    }
  }

  private static String stageWords(String stage) {
    return switch (stage) {
      case "connect" -> "connecting";
      case "send" -> "sending the request";
      case "receive", "parse" -> "waiting for the response";
      default -> "(" + stage + ")";
    };
  }

  static boolean isTimeout(Throwable t) {
    int depth = 0;
    for (Throwable c = t; c != null && depth < 20; c = c.getCause(), depth++) {
      // SocketTimeoutException, TimeoutException, HttpTimeoutException and the like
      if (c instanceof SocketTimeoutException
          || c instanceof TimeoutException
          || c.getClass().getSimpleName().contains("Timeout")) {
        return true;
      }
      String m = c.getMessage();
      if (c instanceof HttpException
          && m != null
          && m.toLowerCase(java.util.Locale.ROOT).contains("timed out")) {
        return true;
      }
    }
    return false;
  }

  private static <T extends Throwable> T find(Throwable t, Class<T> type) {
    int depth = 0;
    for (Throwable c = t; c != null && depth < 20; c = c.getCause(), depth++) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    return null;
  }

  private static String message(Throwable t) {
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
  }
}
