package io.agentcube.runtime;

import java.util.List;
import java.util.Map;

/**
 * What a backend needs to start one sandbox, whatever the kind of runtime it came from.
 *
 * @param image the container image (Kubernetes only; the process backend ignores it)
 * @param command the program and its leading arguments; empty means "the image's entrypoint"
 *     (process backend: the bundled sandboxd for code interpreters)
 * @param args further arguments
 * @param env environment in declaration order; values may use {@code $(VAR)}
 * @param workingDir the working directory inside the sandbox, or {@code null}
 */
public record SandboxTemplate(String image, List<String> command, List<String> args,
    Map<String, String> env, String workingDir) {

  public SandboxTemplate {
    command = List.copyOf(command);
    args = List.copyOf(args);
    env = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(env));
  }
}
