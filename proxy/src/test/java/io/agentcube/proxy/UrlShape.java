package io.agentcube.proxy;

/**
 * The two URL shapes of an invocation (issue 14), spelled out here rather than taken from the
 * code under test. Suites that both shapes must pass take one as their parameter.
 */
enum UrlShape {
  /** AgentCube's Router and SDK: {@code /{kind}/{name}/invocations/{path}}. */
  CANONICAL("agent-runtimes", "code-interpreters", "/invocations"),
  /** The runtime API proposal: {@code /{kind}/{name}/{path}}, kind segments without a dash. */
  PROPOSAL("agentruntimes", "codeinterpreters", "");

  private final String agentSegment;
  private final String interpreterSegment;
  private final String afterName;

  UrlShape(String agentSegment, String interpreterSegment, String afterName) {
    this.agentSegment = agentSegment;
    this.interpreterSegment = interpreterSegment;
    this.afterName = afterName;
  }

  /** The path invoking {@code rest} of agent runtime {@code name} in namespace {@code default}. */
  String agent(String name, String rest) {
    return "/v1/namespaces/default/" + agentSegment + "/" + name + afterName + rest;
  }

  /** The path invoking {@code rest} of code interpreter {@code name} in namespace {@code default}. */
  String interpreter(String name, String rest) {
    return "/v1/namespaces/default/" + interpreterSegment + "/" + name + afterName + rest;
  }

  /** The other shape. */
  UrlShape other() {
    return this == CANONICAL ? PROPOSAL : CANONICAL;
  }
}
