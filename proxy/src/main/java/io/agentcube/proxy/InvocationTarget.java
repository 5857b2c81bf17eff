package io.agentcube.proxy;

import io.agentcube.proxy.metrics.Route;
import io.agentcube.runtime.RuntimeKind;

/**
 * A data-plane request path, parsed once: the runtime it names, the path to forward to its
 * sandbox, and the metrics {@link Route}. The dispatcher parses every request path here; a
 * {@code null} answer means the path is not an invocation and goes to the router, so the
 * invocation route is decided in this one place.
 *
 * <p>Two shapes name the same invocation:
 * <ul>
 *   <li>canonical (AgentCube's Router, its SDK):
 *       {@code /v1/namespaces/{ns}/{agent-runtimes|code-interpreters}/{name}/invocations[/path]};
 *       the forwarded path is what follows {@code /invocations};</li>
 *   <li>the runtime API proposal's:
 *       {@code /v1/namespaces/{ns}/{agentruntimes|codeinterpreters}/{name}[/path]}; the forwarded
 *       path is what follows {@code {name}}, so a literal {@code /invocations} there is forwarded
 *       as part of the path.</li>
 * </ul>
 * The kind segment alone tells the shapes apart, so neither shadows the other nor any other route
 * under {@code /v1/namespaces/}. Segments are taken as written (not percent-decoded): a name with
 * {@code %2F} in it matches no runtime. The forwarded path is never empty ({@code /} at least).
 *
 * @param forwardPath the path the sandbox gets, starting with {@code /}
 */
record InvocationTarget(RuntimeKind kind, String namespace, String name, String forwardPath) {

  private static final String PREFIX = "/v1/namespaces/";
  private static final String INVOCATIONS = "/invocations";

  /**
   * Whether this is an execution: PicoD's {@code /api/execute} on a code interpreter (counted as
   * {@code agentcube_executions_total} when forwarded).
   */
  boolean execution() {
    return kind == RuntimeKind.CODE_INTERPRETER && forwardPath.equals("/api/execute");
  }

  /** The {@code route} tag of this invocation: one per kind, whichever shape named it. */
  Route route() {
    return kind == RuntimeKind.AGENT_RUNTIME ? Route.INVOKE_AGENT_RUNTIME : Route.INVOKE_CODE_INTERPRETER;
  }

  /**
   * Parses {@code path} (without the query) in either shape, without regular expressions.
   *
   * @return the target, or {@code null} when the path is not an invocation
   */
  static InvocationTarget parse(String path) {
    if (!path.startsWith(PREFIX)) {
      return null;
    }
    int nsEnd = path.indexOf('/', PREFIX.length());
    if (nsEnd <= PREFIX.length()) {
      return null;
    }
    int kindEnd = path.indexOf('/', nsEnd + 1);
    if (kindEnd < 0) {
      return null;
    }
    String segment = path.substring(nsEnd + 1, kindEnd);
    RuntimeKind kind = RuntimeKind.fromPathSegment(segment);
    boolean canonical = kind != null;
    if (!canonical) {
      kind = RuntimeKind.fromProposalPathSegment(segment);
      if (kind == null) {
        return null;
      }
    }
    int nameEnd = path.indexOf('/', kindEnd + 1);
    if (nameEnd < 0) {
      nameEnd = path.length(); // only the proposal's shape may end at the name
    }
    if (nameEnd == kindEnd + 1) {
      return null; // empty name
    }
    int restStart = nameEnd;
    if (canonical) {
      if (!path.startsWith(INVOCATIONS, nameEnd)) {
        return null;
      }
      restStart = nameEnd + INVOCATIONS.length();
      if (restStart < path.length() && path.charAt(restStart) != '/') {
        return null; // /invocationsX
      }
    }
    String rest = restStart == path.length() ? "/" : path.substring(restStart);
    return new InvocationTarget(kind, path.substring(PREFIX.length(), nsEnd),
        path.substring(kindEnd + 1, nameEnd), rest);
  }
}
