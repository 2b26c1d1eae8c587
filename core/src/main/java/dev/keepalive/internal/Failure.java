package dev.keepalive.internal;

/**
 * Why a request failed, in the terms of Perl's POE::Component::Client::Keepalive (the original
 * this library re-creates): the failing function, a Linux errno where one applies, and its text.
 *
 * @param function the stage that failed
 * @param errorNum the Linux errno where one applies, else null
 * @param errorStr the error text
 */
public record Failure(Function function, Integer errorNum, String errorStr) {
  /** The stage a failure comes from; {@link #text} is the name the public API reports. */
  public enum Function {
    RESOLVE("resolve"),
    CONNECT("connect"),
    SSLIFY("sslify"),
    SHUTDOWN("shutdown"),
    /** The request would have had to wait while maxQueued requests already waited. */
    QUEUE("queue"),
    /** The proxy refused the tunnel (HTTP CONNECT status, SOCKS5 reply) or broke its protocol. */
    PROXY("proxy");

    final String text;

    Function(String text) {
      this.text = text;
    }

    @Override
    public String toString() {
      return text;
    }
  }

  /** The request's deadline passed, in whatever phase it was. */
  static final Failure TIMEOUT =
      new Failure(Function.CONNECT, Errno.ETIMEDOUT, "Connection timed out");

  /** The manager was shut down before the request was answered. */
  static final Failure SHUTDOWN =
      new Failure(Function.SHUTDOWN, null, "Connection manager is shut down");

  /** The request would have had to wait for a slot, and the queue was full (maxQueued). */
  static final Failure QUEUE_FULL =
      new Failure(Function.QUEUE, Errno.EAGAIN, Errno.strerror(Errno.EAGAIN));

  /** The function's name as the public API reports it ("resolve", "connect", ...). */
  public String functionName() {
    return function.text;
  }
}
