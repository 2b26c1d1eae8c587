package dev.keepalive.testing;

import dev.keepalive.testkit.AcceptingServer;

/**
 * The kit's {@link AcceptingServer} under its old name, kept only for the white-box tests of
 * dev.keepalive.internal that still name it (they are being reworked elsewhere and will switch
 * to the kit). Nothing else should use it.
 */
public final class LoopbackServer extends AcceptingServer {}
