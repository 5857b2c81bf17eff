package io.agentcube.sandbox;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.RuntimeDefinition;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pools of one process: a {@link WarmPool} per runtime version in use, each holding the ready
 * sandboxes this process started, sharing one start limiter and one cold-start queue. What the
 * process backend uses; where several replicas share one pool of pods, the Kubernetes backend
 * brings its own {@link SandboxPools}.
 *
 * <p>{@link #sync} is the only way pools come and go: it is called with every definition that
 * should be served (at start-up and on each runtime change), opens pools for new versions and
 * closes the others. Sessions keep their sandboxes when their version's pool closes.
 *
 * <p>Thread-safe.
 */
public final class LocalSandboxPools implements SandboxPools {

  private final SandboxBackend backend;
  private final Clock clock;
  private final Vertx vertx;
  private final PoolOptions options;
  private final StartLimiter limiter;
  private final ColdStartQueue coldQueue;
  private final Listener listener;
  private final Map<String, WarmPool> pools = new ConcurrentHashMap<>();

  /** Candidates tried for one new session before giving up on claims lost to other replicas. */
  static final int CLAIM_ATTEMPTS = 8;

  public LocalSandboxPools(SandboxBackend backend, Vertx vertx, PoolOptions options, Listener listener) {
    this(backend, vertx, options, listener, Clock.systemUTC());
  }

  /** @param clock the wall clock that stamps a session's creation when its sandbox is claimed */
  public LocalSandboxPools(SandboxBackend backend, Vertx vertx, PoolOptions options, Listener listener,
      Clock clock) {
    this.clock = clock;
    this.backend = backend;
    this.vertx = vertx;
    this.options = options;
    this.limiter = new StartLimiter(options.maxConcurrentStarts());
    this.coldQueue = new ColdStartQueue(options.maxColdStartQueue());
    this.listener = listener;
  }

  private static String key(RuntimeDefinition d) {
    return d.ref() + "#" + d.templateHash();
  }

  /** Serves exactly {@code definitions}: opens missing pools, closes the rest. */
  @Override
  public synchronized Future<Void> sync(Collection<RuntimeDefinition> definitions) {
    Map<String, RuntimeDefinition> wanted = new java.util.HashMap<>();
    for (RuntimeDefinition d : definitions) {
      wanted.put(key(d), d);
    }
    List<Future<Void>> closing = new ArrayList<>();
    for (var it = pools.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!wanted.containsKey(e.getKey())) {
        it.remove();
        listener.poolClosed(e.getValue());
        closing.add(e.getValue().close());
      }
    }
    for (var e : wanted.entrySet()) {
      WarmPool existing = pools.get(e.getKey());
      if (existing != null && !existing.definition().equals(e.getValue())) {
        existing.update(e.getValue());
      }
      if (existing == null) {
        WarmPool pool = new WarmPool(e.getValue(), backend, limiter, coldQueue, vertx, options,
            listener);
        pools.put(e.getKey(), pool);
        listener.poolOpened(pool);
        pool.prefill();
      }
    }
    return Future.join(closing).mapEmpty();
  }

  /**
   * A sandbox of {@code definition} bound to the new session {@code sessionId}: a warm or cold one
   * from the pool ({@link WarmPool#acquire()}), claimed for the session. A claim that another
   * process won ({@link SandboxClaimConflict}) moves on to the next candidate, at most
   * {@value #CLAIM_ATTEMPTS} times; a claim that fails otherwise stops the sandbox and fails.
   */
  @Override
  public Future<Acquired> acquire(RuntimeDefinition definition, String sessionId, String owner) {
    WarmPool pool = pools.get(key(definition));
    if (pool == null) {
      return Future.failedFuture(new AgentCubeException(ErrorCode.NOT_READY,
          "runtime " + definition.ref() + " version " + definition.version() + " is not served"));
    }
    return claim(pool, sessionId, owner, 1);
  }

  private Future<Acquired> claim(WarmPool pool, String sessionId, String owner, int attempt) {
    return pool.acquire().compose(acquired -> {
      Instant boundAt = clock.instant();
      return backend.claim(acquired.sandbox(), sessionId, boundAt, owner)
        .map(bound -> new Acquired(bound, acquired.launchType(), acquired.waitNanos(), boundAt))
        .recover(err -> {
          if (err instanceof SandboxClaimConflict && attempt < CLAIM_ATTEMPTS) {
            return claim(pool, sessionId, owner, attempt + 1);
          }
          if (!(err instanceof SandboxClaimConflict)) {
            backend.stop(acquired.sandbox());
          }
          return Future.failedFuture(err instanceof AgentCubeException ? err
              : new AgentCubeException(ErrorCode.SANDBOX_UNREACHABLE,
                  "could not bind a sandbox of " + pool.definition().ref() + ": " + err.getMessage(), err));
        });
    });
  }

  /** Takes a dead sandbox out of its pool. @return whether it was a warm (unbound) one */
  @Override
  public boolean remove(Sandbox sandbox) {
    WarmPool pool = pools.get(key(sandbox.definition()));
    return pool != null && pool.remove(sandbox);
  }

  /** Requests waiting for a cold start, over all pools. */
  @Override
  public int coldStartQueueDepth() {
    return coldQueue.depth();
  }

  /** The pool of {@code definition}, or {@code null}. */
  @Override
  public WarmPool pool(RuntimeDefinition definition) {
    return pools.get(key(definition));
  }

  /** Closes every pool (stopping its ready sandboxes). */
  @Override
  public synchronized Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    for (WarmPool p : pools.values()) {
      listener.poolClosed(p);
      closing.add(p.close());
    }
    pools.clear();
    return Future.join(closing).mapEmpty();
  }
}
