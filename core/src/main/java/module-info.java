/**
 * keepalive-core: a keep-alive connection manager for Java network clients.
 *
 * <p>Only {@code dev.keepalive} is exported; {@code dev.keepalive.internal} is the machinery
 * (event loop, pool, queue, DNS, connector, connection object) and may change at any time.
 */
module dev.keepalive {
  // tls-channel (TLS over the non-blocking sockets) is not required: it is shaded into this
  // module's jar, relocated to dev.keepalive.internal.tlschannel, at package time (core/pom.xml,
  // docs/BUILD.md). What it needs of the JDK beyond java.base is required here: its logging.
  requires java.logging;
  // TCP keepalive's timing options (TCP_KEEPIDLE, ...): ExtendedSocketOptions; in every JDK.
  requires jdk.net;
  // JDK Flight Recorder events (dev.keepalive.*): optional; without jdk.jfr none is recorded.
  requires static jdk.jfr;
  // the opt-in MXBean (Builder.jmx): optional too
  requires static java.management;

  exports dev.keepalive;
}
