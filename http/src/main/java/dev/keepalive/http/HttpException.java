package dev.keepalive.http;

import dev.keepalive.AllocationException;
import java.io.IOException;
import java.io.Serializable;
import java.util.Set;

/**
 * An HTTP exchange failed. {@link #stage()} says where:
 *
 * <ul>
 *   <li>"connect": no connection (the cause is the manager's {@link AllocationException};
 *       {@link #function()}, {@link #errorNum()} and {@link #errorStr()} repeat its fields),
 *       or the manager is shut down (function "shutdown");
 *   <li>"send": writing the request failed or timed out;
 *   <li>"receive": reading the response failed, timed out, or the peer closed the connection
 *       before the response was complete;
 *   <li>"parse": the response is malformed (bad status line, bad chunk size, header block too
 *       large, ...).
 * </ul>
 *
 * <p>The connection of a failed exchange is always discarded, never pooled.
 */
public class HttpException extends IOException {
  private static final long serialVersionUID = 1L;
  private static final Set<String> STAGES = Set.of("connect", "send", "receive", "parse");

  private final String stage;
  /** The manager's fields of a "connect" failure; null otherwise. */
  private final ConnectFailure connect;

  /** What the manager said of a failed allocation. */
  private record ConnectFailure(String function, Integer errorNum, String errorStr)
      implements Serializable {}

  /**
   * An exception of {@code stage} ("connect", "send", "receive" or "parse").
   *
   * @throws IllegalArgumentException if stage is not one of those
   */
  public HttpException(String stage, String message) {
    this(stage, message, null);
  }

  /**
   * An exception of {@code stage} with a cause; when the cause is an {@link AllocationException}
   * its function, errorNum and errorStr are repeated here.
   *
   * @throws IllegalArgumentException if stage is not one of "connect", "send", "receive", "parse"
   */
  public HttpException(String stage, String message, Throwable cause) {
    super(message, cause);
    this.stage = checkStage(stage);
    this.connect = cause instanceof AllocationException a
        ? new ConnectFailure(a.function(), a.errorNum(), a.errorStr())
        : null;
  }

  /** A "connect" failure with the manager's fields given directly (no AllocationException). */
  HttpException(
      String message, Throwable cause, String function, Integer errorNum, String errorStr) {
    super(message, cause);
    this.stage = "connect";
    this.connect = new ConnectFailure(function, errorNum, errorStr);
  }

  /** "connect", "send", "receive" or "parse". */
  public String stage() {
    return stage;
  }

  /**
   * For stage "connect": the manager's failing function ("resolve", "connect", "sslify",
   * "shutdown"); otherwise null.
   */
  public String function() {
    return connect == null ? null : connect.function();
  }

  /** For stage "connect": the Linux errno where one applies (111, 110, ...); otherwise null. */
  public Integer errorNum() {
    return connect == null ? null : connect.errorNum();
  }

  /** For stage "connect": the manager's error text; otherwise null. */
  public String errorStr() {
    return connect == null ? null : connect.errorStr();
  }

  private static String checkStage(String stage) {
    if (stage == null || !STAGES.contains(stage)) {
      throw new IllegalArgumentException(
          "stage must be one of connect, send, receive, parse; was " + stage);
    }
    return stage;
  }
}
