package dev.keepalive.internal;

/** The failures the pool tests make their fake I/O report. */
final class IoFailures {
  private IoFailures() {}

  static final Failure REFUSED =
      new Failure(Failure.Function.CONNECT, Errno.ECONNREFUSED, "Connection refused");
  static final Failure NO_FDS =
      new Failure(Failure.Function.CONNECT, Errno.EMFILE, "Too many open files");
  static final Failure NXDOMAIN =
      new Failure(Failure.Function.RESOLVE, null, "Name or service not known");
}
