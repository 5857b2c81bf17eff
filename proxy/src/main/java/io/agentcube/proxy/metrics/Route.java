package io.agentcube.proxy.metrics;

/** The {@code route} tag of request metrics: a fixed, small set (no paths, no ids). */
public enum Route {
  INVOKE_AGENT_RUNTIME("invoke_agent_runtime"),
  INVOKE_CODE_INTERPRETER("invoke_code_interpreter"),
  CREATE_SESSION("create_session"),
  DELETE_SESSION("delete_session"),
  SESSIONS("sessions"),
  RUNTIMES("runtimes"),
  HEALTH("health"),
  METRICS("metrics"),
  OTHER("other");

  private final String tag;

  Route(String tag) {
    this.tag = tag;
  }

  public String tag() {
    return tag;
  }

  /**
   * Classifies a request path that is not an invocation, without allocating. Invocations are
   * recognised by parsing their path ({@code InvocationTarget}, which gives them their
   * {@code invoke_*} route); whatever else is under {@code /v1/namespaces/} is {@link #RUNTIMES}.
   */
  public static Route of(String path) {
    if (path.startsWith("/v1/namespaces/")) {
      return RUNTIMES;
    }
    if (path.startsWith("/v1/sessions")) {
      return SESSIONS;
    }
    if (path.equals("/v1/agent-runtime") || path.equals("/v1/code-interpreter")) {
      return CREATE_SESSION;
    }
    if (path.startsWith("/v1/agent-runtime/sessions/") || path.startsWith("/v1/code-interpreter/sessions/")) {
      return DELETE_SESSION;
    }
    if (path.startsWith("/health")) {
      return HEALTH;
    }
    if (path.equals("/metrics")) {
      return METRICS;
    }
    return OTHER;
  }
}
