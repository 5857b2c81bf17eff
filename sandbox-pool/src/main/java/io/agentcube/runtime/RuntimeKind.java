package io.agentcube.runtime;

/** The two kinds of runtime, with the names each part of the API uses for them. */
public enum RuntimeKind {
  AGENT_RUNTIME("AgentRuntime", "agent-runtimes", "agent-runtime"),
  CODE_INTERPRETER("CodeInterpreter", "code-interpreters", "code-interpreter");

  private final String kind;
  private final String pathSegment;
  private final String controlSegment;

  RuntimeKind(String kind, String pathSegment, String controlSegment) {
    this.kind = kind;
    this.pathSegment = pathSegment;
    this.controlSegment = controlSegment;
  }

  /** The Kubernetes {@code kind}, e.g. {@code AgentRuntime}. */
  public String kind() {
    return kind;
  }

  /** The data-plane path segment, e.g. {@code agent-runtimes}. */
  public String pathSegment() {
    return pathSegment;
  }

  /** The control-plane path segment, e.g. {@code agent-runtime} in {@code POST /v1/agent-runtime}. */
  public String controlSegment() {
    return controlSegment;
  }

  /** The kind for a data-plane path segment, or {@code null}. */
  public static RuntimeKind fromPathSegment(String segment) {
    for (RuntimeKind k : values()) {
      if (k.pathSegment.equals(segment)) {
        return k;
      }
    }
    return null;
  }

  /** The kind for a control-plane path segment, or {@code null}. */
  public static RuntimeKind fromControlSegment(String segment) {
    for (RuntimeKind k : values()) {
      if (k.controlSegment.equals(segment)) {
        return k;
      }
    }
    return null;
  }

  /** The kind for a Kubernetes {@code kind} name, or {@code null}. */
  public static RuntimeKind fromKind(String kind) {
    for (RuntimeKind k : values()) {
      if (k.kind.equals(kind)) {
        return k;
      }
    }
    return null;
  }
}
