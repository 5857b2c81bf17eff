package io.agentcube.proxy.logs;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

/** {@code log.format: json}: one parseable object per line, whatever the strings contain. */
class JsonLogEncoderTest {

  /** Strings a log line may carry from a client or a sandbox: quotes, breaks, controls, unicode. */
  private static final List<String> HOSTILE = List.of(
      "say \"hi\"", "back\\slash\\", "line\nbreak", "carriage\rreturn", "tab\there",
      "nul\u0000byte", "bell\u0007 esc\u001b[31m unit\u001f del\u007f",
      "sep\u2028line\u2029para", "é ü 漢字 😀", "}{\"level\":\"ERROR\"}", "{\n\"forged\": true\n}",
      "</script><!--", "");

  private final LoggerContext context = new LoggerContext();
  private final Logger logger = context.getLogger("io.agentcube.Test");
  private final JsonLogEncoder encoder = new JsonLogEncoder();

  JsonLogEncoderTest() {
    encoder.setContext(context);
    encoder.start();
  }

  private String encode(LoggingEvent event) {
    return new String(encoder.encode(event), StandardCharsets.UTF_8);
  }

  @Test
  void encode_hostileMessageAndFields_oneLineThatParsesBack() {
    for (String s : HOSTILE) {
      LoggingEvent event = new LoggingEvent("fqcn", logger, Level.INFO, "got {} here", null, new Object[] {s});
      event.addKeyValuePair(new KeyValuePair("path", s));

      String out = encode(event);

      assertThat(out).as("for %s", s).endsWith("\n");
      String line = out.substring(0, out.length() - 1);
      assertThat(line).as("one line for %s", s).doesNotContain("\n", "\r", "\u2028", "\u2029");
      assertThat(line.chars().filter(c -> c < 0x20 || c > 0x7e)).as("pure printable ASCII for %s", s).isEmpty();
      JsonObject json = new JsonObject(line);
      assertThat(json.getString("message")).isEqualTo("got " + s + " here");
      assertThat(json.getString("path")).isEqualTo(s);
      assertThat(json.getString("level")).isEqualTo("INFO");
      assertThat(json.fieldNames()).containsExactly("time", "level", "logger", "thread", "message", "path");
    }
  }

  @Test
  void encode_loneSurrogate_stillValidJsonOnOneLine() {
    LoggingEvent event = new LoggingEvent("fqcn", logger, Level.WARN, "half \uD83D pair", null, null);

    String out = encode(event);

    assertThat(out.indexOf('\n')).isEqualTo(out.length() - 1);
    assertThat(new JsonObject(out.trim()).getString("message")).startsWith("half ").endsWith(" pair");
  }

  @Test
  void encode_typedFields_stayTyped_andFixedNamesAreNotOverwritten() {
    LoggingEvent event = new LoggingEvent("fqcn", logger, Level.INFO, "request", null, null);
    event.addKeyValuePair(new KeyValuePair("status", 200));
    event.addKeyValuePair(new KeyValuePair("durationMs", 1.5));
    event.addKeyValuePair(new KeyValuePair("ok", true));
    event.addKeyValuePair(new KeyValuePair("session", null));
    event.addKeyValuePair(new KeyValuePair("level", "forged"));
    event.addKeyValuePair(new KeyValuePair("message", "forged"));

    JsonObject json = new JsonObject(encode(event).trim());

    assertThat(json.getValue("status")).isEqualTo(200);
    assertThat(json.getValue("durationMs")).isEqualTo(1.5);
    assertThat(json.getValue("ok")).isEqualTo(true);
    assertThat(json.containsKey("session")).isTrue();
    assertThat(json.getValue("session")).isNull();
    assertThat(json.getString("level")).isEqualTo("INFO");
    assertThat(json.getString("message")).isEqualTo("request");
    assertThat(json.getString("kv_level")).isEqualTo("forged");
    assertThat(json.getString("kv_message")).isEqualTo("forged");
    assertThat(json.getString("time")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");
    assertThat(json.getString("logger")).isEqualTo("io.agentcube.Test");
  }

  @Test
  void encode_exception_wholeStackTraceInOneField() {
    Exception e = new IllegalStateException("bad \"state\"\nsecond line", new RuntimeException("cause"));
    LoggingEvent event = new LoggingEvent("fqcn", logger, Level.ERROR, "failed", e, null);

    String out = encode(event);

    assertThat(out.indexOf('\n')).isEqualTo(out.length() - 1);
    String trace = new JsonObject(out.trim()).getString("exception");
    assertThat(trace).contains("IllegalStateException: bad \"state\"\nsecond line", "Caused by: ",
        "JsonLogEncoderTest");
  }
}
