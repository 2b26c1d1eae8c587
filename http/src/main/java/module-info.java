/**
 * keepalive-http: an HTTP/1.1 client over the keepalive connection manager.
 *
 * <p>Only {@code dev.keepalive.http} is exported; {@code dev.keepalive.http.internal} (the message
 * codec, request encoding, keep-alive bookkeeping) may change at any time. Built on the public
 * API of {@code dev.keepalive} alone; that module is required transitively because the client's
 * API names its types ({@code ConnectionManager}, {@code FromCache}).
 */
module dev.keepalive.http {
  requires transitive dev.keepalive;

  exports dev.keepalive.http;
}
