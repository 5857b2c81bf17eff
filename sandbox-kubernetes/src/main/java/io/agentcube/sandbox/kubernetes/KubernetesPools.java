package io.agentcube.sandbox.kubernetes;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.Acquired;
import io.agentcube.sandbox.LaunchType;
import io.agentcube.sandbox.PoolOptions;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxClaimConflict;
import io.agentcube.sandbox.SandboxPools;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pool of warm pods per runtime version, shared by every replica.
 *
 * <h2>Taking a sandbox</h2>
 * A new session claims a warm Ready pod of its version from this replica's watch (in random order,
 * so replicas rarely race for the same one; a lost race moves on to the next,
 * {@link KubernetesBackend#claim}). None left: a cold start, a pod created already bound to the
 * session, ready when Ready and its port accepts a connection, deleted when it is not within
 * {@code pool.startTimeout} ({@code 504 COLD_START_TIMEOUT}). Requests waiting for cold starts are
 * bounded by {@code pool.maxColdStartQueue} ({@code 503 POOL_EXHAUSTED}).
 *
 * <h2>Keeping the size</h2>
 * The leader alone reconciles (on every pod event, and every reconcile interval): per version in
 * use, warm pods it sees plus pods it created that the watch has not shown yet are brought to
 * {@code warmPoolSize}, at most {@code pool.maxConcurrentStarts} creations at once; surplus warm
 * pods, and warm pods of versions no longer in use, are deleted. A version whose pods fail to start
 * backs off (250 ms doubling up to {@code pool.refillBackoffMax}). Bound pods are the sessions'
 * business (the reaper), never the reconciler's.
 *
 * <p>Thread-safe.
 */
public final class KubernetesPools implements SandboxPools {

  private static final Logger log = LoggerFactory.getLogger(KubernetesPools.class);

  private final KubernetesBackend backend;
  private final Vertx vertx;
  private final PoolOptions options;
  private final Listener listener;
  private final Clock clock;
  private final Map<String, Pool> pools = new ConcurrentHashMap<>();
  private final AtomicInteger coldWaiting = new AtomicInteger();
  /** Warm creations in flight by this replica (as leader), over all pools. */
  private final AtomicInteger creating = new AtomicInteger();
  private final AtomicBoolean reconcileQueued = new AtomicBoolean();
  private final long timer;
  private volatile boolean closed;

  /** One version's pool: what status and metrics read. */
  final class Pool implements PoolView {
    private volatile RuntimeDefinition definition;
    /** Names of warm pods created by this replica that its watch has not shown yet. */
    final Set<String> unseen = ConcurrentHashMap.newKeySet();
    volatile String lastStartError;
    volatile long backoffUntilNanos;
    volatile int failures;

    Pool(RuntimeDefinition definition) {
      this.definition = definition;
    }

    @Override
    public RuntimeDefinition definition() {
      return definition;
    }

    @Override
    public int desired() {
      return definition.warmPoolSize();
    }

    @Override
    public int ready() {
      return backend.warmReady(definition).size();
    }

    @Override
    public String lastStartError() {
      return lastStartError;
    }
  }

  KubernetesPools(KubernetesBackend backend, Vertx vertx, PoolOptions options, Listener listener,
      Clock clock, long reconcileIntervalMs) {
    this.backend = backend;
    this.vertx = vertx;
    this.options = options;
    this.listener = listener;
    this.clock = clock;
    backend.startTimeout(options.startTimeout());
    backend.listen(b -> reconcileSoon());
    this.timer = vertx.setPeriodic(reconcileIntervalMs, id -> reconcileSoon());
  }

  @Override
  public synchronized Future<Void> sync(Collection<RuntimeDefinition> definitions) {
    Map<String, RuntimeDefinition> wanted = new HashMap<>();
    for (RuntimeDefinition d : definitions) {
      wanted.put(Labels.poolKey(d), d);
    }
    for (var it = pools.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!wanted.containsKey(e.getKey())) {
        it.remove();
        listener.poolClosed(e.getValue());
      }
    }
    for (var e : wanted.entrySet()) {
      Pool existing = pools.get(e.getKey());
      if (existing == null) {
        Pool p = new Pool(e.getValue());
        pools.put(e.getKey(), p);
        listener.poolOpened(p);
      } else {
        existing.definition = e.getValue();
      }
    }
    reconcileSoon();
    return Future.succeededFuture();
  }

  @Override
  public Future<Acquired> acquire(RuntimeDefinition definition, String sessionId, String owner) {
    Pool pool = pools.get(Labels.poolKey(definition));
    if (pool == null || closed) {
      return Future.failedFuture(new AgentCubeException(ErrorCode.NOT_READY,
          "runtime " + definition.ref() + " version " + definition.version() + " is not served"));
    }
    List<KubernetesSandbox> candidates = backend.warmReady(definition);
    Collections.shuffle(candidates);
    long t0 = System.nanoTime();
    return claimNext(pool, candidates, 0, sessionId, owner, t0);
  }

  private Future<Acquired> claimNext(Pool pool, List<KubernetesSandbox> candidates, int i,
      String sessionId, String owner, long t0) {
    if (i >= candidates.size()) {
      return coldStart(pool, sessionId, owner, t0);
    }
    java.time.Instant boundAt = clock.instant();
    return backend.claim(candidates.get(i), sessionId, boundAt, owner)
        .map(s -> {
          reconcileSoon(); // a warm pod was taken: the leader refills
          return new Acquired(s, LaunchType.WARM, System.nanoTime() - t0, boundAt);
        })
        .recover(err -> err instanceof SandboxClaimConflict
            ? claimNext(pool, candidates, i + 1, sessionId, owner, t0)
            : Future.failedFuture(err));
  }

  private Future<Acquired> coldStart(Pool pool, String sessionId, String owner, long t0) {
    if (coldWaiting.incrementAndGet() > options.maxColdStartQueue()) {
      coldWaiting.decrementAndGet();
      return Future.failedFuture(AgentCubeException.retryLater(ErrorCode.POOL_EXHAUSTED,
          "no warm pod ready for " + pool.definition().ref() + " and the cold-start queue is full",
          options.retryAfter()));
    }
    java.time.Instant boundAt = clock.instant();
    RuntimeDefinition d = pool.definition();
    long started = System.nanoTime();
    return backend.create(d, sessionId, boundAt, owner)
        .<Acquired>map(s -> new Acquired(s, LaunchType.COLD, System.nanoTime() - t0, boundAt))
        .andThen(ar -> {
          coldWaiting.decrementAndGet();
          reportStart(d, started, ar.cause());
          pool.lastStartError = ar.failed() ? ar.cause().getMessage() : null;
        });
  }

  @Override
  public boolean remove(Sandbox sandbox) {
    reconcileSoon();
    return sandbox.sessionId() == null;
  }

  @Override
  public int coldStartQueueDepth() {
    return coldWaiting.get();
  }

  @Override
  public Pool pool(RuntimeDefinition definition) {
    return pools.get(Labels.poolKey(definition));
  }

  /** Queues one reconciliation (coalesced: many events, one run). */
  void reconcileSoon() {
    if (closed || !backend.isLeader() || !reconcileQueued.compareAndSet(false, true)) {
      return;
    }
    vertx.runOnContext(v -> {
      reconcileQueued.set(false);
      try {
        reconcile();
      } catch (RuntimeException e) {
        log.warn("pool reconcile failed", e);
      }
    });
  }

  /** The leader's pass over every pool; see the class comment. Only reads the watch's state. */
  private void reconcile() {
    if (closed || !backend.isLeader()) {
      return;
    }
    Map<String, List<KubernetesSandbox>> warmByPool = new HashMap<>();
    for (KubernetesSandbox s : backend.warmPods()) {
      warmByPool.computeIfAbsent(Labels.poolKey(s.definition()), k -> new ArrayList<>()).add(s);
    }
    for (var e : warmByPool.entrySet()) {
      if (!pools.containsKey(e.getKey())) {
        for (KubernetesSandbox s : e.getValue()) {
          log.info("warm pod of a version no longer served deleted pod={}/{}", s.namespace, s.podName);
          backend.stop(s);
        }
      }
    }
    long now = System.nanoTime();
    for (var e : pools.entrySet()) {
      Pool pool = e.getValue();
      List<KubernetesSandbox> warm = warmByPool.getOrDefault(e.getKey(), List.of());
      for (KubernetesSandbox s : warm) {
        pool.unseen.remove(s.podName);
      }
      int have = warm.size() + pool.unseen.size();
      int desired = pool.desired();
      if (have > desired) {
        // Not-ready ones first: they serve nobody yet.
        List<KubernetesSandbox> surplus = new ArrayList<>(warm);
        surplus.sort((a, b) -> Boolean.compare(a.ready, b.ready));
        for (int i = 0; i < have - desired && i < surplus.size(); i++) {
          backend.stop(surplus.get(i));
        }
        continue;
      }
      if (pool.backoffUntilNanos - now > 0) {
        continue;
      }
      for (int i = have; i < desired && creating.get() < options.maxConcurrentStarts(); i++) {
        createWarm(pool);
      }
    }
  }

  private void createWarm(Pool pool) {
    creating.incrementAndGet();
    RuntimeDefinition d = pool.definition();
    // The name is known once the pod is built; it counts as unseen until the watch shows it.
    String[] name = new String[1];
    long started = System.nanoTime();
    backend.create(d, null, null, n -> {
      name[0] = n;
      pool.unseen.add(n);
    }).onComplete(ar -> {
      creating.decrementAndGet();
      reportStart(d, started, ar.cause());
      if (name[0] != null) {
        pool.unseen.remove(name[0]);
      }
      if (ar.succeeded()) {
        pool.failures = 0;
        pool.lastStartError = null;
      } else {
        pool.failures++;
        pool.lastStartError = ar.cause().getMessage();
        long delayMs = Math.min(250L << Math.min(pool.failures, 16), options.refillBackoffMax().toMillis());
        pool.backoffUntilNanos = System.nanoTime() + delayMs * 1_000_000;
        vertx.setTimer(delayMs, id -> reconcileSoon());
        log.warn("warm pod start failed runtime={} version={} failures={} cause={}", d.label(),
            d.version(), pool.failures, ar.cause().getMessage());
      }
      reconcileSoon();
    });
  }

  /** Tells the listener how a start ended; not when it was ended by this replica's shutdown. */
  private void reportStart(RuntimeDefinition d, long startedNanos, Throwable failure) {
    if (!closed) {
      listener.sandboxStarted(d, System.nanoTime() - startedNanos, failure);
    }
  }

  @Override
  public Future<Void> close() {
    closed = true;
    vertx.cancelTimer(timer);
    for (Pool p : pools.values()) {
      listener.poolClosed(p);
    }
    pools.clear();
    return Future.succeededFuture();
  }
}
