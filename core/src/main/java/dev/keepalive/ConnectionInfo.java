package dev.keepalive;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A snapshot of one open socket of a manager, as {@link ConnectionManager#retire} shows it to its
 * predicate. The first six components are the socket's pool key, as normalized by the manager
 * (scheme and host lower-cased, IPv6 brackets dropped; without a target set by
 * {@link Allocation#forTarget}, the target is the socket's own scheme, address and port).
 *
 * @param scheme the scheme it was opened for ("http", "https", ...)
 * @param addr the host name or literal address it was opened for
 * @param port the port it was opened for
 * @param forScheme the target scheme of its pool key
 * @param forAddr the target address of its pool key
 * @param forPort the target port of its pool key
 * @param remoteAddress the address it is connected to; while it is still connecting, the address
 *     being tried, or null before the first attempt starts or when the channel cannot tell
 * @param age how long ago its TCP connect completed (the clock of {@code maxLifetime});
 *     {@link Duration#ZERO} while the TCP connect is still under way
 * @param uses how many times it was handed out, its first hand-out included (0 while connecting)
 * @param leased true while it is handed out (or connected and on its way to its holder); false
 *     when idle in the pool or still connecting
 */
public record ConnectionInfo(
    String scheme,
    String addr,
    int port,
    String forScheme,
    String forAddr,
    int forPort,
    InetSocketAddress remoteAddress,
    Duration age,
    int uses,
    boolean leased) {}
