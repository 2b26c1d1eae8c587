package dev.keepalive.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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

/**
 * A scripted HTTP server on 127.0.0.1 for tests: each accepted connection runs the script on
 * its own daemon thread, with a {@link Peer} to read requests and write raw bytes, so a test
 * can answer well or misbehave on purpose. Records every request and every script failure.
 */
final class ScriptServer implements AutoCloseable {
  /** What the server does on one connection. */
  interface Script {
    void run(Peer peer) throws Exception;
  }

  /** A request as the server read it. */
  record Request(int connection, String method, String target, Map<String, List<String>> headers,
      byte[] body) {
    String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null ? null : v.get(0);
    }
  }

  private final ServerSocket server;
  private final Script script;
  private final AtomicInteger connections = new AtomicInteger();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<Throwable> errors = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger clientCloses = new AtomicInteger();

  ScriptServer(Script script) {
    this(ServerSocketFactory.getDefault(), script);
  }

  ScriptServer(ServerSocketFactory factory, Script script) {
    this.script = script;
    try {
      server = factory.createServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread t = new Thread(this::acceptLoop, "script-server-" + server.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  /** Answers every request on a connection with {@code response}, keeping the connection. */
  static ScriptServer answering(String response) {
    return new ScriptServer(p -> {
      while (p.readRequest() != null) {
        p.write(response);
      }
    });
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        return;
      }
      sockets.add(s);
      int index = connections.incrementAndGet();
      Thread t = new Thread(() -> {
        Peer p = new Peer(s, index);
        try {
          script.run(p);
        } catch (Throwable e) {
          if (!server.isClosed()) {
            errors.add(e);
          }
        } finally {
          try {
            s.close();
          } catch (IOException ignored) {
            // closing
          }
        }
      }, "script-conn-" + index);
      t.setDaemon(true);
      t.start();
    }
  }

  int port() {
    return server.getLocalPort();
  }

  String url(String path) {
    return "http://127.0.0.1:" + port() + path;
  }

  /** Connections accepted so far. */
  int connections() {
    return connections.get();
  }

  List<Request> requests() {
    return requests;
  }

  /** Connections on which the script saw the client close its side (see {@link Peer#awaitEof}). */
  int clientCloses() {
    return clientCloses.get();
  }

  /** Failures of scripts (other than the server being closed). */
  List<Throwable> errors() {
    return errors;
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  /** The server's side of one connection. */
  final class Peer {
    final Socket socket;
    final int index;
    final InputStream in;
    final OutputStream out;

    Peer(Socket socket, int index) {
      this.socket = socket;
      this.index = index;
      try {
        socket.setTcpNoDelay(true);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /**
     * Reads one request (head, then a Content-Length body); null when the client closed the
     * connection before sending a byte of it.
     */
    Request readRequest() throws IOException {
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
        state = (b == '\r' && (state == 0 || state == 2)) ? state + 1
            : (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
      }
      String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
      String[] requestLine = lines[0].split(" ");
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.computeIfAbsent(lines[i].substring(0, colon).toLowerCase(Locale.ROOT),
            k -> new ArrayList<>()).add(lines[i].substring(colon + 1).trim());
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

    void write(String s) throws IOException {
      write(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    void write(byte[] b) throws IOException {
      out.write(b);
      out.flush();
    }

    /** Waits until the client closes its side (EOF or reset), ignoring any bytes before. */
    void awaitEof() {
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
    void reset() throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }
  }
}
