package dev.keepalive;

/**
 * The answer to one {@link ConnectionManager#allocate} request (the response hash of Perl's POE::Component::Client::Keepalive, which this library re-creates): an echo
 * of the request, then either a connection or an error.
 */
public final class AllocationResult {
  private final long requestId;
  private final Allocation request;
  private final Connection connection;
  private final FromCache fromCache;
  private final String function;
  private final Integer errorNum;
  private final String errorStr;

  AllocationResult(
      long requestId,
      Allocation request,
      Connection connection,
      FromCache fromCache,
      String function,
      Integer errorNum,
      String errorStr) {
    this.requestId = requestId;
    this.request = request;
    this.connection = connection;
    this.fromCache = fromCache;
    this.function = function;
    this.errorNum = errorNum;
    this.errorStr = errorStr;
  }

  /** The id {@code allocate()} returned. */
  public long requestId() {
    return requestId;
  }

  /** The request as it was made. */
  public Allocation request() {
    return request;
  }

  public String scheme() {
    return request.scheme();
  }

  public String addr() {
    return request.addr();
  }

  public int port() {
    return request.port();
  }

  /** The target's scheme when proxying; the scheme otherwise. */
  public String forScheme() {
    return request.forScheme();
  }

  public String forAddr() {
    return request.forAddr();
  }

  public int forPort() {
    return request.forPort();
  }

  /** The request's context, or null. */
  public Object context() {
    return request.context();
  }

  public boolean isSuccess() {
    return connection != null;
  }

  /** The connection; null on failure. */
  public Connection connection() {
    return connection;
  }

  /** How the connection was served; null on failure. */
  public FromCache fromCache() {
    return fromCache;
  }

  /**
   * Null on success; on failure "resolve", "connect", "sslify", "shutdown", or "queue" (the
   * request would have had to wait while {@code maxQueued} others waited).
   */
  public String function() {
    return function;
  }

  /** The Linux errno where one applies (111 ECONNREFUSED, 110 ETIMEDOUT, ...), else null. */
  public Integer errorNum() {
    return errorNum;
  }

  /** Null on success; the error text on failure ("Connection refused"). */
  public String errorStr() {
    return errorStr;
  }

  @Override
  public String toString() {
    String target = scheme() + "://" + addr() + ":" + port();
    if (isSuccess()) {
      return "AllocationResult[#" + requestId + " " + target + " " + fromCache + "]";
    }
    return "AllocationResult[#" + requestId + " " + target + " " + function + " error " + errorNum
        + ": " + errorStr + "]";
  }
}
