package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.Durations;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeCatalog;
import io.agentcube.runtime.RuntimeStatus;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.proxy.auth.Authenticator;
import io.agentcube.proxy.auth.Caller;
import io.agentcube.sandbox.SandboxPools;
import io.vertx.core.Future;
import io.agentcube.session.Session;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import io.agentcube.runtime.RuntimeRef;
import java.util.List;
import java.util.function.Predicate;

/**
 * The control plane on the proxy's port: AgentCube's WorkloadManager API ({@code POST
 * /v1/agent-runtime}, {@code POST /v1/code-interpreter}, {@code DELETE
 * /v1/{kind}/sessions/{id}}), our session API ({@code /v1/sessions}) and the runtime listing.
 * Every failure goes through {@link ApiErrors}.
 */
final class ControlPlaneRoutes {

  private static final String CALLER = "agentcube.caller";

  private static final int DEFAULT_PAGE = 100;
  private static final int MAX_PAGE = 1000;

  private final RuntimeCatalog runtimes;
  private final RuntimeLoader loader;
  private final SessionRouter sessions;
  private final SandboxPools pools;
  private final Authenticator auth;

  ControlPlaneRoutes(RuntimeCatalog runtimes, RuntimeLoader loader, SessionRouter sessions,
      SandboxPools pools, Authenticator auth) {
    this.auth = auth;
    this.runtimes = runtimes;
    this.loader = loader;
    this.sessions = sessions;
    this.pools = pools;
  }

  void mount(Router router, long maxBodySize) {
    BodyHandler body = BodyHandler.create(false).setBodyLimit(maxBodySize);
    // Every API route needs a caller first; /health and /metrics are outside /v1 and stay open.
    router.route("/v1/*").handler(this::authenticate);
    for (RuntimeKind kind : RuntimeKind.values()) {
      router.post("/v1/" + kind.controlSegment()).handler(body).handler(rc -> create(rc, kind));
      router.delete("/v1/" + kind.controlSegment() + "/sessions/:id").handler(this::delete);
    }
    router.get("/v1/sessions").handler(this::list);
    router.get("/v1/sessions/:id").handler(this::get);
    router.delete("/v1/sessions/:id").handler(this::delete);
    router.post("/v1/sessions/:id/keepalive").handler(body).handler(this::keepalive);
    router.get("/v1/namespaces/:ns/runtimes").handler(this::runtimes);
    router.get("/v1/namespaces/:ns/endpoints").handler(this::endpoints);
  }

  /**
   * Resolves the caller ({@link Authenticator}) and continues with it in the context. The request
   * is paused while a check is under way, so that a body handler after it sees the whole body.
   */
  private void authenticate(RoutingContext rc) {
    Future<Caller> caller = auth.authenticate(rc.request());
    if (caller.isComplete()) {
      proceed(rc, caller);
      return;
    }
    rc.request().pause();
    caller.onComplete(ar -> {
      proceed(rc, caller);
      rc.request().resume();
    });
  }

  private static void proceed(RoutingContext rc, Future<Caller> caller) {
    if (caller.failed()) {
      rc.fail(caller.cause());
    } else {
      rc.put(CALLER, caller.result());
      rc.next();
    }
  }

  private static Caller caller(RoutingContext rc) {
    return java.util.Objects.requireNonNull(rc.get(CALLER), "the authentication handler runs first");
  }

  /**
   * The live session {@code id} when the caller may use it. @throws AgentCubeException the same
   * 404 for an unknown id and for another subject's session
   */
  private Session<Sandbox> ownSession(RoutingContext rc, String id) {
    Session<Sandbox> s = sessions.get(id);
    if (s == null) {
      throw sessions.notFound(id);
    }
    if (!caller(rc).mayUse(s.binding().owner())) {
      throw sessions.notOwned(id);
    }
    return s;
  }

  private void create(RoutingContext rc, RuntimeKind kind) {
    JsonObject in = jsonBody(rc);
    String name = in.getValue("name") instanceof String s ? s : null;
    if (name == null || name.isEmpty()) {
      throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "name: required (the "
          + kind.kind() + " to start a session of)");
    }
    String namespace = in.getValue("namespace") instanceof String s && !s.isEmpty() ? s : "default";
    RuntimeDefinition definition = runtimes.current(kind, namespace, name);
    if (definition == null) {
      throw AgentCubeException.stackless(ErrorCode.RUNTIME_NOT_FOUND,
          kind.kind() + " " + namespace + "/" + name + " not found");
    }
    if (in.getValue("endpoint") instanceof String endpoint && !endpoint.isEmpty()) {
      definition = runtimes.throughEndpoint(kind, namespace, name, endpoint);
    }
    sessions.open(definition, caller(rc).subject()).onComplete(ar -> {
      if (ar.failed()) {
        rc.fail(ar.cause());
        return;
      }
      Session<Sandbox> s = ar.result();
      sessions.finish(s); // opened in flight; this call forwards nothing
      Sandbox sandbox = s.binding();
      JsonObject out = new JsonObject()
          .put("sessionId", s.id())
          .put("sandboxId", sandbox.id())
          .put("sandboxName", sandbox.name())
          .put("entryPoints", entryPoints(sandbox));
      rc.response().putHeader(Relay.SESSION_HEADER, s.id());
      json(rc, 200, out);
    });
  }

  private void delete(RoutingContext rc) {
    String id = rc.pathParam("id");
    Session<Sandbox> live = sessions.get(id);
    if (live != null && !caller(rc).mayUse(live.binding().owner())) {
      throw sessions.notOwned(id);
    }
    if (!sessions.delete(id)) {
      throw sessions.notFound(id);
    }
    json(rc, 200, new JsonObject().put("sessionId", id).put("status", "deleted"));
  }

  private void get(RoutingContext rc) {
    json(rc, 200, toJson(ownSession(rc, rc.pathParam("id"))));
  }

  private void keepalive(RoutingContext rc) {
    String id = rc.pathParam("id");
    JsonObject in = rc.body().length() <= 0 ? new JsonObject() : jsonBody(rc); // -1: no body at all
    Session<Sandbox> current = ownSession(rc, id);
    Duration timeout = current.idleTimeout();
    if (in.getValue("timeout") != null) {
      try {
        timeout = Durations.parse(String.valueOf(in.getValue("timeout")));
      } catch (IllegalArgumentException e) {
        throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "timeout: " + e.getMessage());
      }
    }
    Session<Sandbox> s = sessions.keepalive(id, timeout);
    if (s == null) {
      throw sessions.notFound(id);
    }
    json(rc, 200, toJson(s));
  }

  private void list(RoutingContext rc) {
    String namespace = rc.queryParams().get("namespace");
    String runtime = rc.queryParams().get("runtime");
    String kindParam = rc.queryParams().get("kind");
    RuntimeKind kind = null;
    if (kindParam != null) {
      kind = RuntimeKind.fromControlSegment(kindParam);
      if (kind == null) {
        kind = RuntimeKind.fromKind(kindParam);
      }
      if (kind == null) {
        throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST,
            "kind: must be agent-runtime or code-interpreter, was '" + kindParam + "'");
      }
    }
    int limit = intParam(rc, "limit", DEFAULT_PAGE, 1, MAX_PAGE);
    String after = rc.queryParams().get("continue");
    RuntimeKind k = kind;
    Caller caller = caller(rc);
    Predicate<Session<Sandbox>> filter = s -> {
      var ref = s.binding().definition().ref();
      return caller.mayUse(s.binding().owner()) && (namespace == null || ref.namespace().equals(namespace))
          && (runtime == null || ref.name().equals(runtime))
          && (k == null || ref.kind() == k)
          && (after == null || s.id().compareTo(after) > 0);
    };
    List<Session<Sandbox>> page = sessions.list(filter).stream()
        .sorted(Comparator.comparing(Session::id)).limit(limit + 1L).toList();
    JsonArray items = new JsonArray();
    page.stream().limit(limit).forEach(s -> items.add(toJson(s)));
    json(rc, 200, new JsonObject().put("items", items)
        .put("continue", page.size() > limit ? page.get(limit - 1).id() : null));
  }

  /** The runtimes of a namespace with their status, plus the problems of the latest load. */
  private void runtimes(RoutingContext rc) {
    String ns = rc.pathParam("ns");
    Map<RuntimeRef, RuntimeStatus> statuses = RuntimeStatuses.compute(runtimes, pools, sessions,
        ref -> ref.namespace().equals(ns));
    JsonArray items = new JsonArray();
    runtimes.snapshot().runtimes().values().stream()
        .filter(e -> e.ref().namespace().equals(ns))
        .sorted(Comparator.comparing((RuntimeCatalog.Entry e) -> e.ref().kind()).thenComparing(e -> e.ref().name()))
        .forEach(e -> {
          RuntimeDefinition d = e.current().definition();
          RuntimeStatus st = statuses.get(e.ref());
          RuntimeStatus.Condition c = st.readyCondition();
          items.add(new JsonObject()
              .put("kind", d.ref().kind().kind())
              // the spelling of the file: CodeInterpreterRuntime (the proposal's) lists as CodeInterpreter
              .put("declaredKind", d.declaredKind())
              .put("namespace", d.ref().namespace())
              .put("name", d.ref().name())
              .put("source", d.source())
              .put("status", new JsonObject()
                  .put("conditions", new JsonArray().add(new JsonObject().put("type", c.type())
                      .put("status", c.status()).put("reason", c.reason()).put("message", c.message())
                      .put("observedGeneration", c.observedGeneration())))
                  .put("ready", st.ready())
                  .put("defaultVersion", st.defaultVersion())
                  .put("versions", new JsonObject(new java.util.LinkedHashMap<>(st.versions())))
                  .put("warmPool", new JsonObject().put("desired", st.warmDesired()).put("ready", st.warmReady()))
                  .put("activeSessions", st.activeSessions())));
        });
    json(rc, 200, new JsonObject().put("items", items).put("errors", new JsonArray(loader.errors())));
  }

  /** The endpoints of a namespace and what they resolve to. */
  private void endpoints(RoutingContext rc) {
    String ns = rc.pathParam("ns");
    JsonArray items = new JsonArray();
    runtimes.snapshot().endpoints().values().stream()
        .filter(e -> e.definition().namespace().equals(ns))
        .sorted(Comparator.comparing((RuntimeCatalog.Endpoint e) -> e.definition().name()))
        .forEach(e -> items.add(new JsonObject()
            .put("kind", e.definition().kindName())
            .put("namespace", e.definition().namespace())
            .put("name", e.definition().name())
            .put("target", e.definition().target())
            .put("version", e.definition().version())
            .put("status", new JsonObject()
                .put("ready", e.resolved() != null)
                .put("resolvedVersion", e.resolved() == null ? null : e.resolved().version())
                .put("conditions", new JsonArray().add(new JsonObject().put("type", "Ready")
                    .put("status", e.resolved() != null ? "True" : "False")
                    .put("reason", e.resolved() != null ? "Resolved" : "Unresolved")
                    .put("message", e.resolved() != null
                        ? "new sessions get version " + e.resolved().version() : e.problem()))))));
    json(rc, 200, new JsonObject().put("items", items));
  }

  static JsonObject toJson(Session<Sandbox> s) {
    Sandbox sandbox = s.binding();
    RuntimeDefinition d = sandbox.definition();
    return new JsonObject()
        .put("sessionId", s.id())
        .put("owner", sandbox.owner())
        .put("kind", d.ref().kind().kind())
        .put("namespace", d.ref().namespace())
        .put("name", d.ref().name())
        .put("version", d.version())
        .put("sandboxId", sandbox.id())
        .put("sandboxName", sandbox.name())
        .put("createdAt", s.createdAt().toString())
        .put("lastActivity", s.lastActivity().toString())
        .put("idleDeadline", s.idleDeadline().toString())
        .put("hardDeadline", s.hardDeadline().toString())
        .put("sessionTimeout", Durations.format(s.idleTimeout()))
        .put("maxSessionDuration", Durations.format(java.time.Duration.between(s.createdAt(), s.hardDeadline())))
        .put("inFlight", s.inFlight())
        .put("entryPoints", entryPoints(sandbox));
  }

  static JsonArray entryPoints(Sandbox sandbox) {
    JsonArray points = new JsonArray();
    List<TargetPort> ports = sandbox.definition().ports();
    for (int i = 0; i < ports.size(); i++) {
      TargetPort p = ports.get(i);
      var address = sandbox.address(i);
      points.add(new JsonObject()
          .put("path", p.pathPrefix() == null ? "/" : p.pathPrefix())
          .put("protocol", p.protocol().name())
          .put("endpoint", address.host() + ":" + address.port()));
    }
    return points;
  }

  private static JsonObject jsonBody(RoutingContext rc) {
    try {
      Object value = rc.body().buffer() == null ? null : rc.body().buffer().toJsonValue();
      if (value instanceof JsonObject o) {
        return o;
      }
    } catch (DecodeException e) {
      throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "body: not valid JSON: " + e.getMessage());
    }
    throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "body: must be a JSON object");
  }

  private static int intParam(RoutingContext rc, String name, int dflt, int min, int max) {
    String v = rc.queryParams().get(name);
    if (v == null) {
      return dflt;
    }
    try {
      int i = Integer.parseInt(v);
      if (i >= min && i <= max) {
        return i;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST,
        name + ": must be an integer from " + min + " to " + max + ", was '" + v + "'");
  }

  static void json(RoutingContext rc, int status, JsonObject body) {
    rc.response().setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(body.toBuffer());
  }
}
