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
import io.agentcube.sandbox.SandboxPools;
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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions and their sandboxes: opens a session on a warm or cold sandbox, resolves an id to its
 * live session, and stops the sandbox when the session ends (reaped, deleted, lost, shutdown).
 *
 * <p>Invariants: a sandbox is bound to one session for its life ({@code bySandbox} maps it back
 * for loss reports and has exactly one entry per live session); ending a session stops its
 * sandbox once, because the store tells {@link #sessionEnded} once.
 *
 * <p>Thread-safe; futures complete on any thread.
 */
public final class SessionRouter {

  private static final Logger log = LoggerFactory.getLogger(SessionRouter.class);

  private final SessionStore<Sandbox> store;
  private final SandboxPools pools;
  private final SandboxBackend backend;
  private final ProxyMetrics metrics;
  private final PicodTokens tokens;
  private final Map<String, String> bySandbox = new ConcurrentHashMap<>();

  public SessionRouter(SessionStoreOptions options, Ticker ticker, Clock clock, Scheduler scheduler,
      SandboxPools pools, SandboxBackend backend, ProxyMetrics metrics, PicodTokens tokens) {
    this.tokens = tokens;
    this.pools = pools;
    this.backend = backend;
    this.metrics = metrics;
    this.store = new SessionStore<>(options, ticker, clock, scheduler, this::sessionEnded);
    backend.onLost(this::sandboxLost);
  }

  public SessionStore<Sandbox> store() {
    return store;
  }

  /**
   * Opens a session of {@code definition}: takes a warm sandbox or waits for a cold one, then
   * binds it. Called on an event loop, the future completes there. The session is live (and
   * counted) only once it has a sandbox: a failed start creates no session.
   */
  public Future<Session<Sandbox>> open(RuntimeDefinition definition) {
    try {
      store.checkCapacity();
    } catch (AgentCubeException e) {
      return Future.failedFuture(e);
    }
    return onCallerContext(bindAndSign(definition));
  }

  private Future<Session<Sandbox>> bindAndSign(RuntimeDefinition definition) {
    Future<Session<Sandbox>> bound = pools.acquire(definition).map(a -> bind(a, definition));
    if (definition.authMode() != AuthMode.PICOD) {
      return bound;
    }
    // The session's first token is signed here, on a worker, so that requests never sign.
    return bound.compose(session -> tokens.issue(session.id()).transform(ar -> {
      if (ar.failed()) {
        store.end(session.id(), EndReason.DELETED);
        return Future.failedFuture(ar.cause());
      }
      return Future.succeededFuture(session);
    }));
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

  /** {@code Authorization} for a forward to a {@code picod} sandbox of {@code session}. */
  public String authorization(Session<Sandbox> session) {
    return tokens.authorization(session.id());
  }

  /** Binds a sandbox to a new session, with the timeouts of the definition declared now. */
  private Session<Sandbox> bind(Acquired acquired, RuntimeDefinition definition) {
    Sandbox sandbox = acquired.sandbox();
    Session<Sandbox> session;
    try {
      session = store.create(sandbox, definition.sessionTimeout(), definition.maxSessionDuration());
    } catch (AgentCubeException e) {
      backend.stop(sandbox);
      throw e;
    }
    bySandbox.put(sandbox.id(), session.id());
    if (!sandbox.alive()) {
      // Died between acquire and bind: the loss report may have come before the mapping.
      store.end(session.id(), EndReason.SANDBOX_LOST);
    }
    metrics.sessionCreated(acquired.launchType(), acquired.waitNanos());
    log.info("session created session={} runtime={} version={} sandbox={} launch={} waitMs={}",
        session.id(), sandbox.definition().label(), sandbox.definition().version(), sandbox.id(),
        acquired.launchType().tag(), acquired.waitNanos() / 1_000_000);
    return session;
  }

  /**
   * The live session {@code id}, counted in flight until {@link SessionStore#finish}.
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

  /** Ends session {@code id} at a client's request. @return whether it was live */
  public boolean delete(String id) {
    return SessionIds.isWellFormed(id) && store.end(id, EndReason.DELETED);
  }

  /** Ends the session of a sandbox that died under it (as reported by the backend or a forward). */
  public void sandboxLost(Sandbox sandbox) {
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
    tokens.forget(session.id());
    metrics.sessionEnded(reason);
    backend.stop(sandbox).onFailure(e ->
        log.warn("sandbox stop failed sandbox={} cause={}", sandbox.id(), e.getMessage()));
  }

  /** Ends every session (proxy shutdown). */
  public void close() {
    store.close();
  }
}
