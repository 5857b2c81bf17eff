package io.agentcube.runtime;

import io.fabric8.kubernetes.api.model.PodTemplateSpec;
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
 * @param pod the whole pod template as declared, for the Kubernetes backend: an AgentRuntime's
 *     {@code podTemplate} (labels, annotations, the full PodSpec: resources, volumes,
 *     securityContext, {@code valueFrom} env, ...), or the pod a CodeInterpreter's flat template
 *     describes (one container {@code sandbox}); {@code null} where no pod can be built (a
 *     restored sandbox). Never mutated: builders copy it.
 */
public record SandboxTemplate(String image, List<String> command, List<String> args,
    Map<String, String> env, String workingDir, PodTemplateSpec pod) {

  public SandboxTemplate {
    command = List.copyOf(command);
    args = List.copyOf(args);
    env = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(env));
  }

  /** A template with no pod (process backend only: tests, restored sandboxes). */
  public SandboxTemplate(String image, List<String> command, List<String> args,
      Map<String, String> env, String workingDir) {
    this(image, command, args, env, workingDir, null);
  }
}
