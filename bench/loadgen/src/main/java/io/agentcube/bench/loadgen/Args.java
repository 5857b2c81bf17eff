package io.agentcube.bench.loadgen;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code --key=value} / {@code --key value} flags; a key may repeat ({@code --header}). */
final class Args {

  private final Map<String, List<String>> values = new LinkedHashMap<>();

  Args(String[] argv, int from) {
    for (int i = from; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument: " + a);
      }
      String key;
      String value;
      int eq = a.indexOf('=');
      if (eq > 0) {
        key = a.substring(2, eq);
        value = a.substring(eq + 1);
      } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
        key = a.substring(2);
        value = argv[++i];
      } else {
        key = a.substring(2);
        value = "true";
      }
      values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }
  }

  String string(String key) {
    List<String> v = values.get(key);
    if (v == null) {
      throw new IllegalArgumentException("missing --" + key);
    }
    return v.get(v.size() - 1);
  }

  String string(String key, String dflt) {
    List<String> v = values.get(key);
    return v == null ? dflt : v.get(v.size() - 1);
  }

  int integer(String key, int dflt) {
    return Integer.parseInt(string(key, Integer.toString(dflt)));
  }

  double number(String key, double dflt) {
    return Double.parseDouble(string(key, Double.toString(dflt)));
  }

  boolean flag(String key) {
    return Boolean.parseBoolean(string(key, "false"));
  }

  List<String> all(String key) {
    return values.getOrDefault(key, List.of());
  }
}
