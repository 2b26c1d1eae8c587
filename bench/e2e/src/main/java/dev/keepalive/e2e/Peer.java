package dev.keepalive.e2e;

import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.ToLongFunction;

/**
 * One HTTP client under test, set up once for a run (one client instance, a pool of at least
 * the concurrency) and then asked for the same GET again and again. A blocking peer is called
 * from {@code concurrency} threads; an asynchronous one gets {@code concurrency} chains, each
 * sending its next request from the previous one's completion.
 */
abstract class Peer implements AutoCloseable {
  static final List<String> NAMES = List.of(
      "apache-async",
      "okhttp",
      "jdk-httpclient",
      "reactor-netty",
      "keepalive-lib",
      "keepalive-async");

  /** What a run needs to know to set a client up. */
  record Config(
      String url,
      int concurrency,
      boolean keepAlive,
      javax.net.ssl.SSLContext ssl,
      javax.net.ssl.X509TrustManager trustManager,
      java.nio.file.Path caFile,
      long timeoutMillis) {}

  static Peer create(String name, Config c) throws Exception {
    return switch (name) {
      case "apache-async" -> new ApachePeer(c);
      case "okhttp" -> new OkHttpPeer(c);
      case "jdk-httpclient" -> new JdkPeer(c);
      case "reactor-netty" -> new ReactorPeer(c);
      case "keepalive-lib" -> new KeepalivePeer(c, false);
      case "keepalive-async" -> new KeepalivePeer(c, true);
      default -> throw new IllegalArgumentException("unknown client " + name + "; one of " + NAMES);
    };
  }

  private final boolean async;

  /** async: {@link #sendAsync} is used; else {@link #send} from one thread per worker. */
  Peer(boolean async) {
    this.async = async;
  }

  final boolean async() {
    return async;
  }

  /** Sends the GET and reads the whole response. Returns {@code status << 32 | bodyBytes}. */
  long send() throws Exception {
    throw new UnsupportedOperationException();
  }

  /**
   * Sends the GET; {@code done} gets ({@code status << 32 | bodyBytes}, null) or (null, the
   * failure) once, on any thread, after the whole body is read.
   */
  void sendAsync(BiConsumer<Long, Throwable> done) {
    throw new UnsupportedOperationException();
  }

  static long result(int status, long bytes) {
    return ((long) status << 32) | (bytes & 0xffffffffL);
  }

  /** Tells {@code done} how {@code response} ended: {@code result} of it, or the failure. */
  static <R> void complete(
      CompletionStage<R> response, ToLongFunction<R> result, BiConsumer<Long, Throwable> done) {
    response.whenComplete((r, t) -> {
      if (t != null) {
        done.accept(null, t);
      } else {
        done.accept(result.applyAsLong(r), null);
      }
    });
  }

  @Override
  public abstract void close() throws Exception;
}
