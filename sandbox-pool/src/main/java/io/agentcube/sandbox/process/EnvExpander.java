package io.agentcube.sandbox.process;

import java.util.Map;

/**
 * Expands {@code $(VAR)} the way Kubernetes does for a container's command, args and env: a
 * reference to a defined variable is replaced by its value, {@code $$} is an escaped {@code $},
 * and a reference to an undefined variable is left as it is.
 */
final class EnvExpander {

  private EnvExpander() {}

  static String expand(String input, Map<String, String> vars) {
    if (input.indexOf('$') < 0) {
      return input;
    }
    StringBuilder out = new StringBuilder(input.length());
    int i = 0;
    while (i < input.length()) {
      char c = input.charAt(i);
      if (c != '$' || i + 1 >= input.length()) {
        out.append(c);
        i++;
        continue;
      }
      char next = input.charAt(i + 1);
      if (next == '$') {
        out.append('$');
        i += 2;
      } else if (next == '(') {
        int close = input.indexOf(')', i + 2);
        if (close < 0) {
          out.append(input, i, input.length());
          break;
        }
        String name = input.substring(i + 2, close);
        String value = vars.get(name);
        out.append(value != null ? value : input.substring(i, close + 1));
        i = close + 1;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }
}
