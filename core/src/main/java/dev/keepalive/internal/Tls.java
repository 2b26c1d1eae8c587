package dev.keepalive.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import tlschannel.BufferAllocator;
import tlschannel.HeapBufferAllocator;
import tlschannel.NeedsReadException;
import tlschannel.NeedsTaskException;
import tlschannel.NeedsWriteException;
import tlschannel.TrackingAllocator;
import tlschannel.impl.TlsChannelImpl;

/**
 * The TLS stage, for the sockets of TLS schemes: after the TCP connect, a tls-channel
 * {@link TlsChannelImpl} (what its {@code ClientTlsChannel} wraps) over the non-blocking socket
 * runs the handshake on the event loop, one
 * step per readiness, so it never blocks the loop. The socket is still connecting for the pool
 * until the handshake is done, so the request's timeout and deallocate() cover it. A failed
 * handshake fails with "sslify".
 *
 * <p>Secure by default: SNI set to the host name (never for a literal address), host name
 * verification on ("HTTPS" endpoint identification), TLS 1.3 and 1.2 only. Engines are created
 * with the peer's host and port, so the JDK resumes sessions for new connections to one host.
 * User {@link SSLParameters} replace these defaults, except that SNI is added when they name no
 * server.
 *
 * <p>Memory of an idle TLS socket: tls-channel is built as {@code ClientTlsChannel} would build
 * it, with its buffers released whenever empty ({@code releaseBuffers}), but with two
 * differences. Its allocator wrappers ({@link TrackingAllocator}: statistics nobody reads here,
 * six counters each) are shared by this manager's sockets instead of two per socket. And the
 * plaintext buffer it allocates during the handshake, which it never releases (it releases that
 * buffer only after handing plaintext out of it, and a handshake produces none), is a
 * {@value #TINY_PLAIN}-byte buffer instead of 4 KiB: see {@link #PLAIN}.
 */
final class Tls implements ConnectStage {
  private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  /**
   * Capacity of tls-channel's plaintext buffer while nothing has needed a larger one. Not a power
   * of two, so that tls-channel's doubling from it never asks for exactly its initial size again.
   */
  static final int TINY_PLAIN = 5;

  /**
   * Heap buffers, except that tls-channel's request for its initial plaintext buffer ({@link
   * TlsChannelImpl#buffersInitialSize}) gets {@value #TINY_PLAIN} bytes. tls-channel prepares that
   * buffer in the handshake and as overflow space when a caller's buffer is too small for a
   * record; the JDK's engine asks for room only once the handshake is over, and then tls-channel
   * doubles the buffer until the record fits (from 5: 10, 20, ..., 17,408 at most, never 4,096
   * again) and releases it once emptied. So a socket whose handshake is done holds 5 bytes (or, if
   * a post-handshake message such as a session ticket was read through a small buffer, a buffer
   * of about that message's size) instead of 4 KiB. Stateless: holder threads share it.
   */
  static final BufferAllocator PLAIN = new BufferAllocator() {
    @Override
    public ByteBuffer allocate(int size) {
      return ByteBuffer.allocate(size == TlsChannelImpl.buffersInitialSize ? TINY_PLAIN : size);
    }

    @Override
    public void free(ByteBuffer buffer) {
      // the GC does it
    }
  };

  /** Most released buffers of each kind a manager keeps for reuse ({@link RecyclingAllocator}). */
  static final int RECYCLED_BUFFERS = 64;

  /**
   * tls-channel's statistics wrappers, one pair for all of this manager's sockets, over buffers
   * recycled between its sockets.
   */
  private final TrackingAllocator plainBuffers =
      new TrackingAllocator(new RecyclingAllocator(PLAIN, RECYCLED_BUFFERS));

  private final TrackingAllocator encryptedBuffers =
      new TrackingAllocator(new RecyclingAllocator(new HeapBufferAllocator(), RECYCLED_BUFFERS));

  private final EventLoop loop;
  private final Settings settings;
  private final Progress progress;
  /** Where the engines' delegated tasks run; null: on the loop, inside tls-channel. */
  private final Executor tasks;

  private SSLContext context;

  Tls(EventLoop loop, Settings settings, Progress progress) {
    this.loop = loop;
    this.settings = settings;
    this.progress = progress;
    this.tasks = settings.tlsTaskExecutor();
  }

  /** {@code s} is connected over TCP: start its handshake. */
  @Override
  public Failure start(SocketIo s) {
    try {
      SSLEngine engine = engine(s);
      s.records = new TlsRecordTracker(s.channel);
      // what ClientTlsChannel.newBuilder(s.records, engine).build() makes, minus its own
      // allocator wrappers (see the class comment)
      s.tls = new TlsChannelImpl(
          s.records,
          s.records,
          engine,
          Optional.empty(),
          session -> {},
          tasks == null, // else tls-channel hands them out: see runTask
          plainBuffers,
          encryptedBuffers,
          true,
          false);
    } catch (GeneralSecurityException | RuntimeException e) {
      return failure(e);
    }
    onReady(s);
    return null;
  }

  /** One step of {@code s}'s handshake; called again on the readiness it asks for. */
  @Override
  public void onReady(SocketIo s) {
    try {
      s.tls.handshake();
    } catch (NeedsReadException e) {
      s.interest(SelectionKey.OP_READ);
      return;
    } catch (NeedsWriteException e) {
      s.interest(SelectionKey.OP_WRITE);
      return;
    } catch (NeedsTaskException e) {
      s.interest(0);
      runTask(s, e.getTask());
      return;
    } catch (IOException | RuntimeException e) {
      progress.failed(s, failure(e));
      return;
    }
    s.interest(0);
    s.transport = new TlsTransport(s.tls, s.records);
    progress.done(s);
  }

  /**
   * With a task executor ({@code Builder.tlsTaskExecutor}): runs a delegated task of {@code s}'s
   * engine (the handshake's CPU work: key agreement, certificate validation through the trust
   * manager, which may block to fetch revocation data) there, and the handshake's next step back
   * on the loop; meanwhile the socket waits for nothing and the loop serves everything else. A
   * socket closed meanwhile (its request timed out or was cancelled, the manager closed) is not
   * touched again. Where the executor refuses the task, it runs here, as it does without one.
   */
  private void runTask(SocketIo s, Runnable task) {
    TlsChannelImpl tls = s.tls;
    Runnable next = () -> {
      if (!s.closed && s.tls == tls) {
        onReady(s);
      }
    };
    try {
      tasks.execute(() -> {
        try {
          task.run(); // the engine keeps what the task throws and raises it at the next step
        } finally {
          loop.execute(next); // false once the loop has ended: nothing is left to do
        }
      });
    } catch (RejectedExecutionException e) {
      task.run();
      next.run();
    }
  }

  private SSLEngine engine(SocketIo s) throws GeneralSecurityException {
    SSLContext ctx = context();
    SSLEngine engine = ctx.createSSLEngine(s.host, s.port);
    engine.setUseClientMode(true);
    SSLParameters user = settings.sslParameters();
    if (user != null) {
      engine.setSSLParameters(user);
    } else {
      SSLParameters p = engine.getSSLParameters();
      List<String> supported = Arrays.asList(engine.getSupportedProtocols());
      List<String> protocols = new ArrayList<>();
      for (String proto : PROTOCOLS) {
        if (supported.contains(proto)) {
          protocols.add(proto);
        }
      }
      p.setProtocols(protocols.toArray(new String[0]));
      p.setEndpointIdentificationAlgorithm("HTTPS");
      keepContextLists(p);
      engine.setSSLParameters(p);
    }
    SSLParameters p = engine.getSSLParameters();
    List<SNIServerName> names = p.getServerNames();
    if ((names == null || names.isEmpty()) && !s.literalHost) {
      p.setServerNames(List.of(new SNIHostName(s.host)));
      keepContextLists(p);
      p.setProtocols(null); // set above already: keep that list
      engine.setSSLParameters(p);
    }
    return engine;
  }

  /**
   * Leaves the engine's cipher suite list as it is: {@code getSSLParameters()} hands out a copy of
   * it, and setting that copy back would give every engine its own list of the same 40-odd suites
   * (about 220 bytes held per connection); a null leaves the one the context's engines share.
   */
  private static void keepContextLists(SSLParameters p) {
    p.setCipherSuites(null);
  }

  private SSLContext context() throws GeneralSecurityException {
    if (context == null) {
      context = settings.sslContext() != null ? settings.sslContext() : SSLContext.getDefault();
    }
    return context;
  }

  static Failure failure(Throwable e) {
    String text = e.getMessage();
    if (e instanceof EOFException || e instanceof ClosedChannelException) {
      text = "Connection closed by peer during the TLS handshake";
    } else if (text == null) {
      text = e.getClass().getName();
    }
    return new Failure(Failure.Function.SSLIFY, null, text);
  }
}
