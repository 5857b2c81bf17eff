package io.agentcube.sandbox;

import io.agentcube.runtime.RuntimeDefinition;
import io.vertx.core.Future;
import java.util.Collection;

/**
 * Where new sessions get their sandboxes: one warm pool per runtime version in use, and cold
 * starts when a pool is empty. {@link LocalSandboxPools} keeps each process's own pools (process
 * backend); the Kubernetes backend shares one pool of pods between replicas.
 *
 * <p>Thread-safe; futures complete on any thread.
 */
public interface SandboxPools {

  /** Told when a pool opens or closes, and of every sandbox start (for metrics). */
  interface Listener {
    void poolOpened(PoolView pool);

    void poolClosed(PoolView pool);

    /**
     * A start of a sandbox of {@code definition} (warm refill or cold start) ended after
     * {@code nanos}: ready when {@code failure} is {@code null}. Starts ended by a shutdown are
     * not reported. Called on any thread; must not block.
     */
    default void sandboxStarted(RuntimeDefinition definition, long nanos, Throwable failure) {}
  }

  /** What a pool shows of itself, for status and metrics. Reads are cheap and thread-safe. */
  interface PoolView {
    RuntimeDefinition definition();

    /** The size the pool keeps ({@code warmPoolSize}). */
    int desired();

    /** Ready, unbound sandboxes now. */
    int ready();

    /** Why the latest start failed, or {@code null} when it succeeded. */
    String lastStartError();
  }

  /** Serves exactly {@code definitions}: opens missing pools, closes the rest. */
  Future<Void> sync(Collection<RuntimeDefinition> definitions);

  /**
   * A sandbox of {@code definition} bound to the new session {@code sessionId}: warm when one is
   * ready, else a cold start. Fails with {@code POOL_EXHAUSTED}, {@code COLD_START_TIMEOUT},
   * {@code NOT_READY} or the start's own failure.
   */
  default Future<Acquired> acquire(RuntimeDefinition definition, String sessionId) {
    return acquire(definition, sessionId, null);
  }

  /** {@link #acquire(RuntimeDefinition, String)} for a session owned by {@code owner} (or null). */
  Future<Acquired> acquire(RuntimeDefinition definition, String sessionId, String owner);

  /** Takes a dead sandbox out of its pool. @return whether it was a warm (unbound) one */
  boolean remove(Sandbox sandbox);

  /** Requests waiting for a cold start now. */
  int coldStartQueueDepth();

  /** The pool of {@code definition}, or {@code null}. */
  PoolView pool(RuntimeDefinition definition);

  /** Closes every pool (stopping the ready sandboxes this process holds). */
  Future<Void> close();
}
