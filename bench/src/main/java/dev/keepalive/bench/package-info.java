/** Benchmarks of keepalive. */
package dev.keepalive.bench;
