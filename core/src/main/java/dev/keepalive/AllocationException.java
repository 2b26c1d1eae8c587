package dev.keepalive;

import java.io.IOException;
import java.util.Objects;

/** The failure of an allocation, for the future style of {@link ConnectionManager#allocate}. */
public class AllocationException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient AllocationResult result;

  /** Wraps a failed result. */
  public AllocationException(AllocationResult result) {
    super(describe(Objects.requireNonNull(result, "result")));
    if (result.isSuccess()) {
      throw new IllegalArgumentException("result must be a failure");
    }
    this.result = result;
  }

  private static String describe(AllocationResult r) {
    String where = r.scheme() + "://" + r.addr() + ":" + r.port();
    String num = r.errorNum() == null ? "" : " " + r.errorNum();
    return r.function() + " error" + num + ": " + r.errorStr() + " (" + where + ")";
  }

  /** The whole result: the request's echo and the error. */
  public AllocationResult result() {
    return result;
  }

  /**
   * "resolve", "connect", "sslify", "shutdown", or "queue" (the request queue was full:
   * maxQueued).
   */
  public String function() {
    return result.function();
  }

  /** The Linux errno where one applies, else null. */
  public Integer errorNum() {
    return result.errorNum();
  }

  /** The error text. */
  public String errorStr() {
    return result.errorStr();
  }
}
