package io.agentcube.sandboxd;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON in and out with Jackson's streaming core only (no data binding: it is small and starts
 * fast). Values are plain Java: {@code Map<String, Object>} (insertion-ordered), {@code List},
 * {@code String}, {@code Number}, {@code Boolean} and {@code null}.
 *
 * <p>Thread-safe: the factory is shared, parsers and generators are per call.
 */
final class Json {

  /**
   * Shared factory; nesting kept shallow, strings may be as long as a request body allows. The
   * parser never closes its source: closing a request body early makes the HTTP server drop the
   * connection, and the client would see a reset instead of our error response.
   */
  static final JsonFactory FACTORY =
      JsonFactory.builder()
          .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(64)
                  .maxStringLength(Integer.MAX_VALUE)
                  .build())
          .build();

  private Json() {}

  /**
   * Reads one JSON object from {@code in}.
   *
   * @throws SandboxdException 400 when the input is not a JSON object
   * @throws IOException when reading fails (a {@link PayloadTooLargeException} passes through)
   */
  static Map<String, Object> readObject(InputStream in) throws IOException {
    try (JsonParser parser = FACTORY.createParser(in)) {
      JsonToken first = parser.nextToken();
      if (first != JsonToken.START_OBJECT) {
        throw SandboxdException.badRequest("request body must be a JSON object");
      }
      return readObjectBody(parser);
    } catch (JsonProcessingException e) {
      throw SandboxdException.badRequest("malformed JSON: " + e.getOriginalMessage());
    }
  }

  /** Reads the fields of an object whose START_OBJECT the parser has just returned. */
  static Map<String, Object> readObjectBody(JsonParser parser) throws IOException {
    Map<String, Object> out = new LinkedHashMap<>();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      parser.nextToken();
      out.put(name, readValue(parser));
    }
    return out;
  }

  private static Object readValue(JsonParser parser) throws IOException {
    JsonToken token = parser.currentToken();
    switch (token) {
      case START_OBJECT:
        return readObjectBody(parser);
      case START_ARRAY:
        List<Object> list = new ArrayList<>();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          list.add(readValue(parser));
        }
        return list;
      case VALUE_STRING:
        return parser.getText();
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return parser.getNumberValue();
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return null;
      default:
        throw SandboxdException.badRequest("malformed JSON: unexpected " + token);
    }
  }

  /** Serializes a value tree (see the class comment) to UTF-8 bytes. */
  static byte[] write(Object value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator gen = FACTORY.createGenerator(out)) {
      writeValue(gen, value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeValue(JsonGenerator gen, Object value) throws IOException {
    if (value == null) {
      gen.writeNull();
    } else if (value instanceof String) {
      gen.writeString((String) value);
    } else if (value instanceof Boolean) {
      gen.writeBoolean((Boolean) value);
    } else if (value instanceof Integer || value instanceof Long) {
      gen.writeNumber(((Number) value).longValue());
    } else if (value instanceof Number) {
      gen.writeNumber(((Number) value).doubleValue());
    } else if (value instanceof Map) {
      gen.writeStartObject();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        gen.writeFieldName(String.valueOf(e.getKey()));
        writeValue(gen, e.getValue());
      }
      gen.writeEndObject();
    } else if (value instanceof List) {
      gen.writeStartArray();
      for (Object item : (List<?>) value) {
        writeValue(gen, item);
      }
      gen.writeEndArray();
    } else {
      gen.writeString(value.toString());
    }
  }
}
