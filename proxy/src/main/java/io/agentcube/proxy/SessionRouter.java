package io.agentcube.proxy;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.auth.PicodTokens;
import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.Acquired;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxListener;
import io.agentcube.sandbox.SandboxPools;
import io.agentcube.sandbox.SandboxRecord;
import io.agentcube.session.EndReason;
import io.agentcube.session.Session;
import io.agentcube.session.SessionIds;
import io.agentcube.session.SessionStore;
import io.agentcube.session.SessionStoreOptions;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import io.agentcube.proxy.tracing.Tracing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions and their sandboxes, in one owner: opens a session on a warm or cold sandbox, restores
 * the sessions a backend still runs, resolves an id to its live session, and stops the sandbox
 * when the session ends (reaped, deleted, lost, shutdown).
 *
 * <h2>Binding</h2>
 * Always in this order ({@link #open}): take a place under {@code maxSessions} (so a sandbox that
 * was paid for is never refused afterwards) → a new id → a sandbox claimed for that id (a warm
 * one, or a cold start; a claim another replica won moves on to the next candidate) → the session
 * created with its opening request already in flight (no second lookup) → its PicoD token. A
 * failure at any step gives back what the earlier steps took.
 *
 * <h2>Restore</h2>
 * {@link #restore} rebuilds the sessions the backend found bound at start-up, with their creation
 * and last-activity times; a session whose sandbox was found dead is remembered as
 * {@code SANDBOX_LOST}. Last activity reaches the backend (a sandbox marker, a pod annotation) at
 * most once per flush interval per session, and only when it changed.
 *
 * <h2>Invariants</h2>
 * A sandbox is bound to one session for its life ({@code bySandbox} maps it back for loss
 * reports and has exactly one entry per live session); ending a session stops its sandbox once,
 * because the store tells {@link #sessionEnded} once.
 *
 * <p>Thread-safe; futures complete on any thread unless said otherwise.
 */
public final class SessionRouter implements SandboxListener {

  private static final Logger log = LoggerFactory.getLogger(SessionRouter.class);

  private final SessionStore<Sandbox> store;
  private final SandboxPools pools;
  private final SandboxBackend backend;
  private final ProxyMetrics metrics;
  private final PicodTokens tokens;
  private final Tracing tracing; // null: off
  private final Map<String, String> bySandbox = new ConcurrentHashMap<>();
  /** Last activity sent to the backend, per live session; removed when the session ends. */
  private final Map<String, Instant> flushed = new ConcurrentHashMap<>();
  /** Sandboxes whose session another process ended (and stops); an entry lives for one end. */
  private final java.util.Set<String> stoppedElsewhere = ConcurrentHashMap.newKeySet();
  /** Set by {@link #refuseNewSessions}: why {@link #open} fails from then on; null while open. */
  private volatile AgentCubeException refusal;

  public SessionRouter(SessionStoreOptions options, Ticker ticker, Clock clock, Scheduler scheduler,
      SandboxPools pools, SandboxBackend backend, ProxyMetrics metrics, PicodTokens tokens) {
    this(options, ticker, clock, scheduler, pools, backend, metrics, tokens, null);
  }

  /** @param tracing where session starts are traced; {@code null} when tracing is off */
  public SessionRouter(SessionStoreOptions options, Ticker ticker, Clock clock, Scheduler scheduler,
      SandboxPools pools, SandboxBackend backend, ProxyMetrics metrics, PicodTokens tokens,
      Tracing tracing) {
    this.tracing = tracing;
    this.tokens = tokens;
    this.pools = pools;
    this.backend = backend;
    this.metrics = metrics;
    this.store = new SessionStore<>(options, ticker, clock, scheduler, backend.expiryAuthority(),
        this::sessionEnded);
    backend.addListener(this);
    backend.expiryAuthority().onChange(store::authorityChanged);
  }

  /**
   * Rebuilds the sessions of the sandboxes the backend found bound when it started; call once,
   * before serving. Sessions whose sandbox was found dead answer {@code 410 SANDBOX_LOST}.
   */
  public Future<Void> restore() {
    return backend.sandboxes().compose(records -> {
      List<Future<Void>> signing = new ArrayList<>();
      int restored = 0;
      for (SandboxRecord r : records) {
        if (r.sandbox() == null) {
          store.remember(r.sessionId(), EndReason.SANDBOX_LOST);
          continue;
        }
        Session<Sandbox> s = adopt(r);
        if (r.sandbox().definition().authMode() == AuthMode.PICOD) {
          signing.add(tokens.issue(s.id(), r.sandbox().id(), r.sandbox().onHost()));
        }
        restored++;
      }
      if (!records.isEmpty()) {
        log.info("sessions restored count={} lost={}", restored, records.size() - restored);
      }
      return Future.join(signing).mapEmpty();
    });
  }

  /**
   * Opens a session of {@code definition} with its first request in flight: the caller pairs it
   * with one {@link #finish}. Called on an event loop, the future completes there. The session is
   * live (and counted) only once it has a sandbox: a failed start creates no session.
   */
  public Future<Session<Sandbox>> open(RuntimeDefinition definition) {
    return open(definition, null);
  }

  /**
   * {@link #open(RuntimeDefinition)} for a session owned by {@code owner} (the authenticated
   * subject creating it, or {@code null}), recorded with the sandbox's binding.
   */
  public Future<Session<Sandbox>> open(RuntimeDefinition definition, String owner) {
    AgentCubeException refused = refusal;
    if (refused != null) {
      return Future.failedFuture(refused);
    }
    try {
      store.reserve();
    } catch (AgentCubeException e) {
      metrics.sessionStartFailed(e);
      return Future.failedFuture(e);
    }
    String id = SessionIds.generate();
    Future<Session<Sandbox>> bound = pools.acquire(definition, id, owner)
        .transform(ar -> {
          if (ar.failed()) {
            store.unreserve();
            return Future.failedFuture(ar.cause());
          }
          return Future.succeededFuture(bind(id, ar.result(), definition));
        });
    if (definition.authMode() == AuthMode.PICOD) {
      // The session's first token is signed here, on a worker, so that requests never sign.
      bound = bound.compose(session -> tokens.issue(session.id(), session.binding().id(), session.binding().onHost()).transform(ar -> {
        if (ar.failed()) {
          store.finish(session);
          store.end(session.id(), EndReason.DELETED);
          return Future.failedFuture(ar.cause());
        }
        return Future.succeededFuture(session);
      }));
    }
    Future<Session<Sandbox>> opened = onCallerContext(bound.onFailure(metrics::sessionStartFailed));
    return tracing == null ? opened : tracing.sessionStart(definition, opened, Session::id);
  }

  /**
   * {@code future}, completing on the caller's context (a request's event loop) whatever thread
   * completes the original: responses are written only from their connection's event loop (the
   * listener runs in strict thread mode).
   */
  private static <T> Future<T> onCallerContext(Future<T> future) {
    Context context = Vertx.currentContext();
    if (context == null) {
      return future;
    }
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

  /**
   * From now on {@link #open} fails with {@code reason} at once (a draining proxy); sessions that
   * exist, and opens already under way, are not affected.
   */
  public void refuseNewSessions(AgentCubeException reason) {
    refusal = reason;
  }

  /** {@code Authorization} for a forward to a {@code picod} sandbox of {@code session}. */
  public String authorization(Session<Sandbox> session) {
    return tokens.authorization(session.id(), session.binding().id(), session.binding().onHost());
  }

  /**
   * Binds a claimed sandbox to the new session {@code id} in the place reserved for it, with the
   * timeouts of the definition declared now and its opening request in flight.
   */
  private Session<Sandbox> bind(String id, Acquired acquired, RuntimeDefinition definition) {
    Sandbox sandbox = acquired.sandbox();
    bySandbox.put(sandbox.id(), id);
    Session<Sandbox> session;
    try {
      session = store.create(id, sandbox, acquired.boundAt(), definition.sessionTimeout(),
          definition.maxSessionDuration(), true);
      flushed.put(id, session.lastActivity());
    } catch (IllegalStateException collision) {
      // A shared backend's watch showed our own claim before this bind and the session was
      // restored from it (the create gave its place back): it is this session.
      session = store.begin(id);
      if (session == null) {
        throw notFound(id);
      }
    }
    if (!sandbox.alive()) {
      // Died between acquire and bind: the loss report may have come before the mapping.
      store.end(session.id(), EndReason.SANDBOX_LOST);
    }
    metrics.sessionCreated(acquired.launchType(), acquired.waitNanos());
    // The session and runtime also as fields, for log.format: json (docs/configuration.md, Logs).
    log.atInfo().addKeyValue("session", SessionIds.redact(id))
        .addKeyValue("runtime", sandbox.definition().label())
        .log("session created session={} runtime={} version={} sandbox={} launch={} waitMs={}",
            SessionIds.redact(id), sandbox.definition().label(), sandbox.definition().version(),
            sandbox.id(), acquired.launchType().tag(), acquired.waitNanos() / 1_000_000);
    return session;
  }

  /**
   * The live session {@code id}, counted in flight until {@link #finish}.
   *
   * @throws AgentCubeException {@code BAD_REQUEST} for a malformed id, {@code SANDBOX_LOST} when
   *     its sandbox died, {@code SESSION_NOT_FOUND} otherwise
   */
  public Session<Sandbox> begin(String id) {
    if (!SessionIds.isWellFormed(id)) {
      throw AgentCubeException.stackless(ErrorCode.BAD_REQUEST,
          "malformed session id (1-128 characters of A-Z a-z 0-9 - _)");
    }
    Session<Sandbox> session = store.begin(id);
    if (session == null) {
      throw notFound(id);
    }
    return session;
  }

  public void finish(Session<Sandbox> session) {
    store.finish(session);
  }

  /** The live session {@code id} without recording activity, or {@code null}. */
  public Session<Sandbox> get(String id) {
    return SessionIds.isWellFormed(id) ? store.get(id) : null;
  }

  /** Moves the idle deadline of {@code id} to now + {@code timeout}; {@code null} when not live. */
  public Session<Sandbox> keepalive(String id, Duration timeout) {
    return store.keepalive(id, timeout);
  }

  /** The live sessions that match {@code filter}. */
  public List<Session<Sandbox>> list(Predicate<Session<Sandbox>> filter) {
    return store.snapshot(filter);
  }

  /** Live sessions now. */
  public int size() {
    return store.size();
  }

  /** Runs due reaper wake-ups now (tests with a fake ticker). */
  void reap() {
    store.cleanUp();
  }

  /** The error for a session id that is not live: why it ended, when that is remembered. */
  public AgentCubeException notFound(String id) {
    EndReason reason = store.endedReason(id);
    if (reason == EndReason.SANDBOX_LOST) {
      return AgentCubeException.stackless(ErrorCode.SANDBOX_LOST,
          "the sandbox of session " + id + " was lost; the session has ended");
    }
    return AgentCubeException.stackless(ErrorCode.SESSION_NOT_FOUND, reason == null
        ? "session " + id + " not found"
        : "session " + id + " has ended (" + reason.tag() + ")");
  }

  /**
   * The error for a live session of another owner: the same as for an id never seen, so that a
   * caller learns nothing of other subjects' sessions.
   */
  public AgentCubeException notOwned(String id) {
    return AgentCubeException.stackless(ErrorCode.SESSION_NOT_FOUND, "session " + id + " not found");
  }

  /** Ends session {@code id} at a client's request. @return whether it was live */
  public boolean delete(String id) {
    return SessionIds.isWellFormed(id) && store.end(id, EndReason.DELETED);
  }

  /** Another replica's session, seen by the shared backend: served here from now on too. */
  @Override
  public void found(SandboxRecord r) {
    adopt(r);
    signFor(r).onFailure(e -> log.warn("token of an adopted session not signed session={} cause={}",
        SessionIds.redact(r.sessionId()), e.getMessage()));
  }

  /**
   * Signs the token of an adopted session of a PicoD runtime, on a worker, unless it has one:
   * so that its requests read a token instead of signing one on the event loop.
   */
  private Future<Void> signFor(SandboxRecord r) {
    Sandbox sandbox = r.sandbox();
    if (sandbox.definition().authMode() != AuthMode.PICOD || tokens.has(r.sessionId())) {
      return Future.succeededFuture();
    }
    return tokens.issue(r.sessionId(), sandbox.id(), sandbox.onHost());
  }

  /** Restores the session of {@code r} here; idempotent (a live session is kept as it is). */
  private Session<Sandbox> adopt(SandboxRecord r) {
    Sandbox sandbox = r.sandbox();
    RuntimeDefinition d = sandbox.definition();
    Session<Sandbox> s = store.restore(r.sessionId(), sandbox, r.createdAt(), r.lastActivity(),
        d.sessionTimeout(), d.maxSessionDuration());
    if (s.binding() == sandbox) {
      bySandbox.put(sandbox.id(), s.id());
      flushed.putIfAbsent(s.id(), r.lastActivity());
    }
    return s;
  }

  @Override
  public void endedElsewhere(Sandbox sandbox, EndReason reason) {
    String sessionId = bySandbox.get(sandbox.id());
    if (sessionId != null) {
      stoppedElsewhere.add(sandbox.id());
      store.end(sessionId, reason);
    }
  }

  /**
   * After {@link #begin} failed with {@code miss}: where sandboxes are shared, a session this
   * replica has not heard of yet (a request that beat the watch event) is looked up once at the
   * backend, restored, and begun. Completes on the caller's context, with {@code miss} when there
   * is nothing to find.
   */
  public Future<Session<Sandbox>> lookup(String id, AgentCubeException miss) {
    if (miss.code() != ErrorCode.SESSION_NOT_FOUND || store.endedReason(id) != null) {
      return Future.failedFuture(miss);
    }
    return onCallerContext(backend.find(id).compose(r -> {
      if (r == null || r.sandbox() == null) {
        return Future.failedFuture(miss);
      }
      adopt(r);
      // Its first request here waits for its token rather than signing on the event loop.
      return signFor(r).map(v -> begin(id));
    }));
  }

  /** Ends the session of a sandbox that died under it (as reported by the backend or a forward). */
  @Override
  public void lost(Sandbox sandbox) {
    if (pools.remove(sandbox)) {
      return; // it was still warm: the pool replaces it
    }
    String sessionId = bySandbox.get(sandbox.id());
    if (sessionId != null) {
      store.end(sessionId, EndReason.SANDBOX_LOST);
    }
  }

  private void sessionEnded(Session<Sandbox> session, EndReason reason) {
    Sandbox sandbox = session.binding();
    bySandbox.remove(sandbox.id());
    flushed.remove(session.id());
    tokens.forget(session.id());
    metrics.sessionEnded(reason);
    if (stoppedElsewhere.remove(sandbox.id())) {
      return; // the process that ended it stops it
    }
    backend.stop(sandbox, reason).onFailure(e ->
        log.warn("sandbox stop failed sandbox={} cause={}", sandbox.id(), e.getMessage()));
  }

  /**
   * Sends the last activity of every live session whose activity changed since the last flush to
   * the backend. Called every flush interval; O(live sessions), off the request path.
   */
  public Future<Void> flushActivity() {
    List<Future<Void>> writes = new ArrayList<>();
    for (Session<Sandbox> s : store.snapshot(x -> true)) {
      Instant last = s.lastActivity();
      Instant before = flushed.get(s.id());
      // No entry: the session is ending right now; nothing to flush.
      if (before != null && last.isAfter(before)) {
        writes.add(backend.recordActivity(s.binding(), last)
            .onSuccess(v -> flushed.replace(s.id(), last))
            .onFailure(e -> log.debug("activity flush failed sandbox={} cause={}",
                s.binding().id(), e.getMessage())));
      }
    }
    return Future.join(writes).mapEmpty();
  }

  /**
   * Shutdown: where sandboxes outlive the proxy ({@link SandboxBackend#keepsSandboxesOnClose()})
   * the sessions' activity is flushed and they live on for the next start or another replica;
   * otherwise every session ends and its sandbox stops.
   */
  public Future<Void> close() {
    if (backend.keepsSandboxesOnClose()) {
      return flushActivity();
    }
    store.close();
    return Future.succeededFuture();
  }
}
