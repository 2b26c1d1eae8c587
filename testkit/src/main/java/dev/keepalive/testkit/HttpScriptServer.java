package dev.keepalive.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ServerSocketFactory;
import javax.net.ssl.SSLContext;

/**
 * The HTTP layer over the kit's scripted servers: an HTTP server on 127.0.0.1 whose every
 * connection runs a {@link Script} on a thread of its own, with a {@link Peer} to read requests
 * and write raw bytes, so that a test can answer well or misbehave on purpose. It records every
 * request, the connections on which the client closed its side, and every script failure; the
 * connection is closed when its script returns. Over TLS too ({@link #overTls}).
 */
public final class HttpScriptServer implements AutoCloseable {
  /** What the server does on one connection. */
  @FunctionalInterface
  public interface Script {
    void run(Peer peer) throws Exception;
  }

  /** A request as the server read it: its connection's number (1, 2...), line, head and body. */
  public record Request(
      int connection,
      String method,
      String target,
      Map<String, List<String>> headers,
      byte[] body) {
    /** The first value of header {@code name} (any case), or null. */
    public String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null ? null : v.get(0);
    }
  }

  private final AcceptingServer tcp;
  private final AtomicInteger connections = new AtomicInteger();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<Throwable> errors = new CopyOnWriteArrayList<>();
  private final AtomicInteger clientCloses = new AtomicInteger();

  public HttpScriptServer(Script script) {
    this(ServerSocketFactory.getDefault(), script);
  }

  private HttpScriptServer(ServerSocketFactory factory, Script script) {
    try {
      tcp = new AcceptingServer(
          "http-script", factory.createServerSocket(), Loopback.ipv4(), s -> serve(script, s));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An https server: TLS with the server side of {@code context}. */
  public static HttpScriptServer overTls(SSLContext context, Script script) {
    return new HttpScriptServer(context.getServerSocketFactory(), script);
  }

  /** Answers every request on a connection with {@code response}, keeping the connection. */
  public static HttpScriptServer answering(String response) {
    return new HttpScriptServer(p -> {
      while (p.readRequest() != null) {
        p.write(response);
      }
    });
  }

  private void serve(Script script, Socket s) {
    int index = connections.incrementAndGet();
    try (s) {
      script.run(new Peer(s, index));
    } catch (Throwable e) {
      if (!tcp.acceptLoop().isClosed()) {
        errors.add(e);
      }
    }
  }

  public int port() {
    return tcp.port();
  }

  /** http://127.0.0.1:port{@code path}. */
  public String url(String path) {
    return "http://127.0.0.1:" + port() + path;
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Every request read so far, in order. */
  public List<Request> requests() {
    return requests;
  }

  /** Connections on which the script saw the client close its side (see {@link Peer#awaitEof}). */
  public int clientCloses() {
    return clientCloses.get();
  }

  /** What scripts threw, other than while the server closes. */
  public List<Throwable> errors() {
    return errors;
  }

  /** The accept loop, for the kit's own tests. */
  AcceptLoop<Socket> acceptLoop() {
    return tcp.acceptLoop();
  }

  @Override
  public void close() {
    tcp.close();
  }

  /** The server's side of one connection. */
  public final class Peer {
    private final Socket socket;
    private final int index;
    private final InputStream in;
    private final OutputStream out;

    Peer(Socket socket, int index) throws IOException {
      this.socket = socket;
      this.index = index;
      socket.setTcpNoDelay(true);
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
    }

    /** The connection's number: 1 for the first one accepted, and so on. */
    public int index() {
      return index;
    }

    /**
     * Reads one request (head, then a Content-Length body); null when the client closed the
     * connection before sending a byte of it.
     */
    public Request readRequest() throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int state = 0; // how much of CRLFCRLF was matched
      while (state < 4) {
        int b = in.read();
        if (b < 0) {
          if (head.size() == 0) {
            clientCloses.incrementAndGet();
            return null;
          }
          throw new IOException("client closed in the middle of a request head");
        }
        head.write(b);
        state = (b == '\r' && (state == 0 || state == 2))
            ? state + 1
            : (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
      }
      String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
      String[] requestLine = lines[0].split(" ");
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers
            .computeIfAbsent(
                lines[i].substring(0, colon).toLowerCase(Locale.ROOT), k -> new ArrayList<>())
            .add(lines[i].substring(colon + 1).trim());
      }
      byte[] body = new byte[0];
      List<String> length = headers.get("content-length");
      if (length != null) {
        body = in.readNBytes(Integer.parseInt(length.get(0)));
      }
      Request r = new Request(index, requestLine[0], requestLine[1], headers, body);
      requests.add(r);
      return r;
    }

    /** Writes {@code s} (ISO-8859-1) at once. */
    public void write(String s) throws IOException {
      write(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    public void write(byte[] b) throws IOException {
      out.write(b);
      out.flush();
    }

    /** Waits until the client closes its side (EOF or reset), ignoring any bytes before. */
    public void awaitEof() {
      try {
        byte[] sink = new byte[4096];
        while (in.read(sink) >= 0) {
          // drain
        }
      } catch (IOException e) {
        // reset: closed too
      }
      clientCloses.incrementAndGet();
    }

    /** Closes with a TCP reset instead of a FIN. */
    public void reset() throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }
  }
}
