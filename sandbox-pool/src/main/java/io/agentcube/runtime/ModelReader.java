package io.agentcube.runtime;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads a document tree into the typed model, turning what Jackson cannot read into problems that
 * name the field ({@code spec.targetPort[0].port: must be an integer, was 'abc'}) instead of
 * stopping at the first one: the unreadable value is reported, taken out of the tree, and reading
 * starts again, so one run finds every such value of a document.
 *
 * <p>Reading is lenient where the API server would be too (unknown fields are dropped, as pruning
 * does) and strict where it would reject (a string where a number belongs, a fraction where an
 * integer belongs, an unknown enum value). Stateless and thread-safe.
 */
final class ModelReader {

  /** The mapper for runtime documents, configured as described above. */
  static final YAMLMapper MAPPER = YAMLMapper.builder()
      // Kubernetes prunes unknown fields; so do we (AgentCube adds fields such as networkPolicy).
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      // Kubernetes rejects "8080" for an integer and 1.5 for an int32; so do we.
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .build();

  /** Bounds the read-report-remove loop; a document has far fewer unreadable values. */
  private static final int MAX_MAPPING_PROBLEMS = 50;

  private ModelReader() {}

  /**
   * Maps {@code tree} to {@code type}; each value Jackson cannot read is reported by its field
   * path, removed from the tree (an array element becomes null) and reading starts again.
   *
   * @param problems receives one {@code field: message} line per value that cannot be read
   * @param unreadable receives the paths of the removed values, so that validation does not
   *     report them a second time as missing
   * @return the value, or {@code null} when the document cannot be read at all
   */
  static <R> R read(ObjectNode tree, Class<R> type, List<String> problems, List<String> unreadable) {
    for (int attempt = 0; attempt < MAX_MAPPING_PROBLEMS; attempt++) {
      try {
        return MAPPER.treeToValue(tree, type);
      } catch (JacksonException e) {
        List<JacksonException.Reference> path = e.getPath();
        String field = fieldPath(path);
        JsonNode parent = tree;
        for (int i = 0; i < path.size() - 1 && parent != null; i++) {
          parent = step(parent, path.get(i));
        }
        JacksonException.Reference last = path.isEmpty() ? null : path.get(path.size() - 1);
        JsonNode bad = parent == null || last == null ? null : step(parent, last);
        if (field.isEmpty() || bad == null || unreadable.contains(field)) {
          problems.add((field.isEmpty() ? "document" : field) + ": cannot be read: " + e.getOriginalMessage());
          return null;
        }
        problems.add(field + ": " + describeMismatch(e, bad));
        unreadable.add(field);
        if (parent instanceof ObjectNode o) {
          o.remove(last.getPropertyName());
        } else if (parent instanceof ArrayNode a) {
          a.set(last.getIndex(), MAPPER.nullNode());
        }
      }
    }
    problems.add("document: too many values that cannot be read");
    return null;
  }

  private static JsonNode step(JsonNode node, JacksonException.Reference ref) {
    if (ref.getPropertyName() != null) {
      return node.isObject() ? node.get(ref.getPropertyName()) : null;
    }
    return node.isArray() && ref.getIndex() >= 0 ? node.get(ref.getIndex()) : null;
  }

  private static String fieldPath(List<JacksonException.Reference> path) {
    StringBuilder sb = new StringBuilder();
    for (JacksonException.Reference ref : path) {
      if (ref.getPropertyName() != null) {
        sb.append(sb.length() > 0 ? "." : "").append(ref.getPropertyName());
      } else if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      }
    }
    return sb.toString();
  }

  /** "must be an integer, was 'abc'": what the field takes, from the type Jackson wanted. */
  private static String describeMismatch(JacksonException e, JsonNode bad) {
    String was = bad.isString() ? "'" + bad.asString() + "'"
        : bad.isArray() ? "a list" : bad.isObject() ? "an object" : bad.toString();
    Class<?> target = e instanceof MismatchedInputException m ? m.getTargetType() : null;
    if (target == null) {
      return "cannot be read (" + e.getOriginalMessage() + "), was " + was;
    }
    if (target.isEnum()) {
      List<String> names = new ArrayList<>();
      for (Object constant : target.getEnumConstants()) {
        names.add(MAPPER.valueToTree(constant).asString());
      }
      return "must be " + oneOf(names) + ", was " + was;
    }
    String expected;
    if (target == Integer.class || target == int.class || target == Long.class || target == long.class
        || target == Short.class || target == short.class) {
      expected = "an integer";
    } else if (Number.class.isAssignableFrom(target) || target == double.class || target == float.class) {
      expected = "a number";
    } else if (target == Boolean.class || target == boolean.class) {
      expected = "true or false";
    } else if (target == String.class) {
      expected = "a string";
    } else if (Collection.class.isAssignableFrom(target) || target.isArray()) {
      expected = "a list";
    } else {
      expected = "an object";
    }
    if (expected.equals("a list") && bad.isArray() || expected.equals("an object") && bad.isObject()) {
      // Jackson lost the inner path (it does for a list inside a list of strings): say what it said.
      return "cannot be read: " + e.getOriginalMessage();
    }
    return "must be " + expected + ", was " + was;
  }

  private static String oneOf(List<String> names) {
    if (names.size() == 1) {
      return names.get(0);
    }
    return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
  }
}
