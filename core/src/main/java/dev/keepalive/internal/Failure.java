package dev.keepalive.internal;

/**
 * Why a request failed, in the seed's terms.
 *
 * @param function "resolve", "connect", "sslify" or "shutdown"
 * @param errorNum the Linux errno where one applies, else null
 * @param errorStr the error text
 */
public record Failure(String function, Integer errorNum, String errorStr) {
  /** The request's deadline passed, in whatever phase it was. */
  public static final Failure TIMEOUT = new Failure("connect", Errno.ETIMEDOUT, "Connection timed out");

  /** The manager was shut down before the request was answered. */
  public static final Failure SHUTDOWN =
      new Failure("shutdown", null, "Connection manager is shut down");
}
