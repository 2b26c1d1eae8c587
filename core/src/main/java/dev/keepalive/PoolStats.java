package dev.keepalive;

/**
 * A consistent snapshot of a manager's sockets and requests.
 *
 * @param open sockets that exist: {@code idle + leased + connecting}
 * @param idle sockets waiting in the keep-alive pool
 * @param leased sockets handed out and not yet given back
 * @param connecting sockets being connected for a request
 * @param pending requests not yet answered and not connecting (resolving or queued)
 */
public record PoolStats(int open, int idle, int leased, int connecting, int pending) {}
