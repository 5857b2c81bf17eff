package io.agentcube.proxy.logs;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import io.agentcube.proxy.config.ProxyConfig;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code log.format} to the console appender of the shipped {@code logback.xml} (the
 * appender named {@value #APPENDER}): {@code text} keeps its pattern, {@code json} gives it a
 * {@link JsonLogEncoder}. A logback configuration of the operator's own
 * ({@code -Dlogback.configurationFile}) without that appender, or another SLF4J backend, is left
 * alone: its file decides the format.
 *
 * <p>Called once at start-up, before the proxy starts (so before any event loop logs).
 */
public final class Logs {

  static final String APPENDER = "STDOUT";

  private Logs() {}

  /** @return whether the format was applied (false: not logback, or no {@value #APPENDER} appender) */
  public static boolean configure(ProxyConfig config) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext context)) {
      return false;
    }
    Appender<ILoggingEvent> appender = context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(APPENDER);
    if (!(appender instanceof OutputStreamAppender<ILoggingEvent> console)) {
      return false;
    }
    if (config.string("log.format").equals("json")) {
      JsonLogEncoder json = new JsonLogEncoder();
      json.setContext(context);
      json.start();
      console.setEncoder(json);
    }
    return true;
  }
}
