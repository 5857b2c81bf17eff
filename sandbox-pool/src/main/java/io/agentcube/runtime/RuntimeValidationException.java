package io.agentcube.runtime;

import java.util.List;

/** A runtime document that cannot be used; every problem names its field. */
public class RuntimeValidationException extends RuntimeException {

  private final List<String> problems;

  public RuntimeValidationException(String source, List<String> problems) {
    super(source + ": " + String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  /** One line per problem, each starting with the field path, e.g. {@code spec.warmPoolSize: …}. */
  public List<String> problems() {
    return problems;
  }
}
