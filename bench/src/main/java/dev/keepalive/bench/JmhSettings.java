package dev.keepalive.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The JMH settings every benchmark here shares, inherited by extending this class (JMH reads its
 * annotations from the superclasses too): throughput in ops/s, one forked JVM with a fixed 1 GiB
 * heap, 3 warm-up and 5 measured iterations of 1 s. A benchmark class or method that needs
 * another value says so itself (TlsBenchmark: 6 warm-up iterations).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public abstract class JmhSettings {}
