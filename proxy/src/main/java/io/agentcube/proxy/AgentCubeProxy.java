package io.agentcube.proxy;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.auth.Authenticator;
import io.agentcube.proxy.auth.PicodTokens;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.proxy.logs.AccessLog;
import io.agentcube.proxy.tracing.Tracing;
import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.proxy.metrics.Route;
import io.agentcube.runtime.RuntimeCatalog;
import io.agentcube.sandbox.PoolOptions;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxPools;
import io.agentcube.session.SessionStoreOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running proxy: wires backend, pools, sessions, forwarding and the HTTP API together, in one
 * place, in the order they depend on each other. {@link #start} returns once the listener is bound
 * and the runtimes are loaded; {@link #drain} lets in-flight work finish while refusing new
 * sessions ({@link Drain}); {@link #close} stops accepting, ends every session, stops every
 * sandbox and closes Vert.x.
 */
public final class AgentCubeProxy {

  private static final Logger log = LoggerFactory.getLogger(AgentCubeProxy.class);

  private final ProxyConfig config;
  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final ProxyMetrics metrics;
  private final RuntimeCatalog runtimes = new RuntimeCatalog();
  private RuntimeLoader loader;
  private final AtomicBoolean ready = new AtomicBoolean();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final Drain drain;
  private final boolean requestMetrics;
  private final AccessLog accessLog; // null unless log.access
  private final Tracing tracing; // null unless tracing.enabled
  private PicodTokens tokens;
  private Authenticator auth;
  private Platform platform;
  private SandboxBackend backend;
  private SandboxPools pools;
  private SessionRouter sessions;
  private HttpServer server;
  private Router router;
  private Relay relay;
  private ClientConnections connections;
  private Future<Void> closed;
  private long flushTimer = -1;

  private AgentCubeProxy(ProxyConfig config) {
    this.config = config;
    int loops = config.integer("server.eventLoops");
    VertxOptions options = new VertxOptions()
        .setPreferNativeTransport(config.bool("server.nativeTransport"));
    if (loops > 0) {
      options.setEventLoopPoolSize(loops);
    }
    this.tracing = Tracing.create(config); // null unless tracing.enabled
    io.vertx.core.VertxBuilder builder = Vertx.builder();
    if (tracing != null) {
      options.setTracingOptions(new io.vertx.tracing.opentelemetry.OpenTelemetryOptions());
      builder.withTracer(new io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory(tracing.openTelemetry()));
    }
    this.vertx = builder.with(options).build();
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.metrics = new ProxyMetrics(registry); // JVM and process binders included
    this.requestMetrics = config.bool("metrics.requests");
    this.drain = new Drain(vertx, config.duration("shutdown.drainGrace"), config.duration("shutdown.drainTimeout"));
    this.accessLog = config.bool("log.access") ? new AccessLog() : null;
  }

  /** Starts a proxy with the system clock and Caffeine's system scheduler. */
  public static Future<AgentCubeProxy> start(ProxyConfig config) {
    return start(config, Ticker.systemTicker(), Scheduler.systemScheduler());
  }

  /**
   * Starts a proxy whose session deadlines follow {@code ticker}; tests pass a fake ticker and
   * {@link Scheduler#disabledScheduler()}, then call {@link #reap()}.
   */
  public static Future<AgentCubeProxy> start(ProxyConfig config, Ticker ticker, Scheduler scheduler) {
    AgentCubeProxy proxy = new AgentCubeProxy(config);
    // A promise bound to no context: a failed start reports after Vert.x has closed, when a
    // future bound to one of its event loops could no longer complete (Main would hang).
    Promise<AgentCubeProxy> result = Promise.promise();
    proxy.doStart(ticker, scheduler).onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(proxy);
      } else {
        proxy.close().onComplete(x -> result.fail(ar.cause()));
      }
    });
    return result.future();
  }

  private Future<Void> doStart(Ticker ticker, Scheduler scheduler) {
    try {
      Authenticator.checkListener(config); // before anything starts
      // Checked first: a limit that cannot hold fails start-up before any sandbox starts.
      connections = new ClientConnections(ClientConnections.cap(config.integer("server.maxConnections"),
          config.integer("server.fdReserve"), ClientConnections.fdLimit()),
          config.duration("server.headerReadTimeout").toMillis());
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    return Platform.create(config, vertx, () -> tokens).compose(p -> {
      platform = p;
      backend = p.backend();
      metrics.observe(backend);
      return p.tokens();
    }).compose(t -> {
      tokens = t;
      return vertx.executeBlocking(() -> Authenticator.create(config, vertx), false);
    }).compose(a -> {
      auth = a;
      pools = platform.pools(poolOptions(), metrics);
      sessions = new SessionRouter(new SessionStoreOptions(config.integer("sessions.maxSessions"),
          config.duration("sessions.endedMemory"), config.integer("sessions.endedMemorySize")),
          ticker, Clock.systemUTC(), scheduler, pools, backend, metrics, tokens, tracing);
      metrics.bind(sessions::size, pools::coldStartQueueDepth);
      // Restored before the runtimes load, so that the versions restored sessions run on are
      // known to be in use.
      return sessions.restore();
    }).compose(v -> loadRuntimes()).compose(v -> listen()).onSuccess(v -> {
      long flushMs = config.duration("sessions.activityFlushInterval").toMillis();
      flushTimer = vertx.setPeriodic(flushMs, id -> sessions.flushActivity());
      ready.set(true);
      log.info("agentcube-proxy listening on http://{}:{} backend={} auth={} runtimes={} transport={}",
          config.string("server.host"), port(), backend.name(), auth.mode(), runtimes.snapshot().runtimes().size(),
          vertx.isNativeTransportEnabled() ? "native" : "nio");
    });
  }

  private PoolOptions poolOptions() {
    return new PoolOptions(config.integer("pool.maxConcurrentStarts"),
        config.integer("pool.maxColdStartQueue"), config.duration("pool.startTimeout"),
        config.duration("pool.retryAfter"), config.duration("pool.refillBackoffMax"));
  }

  private Future<Void> loadRuntimes() {
    loader = new RuntimeLoader(vertx, platform.runtimes(), runtimes, pools, sessions);
    return loader.load().onSuccess(v -> loader.watch(config.duration("runtimes.reloadInterval")));
  }

  private Future<Void> listen() {
    long idleTimeoutMs = config.duration("upstream.idleTimeout").toMillis();
    long connectTimeoutMs = config.duration("upstream.connectTimeout").toMillis();
    router = Router.router(vertx);
    new ControlPlaneRoutes(runtimes, loader, sessions, pools, auth)
        .mount(router, config.integer("server.maxControlBodySize"));
    router.get("/health/live").handler(rc -> ControlPlaneRoutes.json(rc, 200, new JsonObject().put("status", "UP")));
    router.get("/health/ready").handler(rc -> {
      if (drain.phase() != Drain.Phase.RUNNING) {
        throw AgentCubeException.stackless(ErrorCode.SHUTTING_DOWN, "not ready: draining before a stop");
      }
      if (!ready.get() || closing.get()) {
        throw new AgentCubeException(ErrorCode.NOT_READY, "not ready: starting or shutting down");
      }
      Platform.Isolation isolation = platform.isolation();
      ControlPlaneRoutes.json(rc, 200, new JsonObject().put("status", "UP")
          .put("backend", backend.name()).put("runtimes", runtimes.snapshot().runtimes().size())
          .put("isolation", new JsonObject().put("isolated", isolation.isolated())
              .put("detail", isolation.detail())));
    });
    router.get("/metrics").handler(PrometheusScrapingHandler.create(registry));
    router.route().failureHandler(rc -> ApiErrors.send(rc.response(),
        rc.failure() == null || rc.failure() instanceof io.vertx.ext.web.handler.HttpException
            ? ApiErrors.controlPlaneStatus(rc.failure() == null ? rc.statusCode()
                : ((io.vertx.ext.web.handler.HttpException) rc.failure()).getStatusCode(),
                rc.request().method().name(), rc.request().path())
            : ApiErrors.controlPlane(rc.failure())));
    router.errorHandler(404, rc -> ApiErrors.send(rc.response(),
        ApiErrors.controlPlaneStatus(404, rc.request().method().name(), rc.request().path())));
    router.errorHandler(405, rc -> ApiErrors.send(rc.response(),
        ApiErrors.controlPlaneStatus(405, rc.request().method().name(), rc.request().path())));

    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.string("server.host"))
        .setPort(config.integer("server.port"))
        .setTcpNoDelay(true)
        // HTTP/1.1 only (see docs/design-notes.md): clients asking for an h2c upgrade simply
        // continue on HTTP/1.1.
        .setHttp2ClearTextEnabled(false)
        // "Expect: 100-continue" is answered here; the forwarder does not pass Expect on.
        .setHandle100ContinueAutomatically(true)
        // Responses are written only from their connection's event loop (SessionRouter.open and
        // the forwarder's client callbacks complete there), so writes skip Vert.x's cross-thread
        // queue; a write from another thread would fail loudly instead of being queued.
        .setStrictThreadMode(true)
        .setMaxHeaderSize(config.integer("server.maxHeaderSize"))
        .setMaxInitialLineLength(config.integer("server.maxInitialLineLength"))
        .setIdleTimeout((int) config.duration("server.clientIdleTimeout").toSeconds());
    relay = new Relay(runtimes, sessions, auth, metrics, requestMetrics ? metrics : null, accessLog,
        tracing, connections, ((io.vertx.core.internal.VertxInternal) vertx).transport().channelFactory(false),
        config.integer("server.maxInitialLineLength"), config.integer("server.maxHeaderSize"),
        config.duration("server.headerReadTimeout").toMillis(), idleTimeoutMs, connectTimeoutMs,
        config.integer("upstream.maxConnectionsPerSandbox"));
    connections.relay(relay);
    server = vertx.createHttpServer(options)
        .connectionHandler(connections)
        .invalidRequestHandler(AgentCubeProxy::invalidRequest)
        .requestHandler(req -> dispatch(req, router));
    log.info("client connections max={} headerReadTimeout={}ms fdLimit={}", connections.max(),
        config.duration("server.headerReadTimeout").toMillis(), ClientConnections.fdLimit());
    return server.listen().mapEmpty();
  }

  /**
   * Every request the relay passes to Vert.x: everything but the invocations, which the relay
   * serves itself ({@link Relay}), to the router, metrics around it.
   */
  private void dispatch(HttpServerRequest req, Router router) {
    if (accessLog != null) {
      accessLog.observe(req, null); // before the checks, so that a refused request has its line too
    }
    AgentCubeException bad = RequestChecks.violation(req);
    if (bad != null) {
      refuse(req, bad);
      return;
    }
    String path = req.path();
    Route route = Route.of(path);
    if (requestMetrics) {
      req.response().endHandler(new RequestMeter(req.response(), route, metrics));
    }
    try {
      router.handle(req);
    } catch (RuntimeException e) {
      // A parser of Vert.x's that throws (FuzzIT found one on a percent-encoded Host): a 500
      // through the one failure path, not a connection dropped by the event loop.
      ApiErrors.send(req.response(), ApiErrors.controlPlane(e));
    }
  }

  /** Requests Vert.x could not decode (too long headers or line, bad syntax) get JSON errors too. */
  private static void invalidRequest(HttpServerRequest req) {
    refuse(req, ApiErrors.undecodable(req.decoderResult().cause()));
  }

  /** Answers a request that cannot be read safely, then closes its connection (nothing more is read). */
  private static void refuse(HttpServerRequest req, AgentCubeException error) {
    req.response().putHeader("connection", "close");
    ApiErrors.send(req.response(), error).onComplete(ar -> req.connection().close());
  }

  /** Client connections open now (tests). */
  int openConnections() {
    return connections == null ? 0 : connections.open();
  }

  /** The router of every route but the invocations (RoutesDocumentedIT compares it with docs/openapi.yaml). */
  Router router() {
    return router;
  }

  /** Upstream connections pinned to client connections now (tests). */
  int pinnedConnections() {
    return relay == null ? 0 : relay.pinned.get();
  }

  /** The bound port (useful with {@code server.port: 0}). */
  public int port() {
    return server.actualPort();
  }

  public Vertx vertx() {
    return vertx;
  }

  public SessionRouter sessions() {
    return sessions;
  }

  /** The proxy's PicoD signing identity. */
  public PicodTokens tokens() {
    return tokens;
  }

  public RuntimeCatalog runtimes() {
    return runtimes;
  }

  public SandboxPools pools() {
    return pools;
  }

  public SandboxBackend backend() {
    return backend;
  }

  /** Reads the runtime files now instead of at the next reload tick (tests). */
  public Future<Void> reloadRuntimes() {
    return loader.load();
  }

  /** Runs pending session expiry now (tests with a fake ticker). */
  public void reap() {
    sessions.reap();
  }

  /**
   * The graceful drain before {@link #close} ({@link Drain}): readiness false and new sessions
   * refused at once, the listener open for {@code shutdown.drainGrace}, then closed while in-flight
   * requests, streams, WebSockets and cold starts finish, for at most {@code shutdown.drainTimeout}.
   * Idempotent; the future never fails.
   */
  public Future<Void> drain() {
    if (server == null || sessions == null || closing.get()) {
      return Future.succeededFuture();
    }
    return drain.start(server, connections, sessions);
  }

  /** Stops accepting, ends every session, stops every sandbox, closes Vert.x. Idempotent. */
  public synchronized Future<Void> close() {
    if (closed != null) {
      return closed;
    }
    closing.set(true);
    if (loader != null) {
      loader.stop();
    }
    if (flushTimer >= 0) {
      vertx.cancelTimer(flushTimer);
    }
    Future<Void> stopServer = server == null ? Future.succeededFuture() : server.close();
    closed = stopServer.transform(x -> sessions == null ? Future.<Void>succeededFuture() : sessions.close())
        .transform(x -> pools == null ? Future.<Void>succeededFuture() : pools.close())
        .transform(x -> backend == null ? Future.<Void>succeededFuture() : backend.close())
        .transform(x -> platform == null ? Future.<Void>succeededFuture() : platform.close())
        .andThen(x -> {
          if (tokens != null) {
            tokens.close();
          }
          if (auth != null) {
            auth.close();
          }
          metrics.close();
        });
    // Vert.x is closed from a thread that is not one of its own: a close future bound to an
    // event loop would try to report on that loop after it has terminated.
    Promise<Void> done = Promise.promise();
    closed.onComplete(x -> java.util.concurrent.CompletableFuture.runAsync(() ->
        vertx.close().onComplete(ar -> {
          if (tracing != null) {
            tracing.close(); // the last spans, exported
          }
          log.info("agentcube-proxy stopped");
          done.handle(ar);
        })));
    closed = done.future();
    return closed;
  }
}
