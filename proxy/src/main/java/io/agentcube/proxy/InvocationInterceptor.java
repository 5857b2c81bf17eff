package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.RuntimeCatalog;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.httpproxy.OriginRequestProvider;
import io.vertx.httpproxy.ProxyContext;
import io.vertx.httpproxy.ProxyInterceptor;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;
import io.vertx.core.http.HttpClientRequest;

/**
 * The data plane: {@code ANY /v1/namespaces/{ns}/{agent-runtimes|code-interpreters}/{name}/invocations/{path}}.
 *
 * <p>Runs inside vertx-http-proxy as its only interceptor (WebSocket upgrades included). The
 * request path reads top to bottom:
 * <ol>
 *   <li>validate the path (fail fast, 4xx);</li>
 *   <li>resolve the session: the {@code x-agentcube-session-id} header names a live one, or its
 *       absence opens a new one (warm sandbox, else one cold start for this session);</li>
 *   <li>forward: the path after {@code /invocations} and the query (minus {@code endpoint}) go
 *       to the sandbox port with the longest matching {@code pathPrefix}, streamed both ways;</li>
 *   <li>answer: every response of a session carries its id; the session stays in flight until the
 *       response (or WebSocket) ends, which restarts its idle clock;</li>
 *   <li>any failure becomes a JSON error in one {@code recover} ({@link ApiErrors}).</li>
 * </ol>
 * Everything runs on the request's event loop; a cold start's completion is moved back onto it.
 */
final class InvocationInterceptor implements ProxyInterceptor, OriginRequestProvider {

  static final String SESSION_HEADER = "x-agentcube-session-id";
  private static final String EXCHANGE = "agentcube.exchange";
  private static final String PREFIX = "/v1/namespaces/";
  private static final String INVOCATIONS = "/invocations";
  private static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  private static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("x-forwarded-host");
  private static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("x-forwarded-proto");

  private final RuntimeCatalog runtimes;
  private final SessionRouter sessions;
  private final ProxyMetrics metrics;
  private final long upstreamIdleTimeoutNanos;
  private final long connectTimeoutMs;

  InvocationInterceptor(RuntimeCatalog runtimes, SessionRouter sessions, ProxyMetrics metrics,
      long upstreamIdleTimeoutMs, long connectTimeoutMs) {
    this.runtimes = runtimes;
    this.sessions = sessions;
    this.metrics = metrics;
    this.upstreamIdleTimeoutNanos = upstreamIdleTimeoutMs * 1_000_000;
    this.connectTimeoutMs = connectTimeoutMs;
  }

  /** The parsed invocation path. */
  private record Target(RuntimeKind kind, String namespace, String name, String forwardPath) {}

  @Override
  public Future<ProxyResponse> handleProxyRequest(ProxyContext ctx) {
    HttpServerRequest req = ctx.request().proxiedRequest();
    Target target = parse(req.path());
    if (target == null) {
      return reject(ctx, AgentCubeException.stackless(ErrorCode.NOT_FOUND,
          "not an invocation path: expected /v1/namespaces/{namespace}/{agent-runtimes|code-interpreters}/{name}/invocations/..."));
    }
    String query = req.query();
    String endpoint = null;
    if (query != null && query.contains("endpoint=")) {
      endpoint = QueryStrings.get(query, "endpoint");
      query = QueryStrings.remove(query, "endpoint");
    }
    String uri = query == null || query.isEmpty() ? target.forwardPath : target.forwardPath + '?' + query;

    String sessionId = req.getHeader(SESSION_HEADER);
    if (sessionId != null) {
      Session<Sandbox> session;
      try {
        session = sessions.begin(sessionId);
      } catch (AgentCubeException e) {
        return reject(ctx, e);
      }
      RuntimeRef ref = session.binding().definition().ref();
      if (ref.kind() != target.kind || !ref.namespace().equals(target.namespace)
          || !ref.name().equals(target.name)) {
        sessions.finish(session);
        return reject(ctx, AgentCubeException.stackless(ErrorCode.SESSION_NOT_FOUND,
            "session " + sessionId + " is not a session of " + target.kind.kind() + " "
                + target.namespace + "/" + target.name));
      }
      return forward(ctx, session, uri, target.forwardPath);
    }

    RuntimeDefinition definition = runtimes.current(target.kind, target.namespace, target.name);
    if (definition == null) {
      return reject(ctx, AgentCubeException.stackless(ErrorCode.RUNTIME_NOT_FOUND,
          target.kind.kind() + " " + target.namespace + "/" + target.name + " not found"));
    }
    if (endpoint != null) {
      try {
        definition = runtimes.throughEndpoint(target.kind, target.namespace, target.name, endpoint);
      } catch (AgentCubeException e) {
        return reject(ctx, e);
      }
    }
    RuntimeDefinition chosen = definition;
    Context context = Vertx.currentContext();
    String finalUri = uri;
    return onContext(context, sessions.open(chosen))
        .compose(opened -> {
          Session<Sandbox> session;
          try {
            session = sessions.begin(opened.id());
          } catch (AgentCubeException e) {
            return reject(ctx, e);
          }
          return forward(ctx, session, finalUri, target.forwardPath);
        }, failure -> reject(ctx, failure));
  }

  private Future<ProxyResponse> forward(ProxyContext ctx, Session<Sandbox> session, String uri,
      String path) {
    Sandbox sandbox = session.binding();
    Exchange exchange = new Exchange(session, sandbox.definition().portIndexFor(path), sessions);
    ctx.set(EXCHANGE, exchange);
    ProxyRequest request = ctx.request();
    HttpServerRequest req = request.proxiedRequest();
    request.setURI(uri);
    MultiMap headers = request.headers();
    headers.set(SESSION_HEADER, session.id());
    if (sandbox.definition().authMode() == AuthMode.PICOD) {
      headers.set(HttpHeaders.AUTHORIZATION, sessions.authorization(session));
    }
    SocketAddress remote = req.remoteAddress();
    if (remote != null) {
      String prior = headers.get(X_FORWARDED_FOR);
      headers.set(X_FORWARDED_FOR, prior == null ? remote.hostAddress() : prior + ", " + remote.hostAddress());
    }
    if (!headers.contains(X_FORWARDED_HOST) && req.authority() != null) {
      headers.set(X_FORWARDED_HOST, req.authority().toString());
    }
    if (!headers.contains(X_FORWARDED_PROTO)) {
      headers.set(X_FORWARDED_PROTO, req.isSSL() ? "https" : "http");
    }
    return ctx.sendRequest().recover(failure -> {
      AgentCubeException error;
      if (!sandbox.alive()) {
        sessions.sandboxLost(sandbox);
        error = sessions.notFound(session.id());
        metrics.upstreamError("sandbox_lost");
      } else if (failure instanceof io.vertx.core.http.HttpClosedException
          && System.nanoTime() - exchange.startNanos >= upstreamIdleTimeoutNanos) {
        // The upstream connection's idle timeout closed it under this request.
        error = AgentCubeException.stackless(ErrorCode.SANDBOX_TIMEOUT, "the sandbox sent nothing for "
            + upstreamIdleTimeoutNanos / 1_000_000 + " ms");
        metrics.upstreamError("timeout");
      } else {
        error = ApiErrors.classify(failure);
        metrics.upstreamError(error.code() == ErrorCode.SANDBOX_TIMEOUT ? "timeout" : "unreachable");
      }
      return Future.succeededFuture(ApiErrors.toProxyResponse(ctx.request().release().response(), error));
    });
  }

  @Override
  public Future<Void> handleProxyResponse(ProxyContext ctx) {
    Exchange exchange = ctx.get(EXCHANGE, Exchange.class);
    if (exchange == null) {
      return ctx.sendResponse();
    }
    ProxyResponse response = ctx.response();
    response.putHeader(SESSION_HEADER, exchange.session.id());
    Future<Void> sent = ctx.sendResponse();
    if (ctx.isWebSocket() && response.getStatusCode() == 101) {
      // A WebSocket stays in flight until its socket ends. The forwarder owns the socket's close
      // handler; the end handler is free and runs when either side closes.
      ctx.request().proxiedRequest().toNetSocket().onComplete(ar -> {
        if (ar.succeeded()) {
          ar.result().endHandler(v -> exchange.finish());
        } else {
          exchange.finish();
        }
      });
    } else {
      sent.onComplete(ar -> exchange.finish());
    }
    return sent;
  }

  /** Origin selection: the session's sandbox, on the port chosen by path prefix. */
  @Override
  public Future<HttpClientRequest> create(ProxyContext ctx) {
    Exchange exchange = ctx.get(EXCHANGE, Exchange.class);
    SocketAddress address = exchange.session.binding().address(exchange.portIndex);
    // No per-request idle timer: upstream connections carry the idle timeout (see AgentCubeProxy),
    // and a connection closed by it is reported as SANDBOX_TIMEOUT in forward().
    RequestOptions options = new RequestOptions()
        .setServer(address)
        .setHost(address.host())
        .setPort(address.port())
        .setConnectTimeout(connectTimeoutMs);
    return ctx.client().request(options);
  }

  /** A response with the error, and the session header when the failure concerns a session. */
  private static Future<ProxyResponse> reject(ProxyContext ctx, Throwable failure) {
    AgentCubeException error = ApiErrors.classify(failure);
    ProxyResponse response = ApiErrors.toProxyResponse(ctx.request().release().response(), error);
    if (error.code() == ErrorCode.SANDBOX_LOST) {
      String id = ctx.request().proxiedRequest().getHeader(SESSION_HEADER);
      if (id != null) {
        response.putHeader(SESSION_HEADER, id);
      }
    }
    return Future.succeededFuture(response);
  }

  /**
   * Parses {@code /v1/namespaces/{ns}/{kind}/{name}/invocations[/rest]} without regular
   * expressions; {@code null} when the path has another shape.
   */
  private static Target parse(String path) {
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
    RuntimeKind kind = RuntimeKind.fromPathSegment(path.substring(nsEnd + 1, kindEnd));
    int nameEnd = path.indexOf('/', kindEnd + 1);
    if (kind == null || nameEnd <= kindEnd + 1 || !path.startsWith(INVOCATIONS, nameEnd)) {
      return null;
    }
    int restStart = nameEnd + INVOCATIONS.length();
    String rest;
    if (restStart == path.length()) {
      rest = "/";
    } else if (path.charAt(restStart) == '/') {
      rest = path.substring(restStart);
    } else {
      return null;
    }
    return new Target(kind, path.substring(PREFIX.length(), nsEnd), path.substring(kindEnd + 1, nameEnd), rest);
  }

  /** {@code future}, with its callbacks run on {@code context} (the request's event loop). */
  private static <T> Future<T> onContext(Context context, Future<T> future) {
    Promise<T> promise = Promise.promise();
    future.onComplete(ar -> {
      if (Vertx.currentContext() == context) {
        promise.handle(ar);
      } else {
        context.runOnContext(v -> promise.handle(ar));
      }
    });
    return promise.future();
  }
}
