package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.proxy.metrics.Route;
import io.agentcube.runtime.RuntimeKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which request paths are invocations, of what, and what the sandbox gets: both URL shapes
 * (issue 14), and paths near them that must stay someone else's (the router's 404 or listing).
 */
class InvocationTargetTest {

  private static final String NS = "/v1/namespaces/";

  @ParameterizedTest
  @CsvSource({
      // path after /v1/namespaces/                           kind              ns       name                forwarded
      "default/code-interpreters/python/invocations/api/execute, CODE_INTERPRETER, default, python,            /api/execute",
      "default/codeinterpreters/python/api/execute,              CODE_INTERPRETER, default, python,            /api/execute",
      "team-a/agent-runtimes/echo/invocations/a/b,               AGENT_RUNTIME,    team-a,  echo,              /a/b",
      "team-a/agentruntimes/echo/a/b,                            AGENT_RUNTIME,    team-a,  echo,              /a/b",
      // nothing after the invocation prefix: the sandbox gets /
      "default/agent-runtimes/echo/invocations,                  AGENT_RUNTIME,    default, echo,              /",
      "default/agent-runtimes/echo/invocations/,                 AGENT_RUNTIME,    default, echo,              /",
      "default/agentruntimes/echo,                               AGENT_RUNTIME,    default, echo,              /",
      "default/agentruntimes/echo/,                              AGENT_RUNTIME,    default, echo,              /",
      // the proposal forwards everything after the name, /invocations included
      "default/codeinterpreters/python/invocations/api/execute,  CODE_INTERPRETER, default, python,            /invocations/api/execute",
      // a runtime named invocations, or like a segment, in either shape
      "default/codeinterpreters/invocations/api,                 CODE_INTERPRETER, default, invocations,       /api",
      "default/codeinterpreters/invocations,                     CODE_INTERPRETER, default, invocations,       /",
      "default/code-interpreters/invocations/invocations/x,      CODE_INTERPRETER, default, invocations,       /x",
      "default/code-interpreters/code-interpreters/invocations/, CODE_INTERPRETER, default, code-interpreters, /",
      "default/code-interpreters/codeinterpreters/invocations/x, CODE_INTERPRETER, default, codeinterpreters,  /x",
      "default/agentruntimes/agent-runtimes/x,                   AGENT_RUNTIME,    default, agent-runtimes,    /x",
      // a namespace named like a segment is still a namespace
      "codeinterpreters/codeinterpreters/python/x,               CODE_INTERPRETER, codeinterpreters, python, /x",
      "agent-runtimes/agent-runtimes/echo/invocations/x,         AGENT_RUNTIME,    agent-runtimes, echo,     /x",
      // segments as written: no decoding, no normalising (the sandbox sees what the client sent)
      "default/codeinterpreters/a%2Fb/x,                         CODE_INTERPRETER, default, a%2Fb,             /x",
      "default/code-interpreters/python/invocations/a%2Fb//c,    CODE_INTERPRETER, default, python,            /a%2Fb//c",
      "default/codeinterpreters/python//x,                       CODE_INTERPRETER, default, python,            //x"})
  void parse_invocationPath_namesRuntimeAndForwardedPath(String path, RuntimeKind kind, String namespace,
      String name, String forwarded) {
    InvocationTarget t = InvocationTarget.parse(NS + path);

    assertThat(t).isEqualTo(new InvocationTarget(kind, namespace, name, forwarded));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      // the control plane's routes under /v1/namespaces/ stay the router's
      "/v1/namespaces/default/runtimes",
      "/v1/namespaces/default/endpoints",
      "/v1/namespaces/codeinterpreters/runtimes",
      "/v1/namespaces/agentruntimes/endpoints",
      // missing or empty segments
      "/v1/namespaces/",
      "/v1/namespaces",
      "/v1/namespaces//codeinterpreters/python/x",
      "/v1/namespaces/default",
      "/v1/namespaces/default/",
      "/v1/namespaces/default/codeinterpreters",
      "/v1/namespaces/default/codeinterpreters/",
      "/v1/namespaces/default/codeinterpreters//x",
      "/v1/namespaces/default/code-interpreters//invocations/x",
      // the canonical shape needs /invocations right after the name: its segments do not take the proposal's rule
      "/v1/namespaces/default/code-interpreters/python",
      "/v1/namespaces/default/code-interpreters/python/",
      "/v1/namespaces/default/code-interpreters/python/api/execute",
      "/v1/namespaces/default/agent-runtimes/echo/invocationsX",
      "/v1/namespaces/default/agent-runtimes/echo/invocations%2Fx",
      // near misses of the segments
      "/v1/namespaces/default/Code-Interpreters/python/invocations/",
      "/v1/namespaces/default/CodeInterpreters/python/x",
      "/v1/namespaces/default/code_interpreters/python/invocations/",
      "/v1/namespaces/default/codeinterpreter/python/x",
      "/v1/namespaces/default/agentruntime/echo/x",
      // not under /v1/namespaces/
      "/v1/codeinterpreters/python/x",
      "/v1/code-interpreter",
      "/v1/sessions",
      "/",
      ""})
  void parse_otherPath_isNotAnInvocation(String path) {
    assertThat(InvocationTarget.parse(path)).isNull();
  }

  @ParameterizedTest
  @CsvSource({
      "/v1/namespaces/default/code-interpreters/python/invocations/x, invoke_code_interpreter",
      "/v1/namespaces/default/codeinterpreters/python/x,              invoke_code_interpreter",
      "/v1/namespaces/default/agent-runtimes/echo/invocations/x,      invoke_agent_runtime",
      "/v1/namespaces/default/agentruntimes/echo/x,                   invoke_agent_runtime"})
  void route_eitherShape_isTheCanonicalRoutesTag(String path, String tag) {
    assertThat(InvocationTarget.parse(path).route().tag()).isEqualTo(tag);
  }

  @ParameterizedTest
  @CsvSource({
      "/v1/namespaces/default/runtimes,                       runtimes",
      "/v1/namespaces/default/agent-runtimes/echo/invocationsX, runtimes",
      "/v1/sessions/abc,                                      sessions",
      "/v1/code-interpreter,                                  create_session",
      "/v1/agent-runtime/sessions/abc,                        delete_session",
      "/health/ready,                                         health",
      "/metrics,                                              metrics",
      "/favicon.ico,                                          other"})
  void routeOf_pathThatIsNoInvocation_keepsItsTag(String path, String tag) {
    assertThat(Route.of(path).tag()).isEqualTo(tag);
  }
}
