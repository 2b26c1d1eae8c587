package dev.keepalive.http;

import dev.keepalive.Connection;
import dev.keepalive.http.internal.ResponseDecoder;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;

/**
 * The body of a streamed response: decodes the connection's input (blocking reads through
 * {@link Connection#inputStream()} on the reader's thread) as it is read, so at most one read
 * buffer of input is held whatever the body's size. At the body's end the connection goes back
 * to the pool (or is discarded when the response forbids reuse); closed before the end, or
 * failed, the connection is discarded.
 */
final class StreamingBody extends BodyStream {
  private static final int READ_BUFFER = 16 * 1024;

  private final Exchange exchange;
  private final Connection connection;
  private final ResponseDecoder decoder;
  private final byte[] buf;
  private ByteBuffer input;
  private HttpResponse response;
  private boolean finished;
  private IOException failure;

  StreamingBody(
      Exchange exchange, Connection connection, ResponseDecoder decoder, ByteBuffer rest) {
    this.exchange = exchange;
    this.connection = connection;
    this.decoder = decoder;
    if (rest.hasArray() && rest.arrayOffset() == 0 && rest.array().length >= READ_BUFFER) {
      this.buf = rest.array(); // the head reader's buffer: it is done with it
      this.input = rest;
    } else {
      this.buf = new byte[READ_BUFFER];
      byte[] copy = new byte[rest.remaining()];
      rest.get(copy);
      this.input = ByteBuffer.wrap(copy);
    }
  }

  void response(HttpResponse r) {
    this.response = r;
  }

  @Override
  int readBody(byte[] b, int off, int len) throws IOException {
    if (failure != null) {
      throw failure;
    }
    if (len == 0) {
      return 0;
    }
    try {
      while (true) {
        if (finished) {
          return -1;
        }
        ByteBuffer s = decoder.readBody(input, len);
        if (s != null) {
          int n = s.remaining();
          s.get(b, off, n);
          if (decoder.isComplete()) {
            complete();
          }
          return n;
        }
        if (decoder.isComplete()) {
          complete();
          return -1;
        }
        // the decoder took all input: read more
        int n = connection.inputStream().read(buf, 0, buf.length);
        if (n < 0) {
          decoder.endOfInput(); // completes a close-delimited body, else throws
          complete();
          return -1;
        }
        input = ByteBuffer.wrap(buf, 0, n);
      }
    } catch (HttpException e) {
      throw fail(e);
    } catch (SocketTimeoutException e) {
      throw fail(new HttpException(
          "receive",
          "timed out after " + exchange.bodyReadTimeout() + " waiting for body bytes",
          e));
    } catch (IOException e) {
      throw fail(new HttpException("receive", "reading the response body failed: " + e, e));
    }
  }

  /** The body ended: trailers are known, the connection goes back (or is discarded). */
  synchronized void complete() {
    if (finished) {
      return;
    }
    finished = true;
    response.trailers(HttpHeaders.wrap(decoder.trailers()));
    exchange.giveBack(connection, decoder, input.hasRemaining());
  }

  private HttpException fail(HttpException e) {
    failure = e;
    finished = true;
    connection.discard();
    return e;
  }

  @Override
  public synchronized int available() {
    if (finished || isClosed()) {
      return 0;
    }
    switch (decoder.framing()) {
      case LENGTH:
        return (int) Math.min(input.remaining(), decoder.contentLength() - decoder.bodyBytes());
      case UNTIL_CLOSE:
        return input.remaining();
      default:
        return 0; // chunk framing may hide in the buffered bytes
    }
  }

  /** A body not read to its end discards the connection. */
  @Override
  void onClose() {
    if (!finished) {
      finished = true;
      connection.discard();
    }
  }
}
