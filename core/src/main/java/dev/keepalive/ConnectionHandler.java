package dev.keepalive;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Receives the input of a started {@link Connection} on the manager's event loop thread.
 *
 * <p>Handlers must not block: they run on the thread that serves every connection of the manager.
 * An exception thrown by a handler is logged and does not stop the loop.
 */
public interface ConnectionHandler {
  /**
   * Bytes arrived. {@code data} is a buffer the loop reuses: it is valid only during this call;
   * copy what you keep.
   */
  void onInput(Connection connection, ByteBuffer data);

  /** The peer closed its side. Called at most once; no more input follows. */
  default void onEof(Connection connection) {}

  /**
   * Reading failed, or the manager closed the socket under its holder
   * ({@link ConnectionManager#close()}: an {@link java.nio.channels.AsynchronousCloseException}).
   * Called at most once; no more input follows. Never called after the holder's own close() or
   * discard().
   */
  default void onError(Connection connection, IOException error) {}
}
