package io.agentcube.proxy.config;

import io.agentcube.runtime.Durations;
import io.vertx.core.json.JsonArray;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One configuration key: its dotted path, type, default and bounds. Values arrive from YAML
 * (typed) or from the environment and flags (strings); {@link #convert} turns either into the
 * key's type or fails naming the key.
 */
record ConfigKey(String path, Type type, Object defaultValue, long min, long max) {

  enum Type { STRING, INT, BOOL, DURATION, LIST }

  static ConfigKey string(String path, String dflt) {
    return new ConfigKey(path, Type.STRING, dflt, 0, 0);
  }

  static ConfigKey integer(String path, int dflt, int min, int max) {
    return new ConfigKey(path, Type.INT, dflt, min, max);
  }

  static ConfigKey bool(String path, boolean dflt) {
    return new ConfigKey(path, Type.BOOL, dflt, 0, 0);
  }

  /** A duration with bounds in milliseconds. */
  static ConfigKey duration(String path, String dflt, long minMs, long maxMs) {
    return new ConfigKey(path, Type.DURATION, Durations.parse(dflt), minMs, maxMs);
  }

  static ConfigKey list(String path, List<String> dflt) {
    return new ConfigKey(path, Type.LIST, dflt, 0, 0);
  }

  /** {@code pool.maxConcurrentStarts} → {@code AGENTCUBE_POOL_MAX_CONCURRENT_STARTS}. */
  String envName() {
    StringBuilder sb = new StringBuilder("AGENTCUBE_");
    for (char c : path.toCharArray()) {
      if (c == '.') {
        sb.append('_');
      } else if (Character.isUpperCase(c)) {
        sb.append('_').append(c);
      } else {
        sb.append(Character.toUpperCase(c));
      }
    }
    return sb.toString();
  }

  Object convert(Object raw, String origin) {
    try {
      Object value = switch (type) {
        case STRING -> {
          if (raw instanceof JsonArray || raw instanceof java.util.Map) {
            throw new IllegalArgumentException("must be a string");
          }
          yield String.valueOf(raw);
        }
        case INT -> {
          long v = raw instanceof Number n ? checkIntegral(n) : Long.parseLong(String.valueOf(raw).trim());
          if (v < min || v > max) {
            throw new IllegalArgumentException("must be between " + min + " and " + max);
          }
          yield (int) v;
        }
        case BOOL -> {
          String s = String.valueOf(raw).trim().toLowerCase(Locale.ROOT);
          if (!s.equals("true") && !s.equals("false")) {
            throw new IllegalArgumentException("must be true or false");
          }
          yield Boolean.parseBoolean(s);
        }
        case DURATION -> {
          Duration d = Durations.parse(String.valueOf(raw).trim());
          if (d.toMillis() < min || d.toMillis() > max) {
            throw new IllegalArgumentException("must be between " + Durations.format(Duration.ofMillis(min))
                + " and " + Durations.format(Duration.ofMillis(max)));
          }
          yield d;
        }
        case LIST -> {
          List<String> out = new ArrayList<>();
          if (raw instanceof JsonArray a) {
            a.forEach(o -> out.add(String.valueOf(o)));
          } else if (raw instanceof List<?> l) {
            l.forEach(o -> out.add(String.valueOf(o)));
          } else {
            String s = String.valueOf(raw).trim();
            if (!s.isEmpty()) {
              for (String part : s.split(",")) {
                out.add(part.trim());
              }
            }
          }
          yield List.copyOf(out);
        }
      };
      return value;
    } catch (RuntimeException e) {
      throw new ConfigException(path + ": " + e.getMessage() + " (value '" + raw + "' from " + origin + ")");
    }
  }

  private static long checkIntegral(Number n) {
    if (n.doubleValue() != Math.rint(n.doubleValue())) {
      throw new IllegalArgumentException("must be a whole number");
    }
    return n.longValue();
  }
}
