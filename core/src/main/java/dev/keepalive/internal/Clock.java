package dev.keepalive.internal;

/** Monotonic time in nanoseconds; tests substitute a clock they advance by hand. */
@FunctionalInterface
interface Clock {
  long nanoTime();

  Clock SYSTEM = System::nanoTime;
}
