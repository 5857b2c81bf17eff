package io.agentcube.sandbox.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code $(VAR)} as Kubernetes expands it in a container's command, args and env. */
class EnvExpanderTest {

  private static final Map<String, String> VARS = Map.of(
      "PORT", "41234",
      "NAME", "py-v1-x",
      "EMPTY", "",
      "REF", "$(PORT)",
      "A_B.c-d", "dotted");

  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      // defined -> value
      "$(PORT)                  | 41234",
      "--port=$(PORT)           | --port=41234",
      "$(NAME):$(PORT)/x        | py-v1-x:41234/x",
      "a$(EMPTY)b               | ab",
      "$(A_B.c-d)               | dotted",
      // $$ -> $, and an escaped reference is not expanded
      "$$                       | $",
      "cost $$5                 | cost $5",
      "$$(PORT)                 | $(PORT)",
      "$$$(PORT)                | $41234",
      // undefined references stay as written
      "$(UNDEFINED)             | $(UNDEFINED)",
      "x-$(UNDEFINED)-$(PORT)   | x-$(UNDEFINED)-41234",
      "$()                      | $()",
      // not a reference
      "$PORT                    | $PORT",
      "${PORT}                  | ${PORT}",
      "100$                     | 100$",
      "$(PORT                   | $(PORT",
      "plain                    | plain",
      // values are not expanded again
      "$(REF)                   | $(PORT)"})
  void expand_kubernetesSemantics(String input, String expected) {
    assertThat(EnvExpander.expand(input, VARS)).isEqualTo(expected);
  }
}
