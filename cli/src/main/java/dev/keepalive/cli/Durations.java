package dev.keepalive.cli;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.TypeConversionException;

/** Durations on the command line ("250ms", "10s", "1.5s", "2m", "1h", "10" = seconds, "PT10S"). */
final class Durations {
  private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?");

  static Duration parse(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    Duration d;
    if (v.startsWith("pt")) {
      try {
        d = Duration.parse(v);
      } catch (DateTimeParseException e) {
        throw bad(value);
      }
    } else {
      Matcher m = FORM.matcher(v);
      if (!m.matches()) {
        throw bad(value);
      }
      BigDecimal n = new BigDecimal(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2);
      BigDecimal nanosPerUnit = switch (unit) {
        case "ms" -> BigDecimal.valueOf(1_000_000L);
        case "s" -> BigDecimal.valueOf(1_000_000_000L);
        case "m" -> BigDecimal.valueOf(60_000_000_000L);
        default -> BigDecimal.valueOf(3_600_000_000_000L);
      };
      d = Duration.ofNanos(n.multiply(nanosPerUnit).longValue());
    }
    if (d.isZero() || d.isNegative()) {
      throw new TypeConversionException("'" + value + "' is not a positive duration");
    }
    return d;
  }

  private static TypeConversionException bad(String value) {
    return new TypeConversionException(
        "'" + value + "' is not a duration (examples: 500ms, 10s, 1.5s, 2m, 1h)");
  }

  /** "250 ms", "10 s", "1.5 s", "2 min". */
  static String format(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + " ms";
    }
    if (ms < 120_000) {
      return trim(ms / 1000.0) + " s";
    }
    return trim(ms / 60_000.0) + " min";
  }

  private static String trim(double v) {
    String s = String.format(Locale.ROOT, "%.3f", v);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private Durations() {}
}
