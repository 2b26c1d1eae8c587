/**
 * keepalive-core: a keep-alive connection manager for Java network clients.
 *
 * <p>Only {@code dev.keepalive} is exported; {@code dev.keepalive.internal} is the machinery
 * (event loop, pool, queue, DNS, connector, connection object) and may change at any time.
 */
module dev.keepalive {
  // No requires: tls-channel (TLS over the non-blocking sockets) is shaded into this module's
  // jar, relocated to dev.keepalive.internal.tlschannel, at package time (core/pom.xml,
  // docs/BUILD.md).

  exports dev.keepalive;
}
