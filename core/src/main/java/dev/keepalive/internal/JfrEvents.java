package dev.keepalive.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/**
 * keepalive's JDK Flight Recorder events, {@code dev.keepalive.*}. JFR calls cost nothing
 * measurable until a recording enables them: each begins with {@link #running()} (has Flight
 * Recorder started in this JVM?), then a check of the event class's enabled flag ({@link
 * Event#isEnabled()} on a shared instance), and only then allocates an event.
 *
 * <p>Defaults keep the default profile cheap: the per-socket events (connect, TLS handshake,
 * close) are enabled with no threshold (they scale with connection churn, not requests); the
 * per-request {@link Acquire} is recorded only when a request waited 10 ms or more; {@link Leak}
 * always. None records a stack trace. Override with the usual JFR settings, e.g. {@code
 * -XX:StartFlightRecording:dev.keepalive.Acquire#threshold=0ms} (JDK 17+).
 *
 * <p>jdk.jfr is an optional module ({@code requires static}): where it is missing (a jlinked
 * runtime without it) {@link #AVAILABLE} is false and nothing here is loaded.
 */
final class JfrEvents {
  private JfrEvents() {}

  /** True when the runtime has jdk.jfr (and, as a named module, this module reads it). */
  static final boolean AVAILABLE = available();

  private static boolean available() {
    try {
      return ModuleLayer.boot().findModule("jdk.jfr").isPresent();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /**
   * True once Flight Recorder runs in this JVM (a recording was started: on the command line,
   * through jcmd, or by the JFR API); only then are the event classes touched. A volatile read
   * of one small class: until then none of JFR's own machinery (some 100 classes, loaded when an
   * event class is first used) is loaded, which a short command such as {@code keepalive get}
   * would otherwise pay at start-up.
   */
  static boolean running() {
    return AVAILABLE && jdk.jfr.FlightRecorder.isInitialized();
  }

  /**
   * What every keepalive event names: the pool key's scheme, host and port (JFR records the fields
   * of an abstract event superclass with each subclass's own).
   */
  abstract static class KeyEvent extends Event {
    @Label("Scheme")
    String scheme;

    @Label("Host")
    String host;

    @Label("Port")
    int port;
  }

  /** One TCP connect attempt (one address of the host). */
  @Name("dev.keepalive.Connect")
  @Label("Connect")
  @Category({"Keepalive"})
  @Description("A TCP connect attempt of a keepalive connection manager")
  @StackTrace(false)
  @Threshold("0 ms")
  @Enabled(true)
  static final class Connect extends KeyEvent {
    static final Connect PROBE = new Connect();

    @Label("Remote Address")
    @Description("The address tried (the proxy's, through a proxy)")
    String remoteAddress;

    @Label("Error")
    @Description("Why the attempt failed; null when it connected")
    String error;
  }

  /** One TLS handshake, after the TCP connect (and tunnel). */
  @Name("dev.keepalive.TlsHandshake")
  @Label("TLS Handshake")
  @Category({"Keepalive"})
  @Description("A TLS handshake of a keepalive connection manager's socket")
  @StackTrace(false)
  @Threshold("0 ms")
  @Enabled(true)
  static final class TlsHandshake extends KeyEvent {
    static final TlsHandshake PROBE = new TlsHandshake();

    @Label("Protocol")
    String protocol;

    @Label("Cipher Suite")
    String cipherSuite;

    @Label("Error")
    @Description("Why the handshake failed; null when it succeeded")
    String error;
  }

  /** One request, from allocate() to its answer: how long it waited, and how it ended. */
  @Name("dev.keepalive.Acquire")
  @Label("Acquire")
  @Category({"Keepalive"})
  @Description("A request for a connection, from allocate() to its answer")
  @StackTrace(false)
  @Threshold("10 ms")
  @Enabled(true)
  static final class Acquire extends KeyEvent {
    static final Acquire PROBE = new Acquire();

    @Label("Request Id")
    long requestId;

    @Label("Outcome")
    @Description("NEW, IMMEDIATE, DEFERRED, or the failure: timeout, cancelled, the function")
    String outcome;

    @Label("Error")
    String error;
  }

  /** A socket closed, with its reason. */
  @Name("dev.keepalive.Close")
  @Label("Close")
  @Category({"Keepalive"})
  @Description("A socket of a keepalive connection manager closed, with its reason")
  @StackTrace(false)
  @Enabled(true)
  static final class Close extends KeyEvent {
    static final Close PROBE = new Close();

    @Label("Remote Address")
    String remoteAddress;

    @Label("Reason")
    @Description("The CloseReason")
    String reason;

    @Label("Age")
    @Timespan(Timespan.NANOSECONDS)
    long age;

    @Label("Uses")
    @Description("How many times it was handed out")
    int uses;
  }

  /** A connection held past the leak threshold, or reclaimed unreachable. */
  @Name("dev.keepalive.Leak")
  @Label("Leak")
  @Category({"Keepalive"})
  @Description("A connection held past the leak-detection threshold, or reclaimed unreachable")
  @StackTrace(false)
  @Enabled(true)
  static final class Leak extends KeyEvent {
    static final Leak PROBE = new Leak();

    @Label("Reclaimed")
    @Description("True: unreachable, its socket reclaimed; false: still held past the threshold")
    boolean reclaimed;

    @Label("Allocation Site")
    @Description("The caller of allocate() (its first frame outside the manager), when known")
    String allocationSite;
  }
}
