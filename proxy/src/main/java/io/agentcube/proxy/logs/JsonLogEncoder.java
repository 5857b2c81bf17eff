package io.agentcube.proxy.logs;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.event.KeyValuePair;

/**
 * A logback encoder that writes each event as one JSON object on one line ({@code log.format:
 * json}): {@code time} (ISO-8601, UTC), {@code level}, {@code logger}, {@code thread},
 * {@code message}, then the event's key-value pairs as top-level fields (SLF4J's
 * {@code log.atInfo().addKeyValue("session", ...)}), then {@code exception} (the stack trace as
 * one string) when there is one.
 *
 * <p>Why not logback's own {@code JsonEncoder}: it nests key-value pairs as an array of one-field
 * objects ({@code "kvpList": [{"session": "..."}]}) and turns numbers into strings, where log
 * pipelines (Loki's {@code | json}, Elasticsearch, Cloud Logging) want flat, typed fields. The
 * JSON itself is written by Jackson's generator (the jackson-core that Vert.x brings), so escaping
 * of quotes, backslashes and control characters is Jackson's, never hand-written; with
 * {@code ESCAPE_NON_ASCII} every line is pure ASCII, so U+2028/U+2029 (line breaks to some
 * readers, e.g. Python's {@code splitlines}) and any other non-ASCII character arrive as
 * JSON escapes (backslash, u, four hex digits) and a line can only end at its newline. A key that would replace a
 * fixed field (or repeat one) is written with a {@code kv_} prefix instead.
 *
 * <p>Thread-safe: holds no state per event.
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {

  private static final JsonFactory JSON = new JsonFactoryBuilder()
      .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
      .characterEscapes(new AsciiEscapes())
      .build();

  /** JSON's standard escapes plus DEL (0x7f), which JSON allows raw but a terminal does not show. */
  private static final class AsciiEscapes extends CharacterEscapes {
    private final int[] ascii = standardAsciiEscapesForJSON();

    AsciiEscapes() {
      ascii[0x7f] = ESCAPE_STANDARD;
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return ascii;
    }

    @Override
    public SerializableString getEscapeSequence(int ch) {
      return null; // no custom sequences: ESCAPE_STANDARD writes the backslash-u form
    }
  }
  private static final List<String> FIXED = List.of("time", "level", "logger", "thread", "message", "exception");

  @Override
  public byte[] headerBytes() {
    return null;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("time", Instant.ofEpochMilli(event.getTimeStamp()).toString());
      g.writeStringField("level", event.getLevel().toString());
      g.writeStringField("logger", event.getLoggerName());
      g.writeStringField("thread", event.getThreadName());
      g.writeStringField("message", event.getFormattedMessage());
      List<KeyValuePair> pairs = event.getKeyValuePairs();
      if (pairs != null) {
        Set<String> written = new HashSet<>(FIXED);
        for (KeyValuePair kv : pairs) {
          if (kv.key == null) {
            continue;
          }
          String key = kv.key;
          while (!written.add(key)) {
            key = "kv_" + key;
          }
          g.writeFieldName(key);
          value(g, kv.value);
        }
      }
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        g.writeStringField("exception", ThrowableProxyUtil.asString(thrown));
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    out.write('\n');
    return out.toByteArray();
  }

  /** Numbers and booleans stay typed; anything else is its {@code toString()}. */
  private static void value(JsonGenerator g, Object v) throws IOException {
    if (v == null) {
      g.writeNull();
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      g.writeNumber(((Number) v).longValue());
    } else if (v instanceof Double || v instanceof Float) {
      g.writeNumber(((Number) v).doubleValue()); // NaN and infinities as strings (Jackson's default)
    } else if (v instanceof BigDecimal d) {
      g.writeNumber(d);
    } else if (v instanceof BigInteger i) {
      g.writeNumber(i);
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else {
      g.writeString(String.valueOf(v));
    }
  }

  @Override
  public byte[] footerBytes() {
    return null;
  }
}
