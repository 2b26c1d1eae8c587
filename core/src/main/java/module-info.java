/**
 * keepalive-core: a keep-alive connection manager for Java network clients.
 *
 * <p>Only {@code dev.keepalive} is exported; {@code dev.keepalive.internal} is the machinery
 * (event loop, pool, queue, DNS, connector, connection object) and may change at any time.
 */
module dev.keepalive {
  requires tls.channel; // automatic module of com.github.marianobarrios:tls-channel

  exports dev.keepalive;
}
