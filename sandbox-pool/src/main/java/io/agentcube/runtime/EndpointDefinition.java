package io.agentcube.runtime;

import java.util.Objects;

/**
 * An {@code AgentEndpoint} or {@code CodeInterpreterEndpoint}: a name that pins a runtime version.
 *
 * @param kind the kind of runtime it targets ({@code AgentEndpoint} → {@code AGENT_RUNTIME})
 * @param target the runtime's name, in the endpoint's namespace
 * @param version the pinned version name, or {@code null} for the runtime's default version
 * @param generation {@code metadata.generation} (1 when the file does not say)
 * @param source where it came from, for messages
 */
public record EndpointDefinition(RuntimeKind kind, String namespace, String name, String target,
    String version, long generation, String source) {

  public EndpointDefinition {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(target, "target");
  }

  /** The runtime this endpoint points at. */
  public RuntimeRef targetRef() {
    return new RuntimeRef(kind, namespace, target);
  }

  /** {@code AgentEndpoint} or {@code CodeInterpreterEndpoint}. */
  public String kindName() {
    return kind == RuntimeKind.AGENT_RUNTIME ? "AgentEndpoint" : "CodeInterpreterEndpoint";
  }
}
