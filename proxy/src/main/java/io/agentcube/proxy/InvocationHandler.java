package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.runtime.RuntimeCatalog;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import io.agentcube.proxy.auth.Authenticator;
import io.agentcube.proxy.auth.Caller;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/**
 * The data plane: {@code ANY /v1/namespaces/{ns}/{agent-runtimes|code-interpreters}/{name}/invocations/{path}},
 * and the same under the runtime API proposal's {@code /{agentruntimes|codeinterpreters}/{name}/{path}}
 * (both parsed by {@link InvocationTarget}, once, before this handler is called).
 *
 * <p>The request path reads top to bottom:
 * <ol>
 *   <li>the path is already parsed ({@link InvocationTarget}); only its query is read here;</li>
 *   <li>resolve the session: the {@code x-agentcube-session-id} header names a live one, or its
 *       absence opens a new one (warm sandbox, else one cold start for this session);</li>
 *   <li>forward ({@link Forwarder}): the target's forward path and the query (minus
 *       {@code endpoint}) go to the sandbox port with the longest matching {@code pathPrefix},
 *       streamed both ways, WebSocket upgrades included;</li>
 *   <li>answer: every response of a session carries its id; the session stays in flight until the
 *       response (or WebSocket) ends, which restarts its idle clock ({@link Exchange});</li>
 *   <li>any failure becomes a JSON error through the data plane's one failure path ({@link Forwarder#fail}).</li>
 * </ol>
 * Everything runs on the request's event loop ({@link SessionRouter#open} completes there).
 * The request is paused on arrival and its body flows only once the sandbox is known.
 */
final class InvocationHandler {

  static final String SESSION_HEADER = "x-agentcube-session-id";

  private final RuntimeCatalog runtimes;
  private final SessionRouter sessions;
  private final Forwarder forwarder;
  private final ProxyMetrics metrics; // null when per-request metrics are off
  private final Authenticator auth;

  InvocationHandler(RuntimeCatalog runtimes, SessionRouter sessions, Forwarder forwarder,
      ProxyMetrics requestMetrics, Authenticator auth) {
    this.auth = auth;
    this.runtimes = runtimes;
    this.sessions = sessions;
    this.forwarder = forwarder;
    this.metrics = requestMetrics;
  }

  /** Serves one invocation; {@code target} is {@code req}'s path, parsed by the dispatcher. */
  void handle(HttpServerRequest req, InvocationTarget target) {
    req.pause();
    Exchange exchange = new Exchange(req, target, metrics, sessions);
    if (!auth.enabled()) {
      route(exchange, target, Caller.UNCHECKED);
      return;
    }
    Future<Caller> caller = auth.authenticateInvocation(req);
    // The client's credential is for the proxy: a sandbox never sees it.
    req.headers().remove(HttpHeaders.AUTHORIZATION);
    caller.onComplete(ar -> {
      if (ar.failed()) {
        reject(exchange, ar.cause());
      } else {
        route(exchange, target, ar.result());
      }
    });
  }

  /** Serves an invocation of an authenticated (or unchecked) caller. */
  private void route(Exchange exchange, InvocationTarget target, Caller caller) {
    HttpServerRequest req = exchange.request;
    String query = req.query();
    String endpoint = null;
    if (query != null && query.contains("endpoint=")) {
      endpoint = QueryStrings.get(query, "endpoint");
      query = QueryStrings.remove(query, "endpoint");
    }
    String uri = query == null || query.isEmpty() ? target.forwardPath() : target.forwardPath() + '?' + query;

    String sessionId = req.getHeader(SESSION_HEADER);
    if (sessionId != null) {
      Session<Sandbox> session;
      try {
        session = sessions.begin(sessionId);
      } catch (AgentCubeException miss) {
        // Not known here: where sandboxes are shared it may be another replica's session that
        // the watch has not shown yet (one lookup); otherwise this fails with the miss at once.
        sessions.lookup(sessionId, miss).onComplete(ar -> {
          if (ar.failed()) {
            reject(exchange, ar.cause());
          } else {
            continueSession(exchange, ar.result(), target, uri, caller);
          }
        });
        return;
      }
      continueSession(exchange, session, target, uri, caller);
      return;
    }

    RuntimeDefinition definition = runtimes.current(target.kind(), target.namespace(), target.name());
    if (definition == null) {
      reject(exchange, AgentCubeException.stackless(ErrorCode.RUNTIME_NOT_FOUND,
          target.kind().kind() + " " + target.namespace() + "/" + target.name() + " not found"));
      return;
    }
    if (endpoint != null) {
      try {
        definition = runtimes.throughEndpoint(target.kind(), target.namespace(), target.name(), endpoint);
      } catch (AgentCubeException e) {
        reject(exchange, e);
        return;
      }
    }
    sessions.open(definition, caller.subject()).onComplete(ar ->
        opened(exchange, ar.succeeded() ? ar.result() : null, ar.cause(), uri, target.forwardPath()));
  }

  /** A request of an existing session, begun: forwarded if the session is one of the target's. */
  private void continueSession(Exchange exchange, Session<Sandbox> session, InvocationTarget target,
      String uri, Caller caller) {
    if (!caller.mayUse(session.binding().owner())) {
      // Another subject's session answers exactly like an unknown id: ids cannot be probed.
      sessions.finish(session);
      reject(exchange, sessions.notOwned(session.id()));
      return;
    }
    RuntimeRef ref = session.binding().definition().ref();
    if (ref.kind() != target.kind() || !ref.namespace().equals(target.namespace())
        || !ref.name().equals(target.name())) {
      sessions.finish(session);
      reject(exchange, AgentCubeException.stackless(ErrorCode.SESSION_NOT_FOUND,
          "session " + session.id() + " is not a session of " + target.kind().kind() + " "
              + target.namespace() + "/" + target.name()));
      return;
    }
    forward(exchange, session, uri, target.forwardPath());
  }

  /**
   * A new session is open, with this request already in flight (or it failed to open): on the
   * request's event loop.
   */
  private void opened(Exchange exchange, Session<Sandbox> session, Throwable failure, String uri, String path) {
    if (session == null) {
      reject(exchange, failure);
      return;
    }
    forward(exchange, session, uri, path);
  }

  private void forward(Exchange exchange, Session<Sandbox> session, String uri, String path) {
    if (exchange.bind(session)) {
      forwarder.forward(exchange, uri, session.binding().definition().portIndexFor(path));
    }
  }

  private void reject(Exchange exchange, Throwable failure) {
    forwarder.fail(exchange, failure);
  }
}
