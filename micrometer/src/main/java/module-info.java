/**
 * keepalive-micrometer: Micrometer meters for a keepalive connection manager ({@link
 * dev.keepalive.micrometer.KeepaliveMetrics}).
 *
 * <p>An optional artifact: keepalive-core knows nothing of Micrometer. Both modules it builds on
 * are required transitively, because its API names their types ({@code ConnectionManager}, {@code
 * ConnectionListener}; {@code MeterRegistry}, {@code Tag}).
 */
// micrometer-core is an automatic module (its jar names itself micrometer.core in its manifest):
// requiring it transitively is what a user of this API needs, and what Micrometer's own binders
// in other projects do; the two lints that warn about requiring an automatic module are
// silenced here alone.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.keepalive.micrometer {
  requires transitive dev.keepalive;
  requires transitive micrometer.core;

  exports dev.keepalive.micrometer;
}
