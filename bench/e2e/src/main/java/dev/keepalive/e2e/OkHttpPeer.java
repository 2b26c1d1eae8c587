package dev.keepalive.e2e;

import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * OkHttp 5 (okhttp-jvm): one OkHttpClient, its ConnectionPool holding up to the concurrency idle
 * connections, the dispatcher's limits raised to the concurrency, HTTP/1.1, and the blocking
 * Call.execute() from one thread per worker (OkHttp's async enqueue() runs the same blocking
 * call on a dispatcher thread, one more hand-off).
 */
final class OkHttpPeer extends Peer {
  private final OkHttpClient client;
  private final Request request;

  OkHttpPeer(Config c) {
    super(false);
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(Math.max(64, c.concurrency()));
    dispatcher.setMaxRequestsPerHost(Math.max(5, c.concurrency()));
    OkHttpClient.Builder b = new OkHttpClient.Builder()
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(Math.max(5, c.concurrency()), 5, TimeUnit.MINUTES))
        .protocols(List.of(Protocol.HTTP_1_1))
        .connectTimeout(c.timeoutMillis(), TimeUnit.MILLISECONDS)
        .readTimeout(c.timeoutMillis(), TimeUnit.MILLISECONDS)
        .writeTimeout(c.timeoutMillis(), TimeUnit.MILLISECONDS);
    if (c.ssl() != null) {
      b.sslSocketFactory(c.ssl().getSocketFactory(), c.trustManager());
    }
    client = b.build();
    Request.Builder rb = new Request.Builder().url(c.url());
    if (!c.keepAlive()) {
      rb.header("Connection", "close");
    }
    request = rb.build();
  }

  @Override
  long send() throws Exception {
    try (Response r = client.newCall(request).execute()) {
      ResponseBody body = r.body();
      return result(r.code(), body.bytes().length);
    }
  }

  @Override
  public void close() {
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }
}
