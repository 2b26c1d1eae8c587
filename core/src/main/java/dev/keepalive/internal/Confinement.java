package dev.keepalive.internal;

/**
 * Checks that state meant for one thread is used by one thread: the first thread to ask owns it.
 * Used in {@code assert} statements at the entry points of loop-confined state (Surefire runs
 * with -ea), so it costs nothing when assertions are off.
 */
final class Confinement {
  private volatile Thread owner;

  /** True when the calling thread owns the state (binding it on first use). */
  boolean held() {
    Thread t = Thread.currentThread();
    Thread o = owner;
    if (o == null) {
      owner = t;
      return true;
    }
    return o == t;
  }
}
