package dev.keepalive.bench.peers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The peer comparison of a JMH JSON result file: cycles/s of keepalive's
 * {@code ThreadCachedBenchmark} next to the peers' ({@link StrictConnPoolBenchmark},
 * {@link LaxConnPoolBenchmark}, {@link NettyFixedPoolBenchmark}) per thread count and key count,
 * cost ratios, and the target: keepalive from one plain thread at least 5x the cycles/s of each
 * peer, per key count. Then the same for the peers configured as safe as keepalive
 * ({@link SafeStrictConnPoolBenchmark}, {@link SafeLaxConnPoolBenchmark},
 * {@link NettySafeFixedPoolBenchmark}; issue 17), with their target: keepalive from one plain
 * thread at least 2x the best of them, per key count. {@code bench/run-pool-bench.sh} appends it
 * to the run's summary. Prints nothing when the file holds no peer result.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.keepalive.bench.peers.PeerSummary results.json}
 */
public final class PeerSummary {
  /** keepalive from one plain thread must make at least this many times a peer's cycles/s. */
  static final double TARGET = 5.0;

  /** keepalive from one plain thread must make at least this many times the best safe peer's. */
  static final double SAFE_TARGET = 2.0;

  private static final String KEEPALIVE = "dev.keepalive.bench.ThreadCachedBenchmark";
  private static final String[][] PEERS = {
    {"StrictConnPool", "dev.keepalive.bench.peers.StrictConnPoolBenchmark"},
    {"LaxConnPool", "dev.keepalive.bench.peers.LaxConnPoolBenchmark"},
    {"Netty FixedChannelPool", "dev.keepalive.bench.peers.NettyFixedPoolBenchmark"},
  };
  /** The peers configured as safe as keepalive (a check of every socket leaving the pool). */
  private static final String[][] SAFE_PEERS = {
    {"StrictConnPool+check", "dev.keepalive.bench.peers.SafeStrictConnPoolBenchmark"},
    {"LaxConnPool+check", "dev.keepalive.bench.peers.SafeLaxConnPoolBenchmark"},
    {"Netty safe", "dev.keepalive.bench.peers.NettySafeFixedPoolBenchmark"},
  };

  private static final String[] KEYS = {"1", "100", "10000"};

  private PeerSummary() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: PeerSummary <jmh results.json>");
      System.exit(2);
    }
    Object json = new Json(Files.readString(Path.of(args[0]), StandardCharsets.UTF_8)).value();
    System.out.print(summary(scores(json)));
  }

  /** "class.method keys=K" (keys "-" when the benchmark has no keys) to cycles/s. */
  @SuppressWarnings("unchecked")
  static Map<String, Double> scores(Object json) {
    Map<String, Double> scores = new LinkedHashMap<>();
    if (!(json instanceof List)) {
      return scores;
    }
    for (Object o : (List<Object>) json) {
      Map<String, Object> r = (Map<String, Object>) o;
      Object params = r.get("params");
      Object keys = params instanceof Map ? ((Map<String, Object>) params).get("keys") : null;
      Object metric = r.get("primaryMetric");
      Object score = metric instanceof Map ? ((Map<String, Object>) metric).get("score") : null;
      if (score instanceof Double) {
        scores.put(r.get("benchmark") + " keys=" + (keys == null ? "-" : keys), (Double) score);
      }
    }
    return scores;
  }

  static String summary(Map<String, Double> s) {
    boolean anyPeer = s.keySet().stream().anyMatch(k -> k.contains(".peers."));
    if (!anyPeer) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    line(out, "");
    line(
        out,
        "peers: cached cycles from plain threads, cycles/s (keepalive: "
            + "ThreadCachedBenchmark, allocate(a).get() + close(),");
    line(
        out,
        "two 1-byte probe reads per cycle; StrictConnPool, LaxConnPool: "
            + "lease(key, null).get() + release(entry, true);");
    line(
        out,
        "Netty: acquire().syncUninterruptibly() + release(ch); the peers probe nothing; "
            + "all hold connected sockets to the sink):");
    table(out, s, PEERS);
    line(out, "  (next to each peer: keepalive cycles/s / the peer's)");

    line(out, "  cost ratios (ns/cycle, 1 thread):");
    costRow(out, "keys=10000 / keys=1", s, "threadCached", "10000", "threadCached", "1");
    costRow(out, "10,000 queued / keys=1", s, "threadCachedWithQueue", "-", "threadCached", "1");

    line(out, "");
    line(
        out,
        String.format(
            Locale.ROOT,
            "peer targets (keepalive from one plain thread / peer, "
                + "cycles/s; target >= %.0fx):",
            TARGET));
    for (String[] peer : PEERS) {
      for (String keys : KEYS) {
        Double k = s.get(KEEPALIVE + ".threadCached keys=" + keys);
        Double p = s.get(peer[1] + ".threadCached keys=" + keys);
        String label = "keepalive vs " + peer[0] + ", keys=" + keys;
        if (k == null || p == null) {
          line(out, String.format(Locale.ROOT, "  %-48s (not run)", label));
          continue;
        }
        double x = k / p;
        line(
            out,
            String.format(
                Locale.ROOT, "  %-48s %11.2fx  %s", label, x, x >= TARGET ? "MET" : "MISSED"));
      }
    }
    safeSection(out, s);
    return out.toString();
  }

  /** keepalive's plain-thread cycles next to each of {@code peers}', by threads and keys. */
  private static void table(StringBuilder out, Map<String, Double> s, String[][] peers) {
    StringBuilder head =
        new StringBuilder(String.format(Locale.ROOT, "  %-28s %12s", "", "keepalive"));
    for (String[] peer : peers) {
      head.append(String.format(Locale.ROOT, " %24s", peer[0]));
    }
    line(out, head.toString());
    for (String threads : new String[] {"", "2"}) {
      for (String keys : KEYS) {
        row(
            out,
            (threads.isEmpty() ? "1 thread" : "2 threads") + ", keys=" + keys,
            s,
            "threadCached" + threads,
            keys,
            peers);
      }
    }
    row(out, "1 thread, 10,000 queued", s, "threadCachedWithQueue", "-", peers);
  }

  private static void row(
      StringBuilder out,
      String label,
      Map<String, Double> s,
      String method,
      String keys,
      String[][] peers) {
    Double k = s.get(KEEPALIVE + "." + method + " keys=" + keys);
    StringBuilder b = new StringBuilder(String.format(
        Locale.ROOT,
        "  %-28s %12s",
        label,
        k == null ? "-" : String.format(Locale.ROOT, "%,.0f", k)));
    for (String[] peer : peers) {
      Double p = s.get(peer[1] + "." + method + " keys=" + keys);
      String cell = p == null
          ? "-"
          : k == null
              ? String.format(Locale.ROOT, "%,.0f", p)
              : String.format(Locale.ROOT, "%,.0f (%.2fx)", p, k / p);
      b.append(String.format(Locale.ROOT, " %24s", cell));
    }
    line(out, b.toString());
  }

  /** The equal-safety section: the safe peers' table and the 2x target against the best. */
  private static void safeSection(StringBuilder out, Map<String, Double> s) {
    boolean anySafe = false;
    for (String[] peer : SAFE_PEERS) {
      anySafe |= s.keySet().stream().anyMatch(k -> k.startsWith(peer[1] + "."));
    }
    if (!anySafe) {
      return;
    }
    line(out, "");
    line(
        out,
        "equal-safety peers: the same pools checking every socket as it leaves the pool "
            + "(httpcore5: a 1-byte");
    line(
        out,
        "non-blocking read on every lease; Netty: ACTIVE health check on acquire and release, "
            + "and a handler closing");
    line(out, "a channel that receives anything while pooled), cycles/s:");
    table(out, s, SAFE_PEERS);
    line(
        out,
        String.format(
            Locale.ROOT,
            "equal-safety target (keepalive from one plain thread / the best safe peer, "
                + "cycles/s; target >= %.0fx):",
            SAFE_TARGET));
    for (String keys : KEYS) {
      Double k = s.get(KEEPALIVE + ".threadCached keys=" + keys);
      Double best = null;
      String bestName = null;
      for (String[] peer : SAFE_PEERS) {
        Double p = s.get(peer[1] + ".threadCached keys=" + keys);
        if (p != null && (best == null || p > best)) {
          best = p;
          bestName = peer[0];
        }
      }
      String label = "keepalive vs best safe peer, keys=" + keys;
      if (k == null || best == null) {
        line(out, String.format(Locale.ROOT, "  %-48s (not run)", label));
        continue;
      }
      double x = k / best;
      line(
          out,
          String.format(
              Locale.ROOT,
              "  %-48s %11.2fx  %s (%s)",
              label,
              x,
              x >= SAFE_TARGET ? "MET" : "MISSED",
              bestName));
    }
  }

  private static void costRow(
      StringBuilder out,
      String label,
      Map<String, Double> s,
      String method,
      String keys,
      String baseMethod,
      String baseKeys) {
    StringBuilder b = new StringBuilder(String.format(
        Locale.ROOT,
        "  %-28s %12s",
        label,
        cost(s, KEEPALIVE, method, keys, baseMethod, baseKeys)));
    for (String[] peer : PEERS) {
      b.append(String.format(
          Locale.ROOT, " %24s", cost(s, peer[1], method, keys, baseMethod, baseKeys)));
    }
    line(out, b.toString());
  }

  private static String cost(
      Map<String, Double> s,
      String bench,
      String method,
      String keys,
      String baseMethod,
      String baseKeys) {
    Double r = s.get(bench + "." + method + " keys=" + keys);
    Double base = s.get(bench + "." + baseMethod + " keys=" + baseKeys);
    return r == null || base == null ? "-" : String.format(Locale.ROOT, "%.2fx", base / r);
  }

  private static void line(StringBuilder out, String s) {
    out.append(s).append(System.lineSeparator());
  }

  /** Just enough JSON for JMH's result file: objects, arrays, strings, numbers, literals. */
  static final class Json {
    private final String text;
    private int at;

    Json(String text) {
      this.text = text;
    }

    Object value() {
      skip();
      if (at >= text.length()) {
        throw error("unexpected end");
      }
      char c = text.charAt(at);
      switch (c) {
        case '{':
          return object();
        case '[':
          return array();
        case '"':
          return string();
        case 't':
          return literal("true", Boolean.TRUE);
        case 'f':
          return literal("false", Boolean.FALSE);
        case 'n':
          return literal("null", null);
        default:
          return number();
      }
    }

    private Map<String, Object> object() {
      Map<String, Object> m = new LinkedHashMap<>();
      at++;
      skip();
      if (peek() == '}') {
        at++;
        return m;
      }
      while (true) {
        skip();
        String key = string();
        skip();
        expect(':');
        m.put(key, value());
        skip();
        if (peek() == ',') {
          at++;
        } else {
          expect('}');
          return m;
        }
      }
    }

    private List<Object> array() {
      List<Object> a = new ArrayList<>();
      at++;
      skip();
      if (peek() == ']') {
        at++;
        return a;
      }
      while (true) {
        a.add(value());
        skip();
        if (peek() == ',') {
          at++;
        } else {
          expect(']');
          return a;
        }
      }
    }

    private String string() {
      expect('"');
      StringBuilder b = new StringBuilder();
      while (true) {
        char c = text.charAt(at++);
        if (c == '"') {
          return b.toString();
        }
        if (c == '\\') {
          char e = text.charAt(at++);
          switch (e) {
            case 'n':
              b.append('\n');
              break;
            case 't':
              b.append('\t');
              break;
            case 'r':
              b.append('\r');
              break;
            case 'b':
              b.append('\b');
              break;
            case 'f':
              b.append('\f');
              break;
            case 'u':
              b.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
              at += 4;
              break;
            default:
              b.append(e);
          }
        } else {
          b.append(c);
        }
      }
    }

    private Object literal(String word, Object v) {
      if (!text.startsWith(word, at)) {
        throw error("expected " + word);
      }
      at += word.length();
      return v;
    }

    private Double number() {
      int start = at;
      while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
        at++;
      }
      if (start == at) {
        throw error("unexpected '" + text.charAt(at) + "'");
      }
      return Double.valueOf(text.substring(start, at));
    }

    private char peek() {
      return at < text.length() ? text.charAt(at) : '\0';
    }

    private void expect(char c) {
      if (peek() != c) {
        throw error("expected '" + c + "'");
      }
      at++;
    }

    private void skip() {
      while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
        at++;
      }
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException("bad JSON at " + at + ": " + what);
    }
  }
}
