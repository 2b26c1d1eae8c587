package dev.keepalive;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Turns a host name into addresses without blocking the caller.
 *
 * <p>The manager calls {@link #resolve} from its event loop, so an implementation must return at
 * once and complete the stage later, from any thread. A stage completed exceptionally, or with an
 * empty list, answers the waiting requests with function {@code "resolve"}. Literal IPv4 and IPv6
 * addresses never reach the resolver.
 */
public interface Resolver {
  /** Starts a lookup of {@code host}; the stage completes with its addresses, in preference order. */
  CompletionStage<List<InetAddress>> resolve(String host);

  /**
   * The JDK's resolver ({@link InetAddress#getAllByName}) run on a small bounded pool of daemon
   * threads shared by every manager.
   */
  static Resolver system() {
    return SystemResolver.INSTANCE;
  }
}
