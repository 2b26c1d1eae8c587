package dev.keepalive.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import tlschannel.HeapBufferAllocator;

/** Released tls-channel buffers are reused by capacity, cleared, and kept only up to the bound. */
class RecyclingAllocatorTest {
  @Test
  void aReleasedBufferIsReusedForTheSameSizeOnlyAndCleared() {
    RecyclingAllocator a = new RecyclingAllocator(new HeapBufferAllocator(), 4);
    ByteBuffer b = a.allocate(1024);
    b.put((byte) 1).flip();
    a.free(b);
    assertThat(a.allocate(2048))
        .isNotSameAs(b)
        .satisfies(x -> assertThat(x.capacity()).isEqualTo(2048));
    ByteBuffer again = a.allocate(1024);
    assertThat(again).isSameAs(b);
    assertThat(again.position()).isZero();
    assertThat(again.limit()).isEqualTo(1024);
    assertThat(a.freeCount()).isZero();
  }

  @Test
  void noMoreThanTheBoundWaitForReuse() {
    RecyclingAllocator a = new RecyclingAllocator(new HeapBufferAllocator(), 2);
    for (int i = 0; i < 5; i++) {
      a.free(ByteBuffer.allocate(64));
    }
    assertThat(a.freeCount()).isEqualTo(2);
    a.allocate(64);
    a.allocate(64);
    assertThat(a.freeCount()).isZero();
    assertThat(a.allocate(64).capacity()).isEqualTo(64); // a fresh one
  }
}
