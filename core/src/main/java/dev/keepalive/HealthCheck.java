package dev.keepalive;

import java.util.concurrent.CompletionStage;

/**
 * Checks that a pooled socket still works before it is handed out, for protocols that have a
 * ping (Redis {@code PING}, an SQL {@code SELECT 1}, an HTTP {@code OPTIONS}). Set with
 * {@link ConnectionManager.Builder#healthCheck}: a socket that has been idle in the pool longer
 * than the threshold is checked before a request gets it.
 *
 * <p>The manager calls {@link #check} on its event loop thread, with a {@link Connection} over the
 * socket lent for the check alone. The check must not block: it writes its ping with
 * {@link Connection#write} and reads the answer with {@link Connection#start} (a handler on the
 * event loop), and completes the returned stage when it knows. For example, a line protocol whose
 * server answers {@code PING} with {@code PONG}:
 *
 * <pre>{@code
 * HealthCheck ping = connection -> {
 *   CompletableFuture<Boolean> healthy = new CompletableFuture<>();
 *   StringBuilder line = new StringBuilder();
 *   connection.start(new ConnectionHandler() {
 *     public void onInput(Connection c, ByteBuffer data) {
 *       while (data.hasRemaining() && !healthy.isDone()) {
 *         char ch = (char) data.get();
 *         if (ch == '\n') {
 *           healthy.complete(line.toString().equals("PONG") && !data.hasRemaining());
 *         } else {
 *           line.append(ch);
 *         }
 *       }
 *     }
 *     public void onEof(Connection c) { healthy.complete(false); }
 *     public void onError(Connection c, IOException e) { healthy.complete(false); }
 *   });
 *   connection.write(ByteBuffer.wrap("PING\n".getBytes(StandardCharsets.US_ASCII)));
 *   return healthy;
 * };
 * }</pre>
 *
 * <p>When the stage completes with {@code true}, the manager takes the connection back from the
 * check (its handler hears nothing more, its methods report closed) and probes the socket as at
 * any give-back: it must be at a message boundary, with every write sent and nothing unread (read
 * exactly the answer to the ping: a byte left unread fails it, and a check should answer false
 * when more arrives than the answer). The request then gets the socket with a new {@link Connection},
 * {@link FromCache#DEFERRED} (it waited for the check). Anything else fails the check and the
 * socket is closed: {@code false}, an exceptional completion, an exception thrown by
 * {@code check}, a null stage, the check closing or discarding its connection, the socket
 * failing the probe, or the socket's lifetime ({@code maxLifetime}) ending during the check. A
 * check should complete with false when its handler hears {@code onEof} or {@code onError}. The request is then served again: another idle socket (checked in turn if it
 * too has been idle long enough), or a NEW connection; it is answered once.
 *
 * <p>The request's timeout covers the check: a check that never completes ends with the request's
 * timeout answer ("connect", 110), and the socket is closed. So do {@code deallocate} (the request
 * is cancelled, the socket closed: its exchange is half done) and {@code shutdown}.
 */
@FunctionalInterface
public interface HealthCheck {
  /**
   * Starts checking the socket behind {@code connection}, on the event loop thread.
   *
   * @param connection the socket, lent to the check until the returned stage completes; its
   *     address and TLS session are the socket's, its {@link Connection#fromCache()} is
   *     {@link FromCache#DEFERRED}
   * @return completes with true when the socket answered as a healthy one does (on any thread)
   */
  CompletionStage<Boolean> check(Connection connection);
}
