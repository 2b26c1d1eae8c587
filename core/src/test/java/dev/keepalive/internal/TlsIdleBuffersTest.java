package dev.keepalive.internal;

import static dev.keepalive.testing.Managers.assertNextServed;
import static dev.keepalive.testing.Managers.awaitStats;
import static dev.keepalive.testing.Managers.get;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keepalive.Allocation;
import dev.keepalive.Connection;
import dev.keepalive.ConnectionManager;
import dev.keepalive.FromCache;
import dev.keepalive.PoolStats;
import dev.keepalive.testkit.TestCertificates;
import dev.keepalive.testkit.TlsServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tlschannel.impl.BufferHolder;
import tlschannel.impl.TlsChannelImpl;

/**
 * What an idle TLS socket holds of tls-channel's buffers (issue 17): no ciphertext buffer, and a
 * plaintext buffer of {@link Tls#TINY_PLAIN} bytes, or about a session ticket's size once one was
 * read through a probe, never tls-channel's 4 KiB initial one; and that reads through buffers
 * smaller than a record (one byte at a time), which make tls-channel grow that tiny buffer, still
 * deliver every byte.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsIdleBuffersTest {
  private static final TestCertificates FIX = TestCertificates.get();

  @Test
  void thePlainAllocatorShrinksOnlyTlsChannelsInitialRequestAndGrowthNeverAsksForItAgain() {
    assertThat(Tls.PLAIN.allocate(TlsChannelImpl.buffersInitialSize).capacity())
        .isEqualTo(Tls.TINY_PLAIN);
    assertThat(Tls.PLAIN.allocate(8192).capacity()).isEqualTo(8192);
    // tls-channel's enlarge(): min(capacity * 2, maxTlsPacketSize)
    for (int c = Tls.TINY_PLAIN; c < TlsChannelImpl.maxTlsPacketSize; ) {
      c = Math.min(c * 2, TlsChannelImpl.maxTlsPacketSize);
      assertThat(c).isNotEqualTo(TlsChannelImpl.buffersInitialSize);
      assertThat(Tls.PLAIN.allocate(c).capacity()).isEqualTo(c);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void anIdleTlsSocketHoldsNoBufferAndOneByteReadsStillGetEveryByte(String protocol)
      throws Exception {
    try (TlsServer server = TlsServer.builder().protocols(protocol).build();
        ConnectionManager m =
            ConnectionManager.builder().sslContext(FIX.clientContext()).build()) {
      Allocation a = Allocation.to("https", "127.0.0.1", server.port());
      Connection c = get(m.allocate(a));
      assertThat(c.sslSession().getProtocol()).isEqualTo(protocol);
      TlsChannelImpl tls = ((LeasedConnection) c).lease.socket.tls;
      assertIdleBuffers(tls);

      // 20,000 bytes echoed: two full records and more; the first 10 read one byte at a time
      byte[] payload = new byte[20_000];
      new Random(17).nextBytes(payload);
      OutputStream out = c.outputStream();
      out.write(payload);
      out.flush();
      InputStream in = c.inputStream();
      byte[] back = new byte[payload.length];
      for (int i = 0; i < 10; i++) {
        int b = in.read();
        assertThat(b).isNotNegative();
        back[i] = (byte) b;
      }
      int n = in.readNBytes(back, 10, payload.length - 10);
      assertThat(n).isEqualTo(payload.length - 10);
      assertThat(back).isEqualTo(payload);

      c.close();
      awaitStats(m, new PoolStats(1, 1, 0, 0, 0));
      assertIdleBuffers(tls);

      // again on the reused socket, now through a 100-byte buffer
      Connection c2 = get(m.allocate(a));
      assertThat(c2.fromCache()).isEqualTo(FromCache.IMMEDIATE);
      c2.outputStream().write(payload);
      c2.outputStream().flush();
      ByteBuffer small = ByteBuffer.allocate(100);
      byte[] back2 = new byte[payload.length];
      int got = 0;
      while (got < payload.length) {
        small.clear().limit(Math.min(100, payload.length - got));
        int r = c2.inputStream().read(small.array(), 0, small.limit());
        assertThat(r).isPositive();
        System.arraycopy(small.array(), 0, back2, got, r);
        got += r;
      }
      assertThat(back2).isEqualTo(payload);
      c2.close();
      awaitStats(m, new PoolStats(1, 1, 0, 0, 0));
      assertIdleBuffers(tls);
      assertNextServed(m, a, FromCache.IMMEDIATE);
    }
  }

  /**
   * No ciphertext buffer, and a plaintext buffer well under tls-channel's 4 KiB, if any: read from
   * tls-channel's private buffer holders (test-only reflection; it also catches a tls-channel
   * upgrade that changes how they work).
   */
  private static void assertIdleBuffers(TlsChannelImpl tls) throws Exception {
    assertThat(held(tls, "inEncrypted")).isNull();
    assertThat(held(tls, "outEncrypted")).isNull();
    ByteBuffer plain = held(tls, "inPlain");
    if (plain != null) {
      assertThat(plain.capacity()).isLessThan(1024);
      assertThat(plain.position()).isZero();
    }
  }

  private static ByteBuffer held(TlsChannelImpl tls, String holder) throws Exception {
    Field f = TlsChannelImpl.class.getDeclaredField(holder);
    f.setAccessible(true);
    return ((BufferHolder) f.get(tls)).buffer;
  }
}
