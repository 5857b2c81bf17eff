package io.agentcube.runtime;

/**
 * The two kinds of runtime, with the names each part of the API uses for them.
 *
 * <p>The canonical names are AgentCube's released ones. The runtime API proposal spells some of
 * them differently (issue 14): kind {@code CodeInterpreterRuntime}, data-plane segments
 * {@code agentruntimes} / {@code codeinterpreters}. Those spellings are accepted on input and
 * never produced: whatever was read is the canonical kind from then on.
 */
public enum RuntimeKind {
  AGENT_RUNTIME("AgentRuntime", null, "agent-runtimes", "agentruntimes", "agent-runtime"),
  CODE_INTERPRETER("CodeInterpreter", "CodeInterpreterRuntime", "code-interpreters", "codeinterpreters",
      "code-interpreter");

  private final String kind;
  private final String kindAlias;
  private final String pathSegment;
  private final String proposalPathSegment;
  private final String controlSegment;

  RuntimeKind(String kind, String kindAlias, String pathSegment, String proposalPathSegment,
      String controlSegment) {
    this.kind = kind;
    this.kindAlias = kindAlias;
    this.pathSegment = pathSegment;
    this.proposalPathSegment = proposalPathSegment;
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

  /**
   * The data-plane path segment of the runtime API proposal, e.g. {@code agentruntimes} in
   * {@code /v1/namespaces/{ns}/agentruntimes/{name}/{path}} (no {@code /invocations}).
   */
  public String proposalPathSegment() {
    return proposalPathSegment;
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

  /** The kind for a proposal-shaped data-plane path segment ({@code codeinterpreters}), or {@code null}. */
  public static RuntimeKind fromProposalPathSegment(String segment) {
    for (RuntimeKind k : values()) {
      if (k.proposalPathSegment.equals(segment)) {
        return k;
      }
    }
    return null;
  }

  /**
   * The kind for a Kubernetes {@code kind} name, canonical or the proposal's alias
   * ({@code CodeInterpreterRuntime} is {@link #CODE_INTERPRETER}), or {@code null}.
   */
  public static RuntimeKind fromKind(String kind) {
    for (RuntimeKind k : values()) {
      if (k.kind.equals(kind) || k.kindAlias != null && k.kindAlias.equals(kind)) {
        return k;
      }
    }
    return null;
  }
}
