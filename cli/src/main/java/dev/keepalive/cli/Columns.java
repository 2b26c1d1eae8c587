package dev.keepalive.cli;

/**
 * The few number and column formats the command prints on its start-up path, written out:
 * {@link java.util.Formatter}'s first use loads its pattern parser (regex), locale data and
 * decimal formatting, about 25 ms of a 200 ms {@code keepalive get} on JDK 17. Same results as
 * the format strings named on each method, in {@link java.util.Locale#ROOT}.
 */
final class Columns {
  private Columns() {}

  /** {@code %-Ns}: {@code s} padded with spaces on the right to {@code width}, never cut. */
  static String left(String s, int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }

  /** {@code %Ns}: {@code s} padded with spaces on the left to {@code width}, never cut. */
  static String right(String s, int width) {
    return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
  }

  /** {@code %,d}: {@code n} with a comma between groups of three digits. */
  static String grouped(long n) {
    String digits = Long.toString(n);
    int start = n < 0 ? 1 : 0;
    int len = digits.length() - start;
    if (len <= 3) {
      return digits;
    }
    StringBuilder b = new StringBuilder(digits.length() + len / 3);
    b.append(digits, 0, start);
    int first = len % 3 == 0 ? 3 : len % 3;
    b.append(digits, start, start + first);
    for (int i = start + first; i < digits.length(); i += 3) {
      b.append(',').append(digits, i, i + 3);
    }
    return b.toString();
  }

  /**
   * {@code %.Df} of {@code value / 10^scale}, rounded half up: e.g. {@code decimal(1_234_567, 6,
   * 2)} is "1.23" (nanoseconds as milliseconds). Exact, from the integer: {@code decimals <=
   * scale <= 18}.
   */
  static String decimal(long value, int scale, int decimals) {
    if (decimals < 0 || decimals > scale || scale > 18) {
      throw new IllegalArgumentException("decimals " + decimals + ", scale " + scale);
    }
    boolean negative = value < 0;
    long divisor = pow10(scale - decimals);
    long abs = Math.abs(value);
    long scaled = abs / divisor + (abs % divisor >= (divisor + 1) / 2 && divisor > 1 ? 1 : 0);
    long unit = pow10(decimals);
    String whole = Long.toString(scaled / unit);
    String sign = negative ? "-" : ""; // as Formatter: -0.0004 is "-0.000"
    if (decimals == 0) {
      return sign + whole;
    }
    String frac = Long.toString(scaled % unit);
    return sign + whole + "." + "0".repeat(decimals - frac.length()) + frac;
  }

  private static long pow10(int n) {
    long p = 1;
    for (int i = 0; i < n; i++) {
      p *= 10;
    }
    return p;
  }
}
