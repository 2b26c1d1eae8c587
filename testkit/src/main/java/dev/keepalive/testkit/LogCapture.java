package dev.keepalive.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * The formatted messages a {@link System.Logger} (through java.util.logging, the JDK's default
 * backend) writes under one logger name at DEBUG (FINE) and above, while open. Close restores the
 * logger's level.
 */
public final class LogCapture implements AutoCloseable {
  private final Logger logger;
  private final Level before;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Handler handler = new Handler() {
    private final SimpleFormatter format = new SimpleFormatter();

    @Override
    public void publish(LogRecord r) {
      lines.add(format.formatMessage(r));
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };

  private LogCapture(String name) {
    this.logger = Logger.getLogger(name);
    this.before = logger.getLevel();
    logger.setLevel(Level.FINE);
    logger.addHandler(handler);
  }

  /** Starts capturing what {@code name} (and the loggers under it) logs at DEBUG and above. */
  public static LogCapture debug(String name) {
    return new LogCapture(name);
  }

  /** The messages so far, formatted, in order. */
  public List<String> lines() {
    return new ArrayList<>(lines);
  }

  @Override
  public void close() {
    logger.removeHandler(handler);
    logger.setLevel(before);
  }
}
