package dev.keepalive.internal;

import java.io.IOException;
import java.util.Map;

/**
 * Maps the JDK's socket exceptions back to the Linux errno the seed reports. The JDK keeps only
 * strerror's text in the message, so the text is the key.
 */
final class Errno {
  /** Resource temporarily unavailable: a full request queue (maxQueued). */
  static final int EAGAIN = 11;

  static final int EPERM = 1;
  static final int ENOENT = 2;
  static final int EACCES = 13;
  static final int EINVAL = 22;
  static final int ENFILE = 23;
  static final int EMFILE = 24;
  static final int EPIPE = 32;
  static final int EAFNOSUPPORT = 97;
  static final int EADDRINUSE = 98;
  static final int EADDRNOTAVAIL = 99;
  static final int ENETUNREACH = 101;
  static final int ECONNABORTED = 103;
  static final int ECONNRESET = 104;
  static final int ETIMEDOUT = 110;
  static final int ECONNREFUSED = 111;
  static final int EHOSTUNREACH = 113;

  private static final Map<String, Integer> BY_TEXT = Map.ofEntries(
      Map.entry("Operation not permitted", EPERM),
      Map.entry("No such file or directory", ENOENT),
      Map.entry("Permission denied", EACCES),
      Map.entry("Invalid argument", EINVAL),
      Map.entry("Too many open files in system", ENFILE),
      Map.entry("Too many open files", EMFILE),
      Map.entry("Broken pipe", EPIPE),
      Map.entry("Address family not supported by protocol", EAFNOSUPPORT),
      Map.entry("Address already in use", EADDRINUSE),
      Map.entry("Cannot assign requested address", EADDRNOTAVAIL),
      Map.entry("Network is unreachable", ENETUNREACH),
      Map.entry("Software caused connection abort", ECONNABORTED),
      Map.entry("Connection reset by peer", ECONNRESET),
      Map.entry("Connection reset", ECONNRESET),
      Map.entry("Connection timed out", ETIMEDOUT),
      Map.entry("Connection refused", ECONNREFUSED),
      Map.entry("No route to host", EHOSTUNREACH));

  private Errno() {}

  /** The failure of {@code function} caused by {@code e}. */
  static Failure failure(Failure.Function function, Throwable e) {
    String text = e.getMessage();
    if (text != null) {
      Integer num = BY_TEXT.get(text);
      if (num == null) {
        // e.g. "Connection refused: connect": the longest known text the message starts with
        String best = null;
        for (Map.Entry<String, Integer> en : BY_TEXT.entrySet()) {
          if (text.startsWith(en.getKey())
              && (best == null || en.getKey().length() > best.length())) {
            best = en.getKey();
            num = en.getValue();
          }
        }
      }
      if (num != null) {
        return new Failure(function, num, strerror(num));
      }
      return new Failure(function, null, text);
    }
    return new Failure(function, null, e.getClass().getSimpleName());
  }

  /** The failure of {@code function} caused by {@code e}. */
  static Failure failure(Failure.Function function, IOException e) {
    return failure(function, (Throwable) e);
  }

  /** strerror()'s text for the numbers this class knows. */
  static String strerror(int num) {
    switch (num) {
      case ECONNRESET:
        return "Connection reset by peer";
      case EMFILE:
        return "Too many open files";
      case EAGAIN:
        return "Resource temporarily unavailable";
      default:
        for (Map.Entry<String, Integer> en : BY_TEXT.entrySet()) {
          if (en.getValue() == num) {
            return en.getKey();
          }
        }
        return "errno " + num;
    }
  }
}
