package io.agentcube.sandbox;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.Durations;
import io.agentcube.runtime.RuntimeDefinition;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ready, unbound sandboxes of one runtime version, and the requests waiting for one.
 *
 * <h2>Design</h2>
 * A pool keeps {@code pending} starts in flight (queued in the {@link StartLimiter} or running) so
 * that {@code ready + pending >= warmPoolSize + waiters}. Every finished start goes to the oldest
 * waiter first (that request's "cold start"), else into {@code ready} while it is below
 * {@code warmPoolSize}, else it is stopped. So a taken sandbox is replaced at once, the pool never
 * holds more than {@code warmPoolSize}, and a request that timed out does not cancel its start:
 * the late sandbox joins the pool or is stopped. A queued start re-checks when its turn comes and
 * is dropped if it is no longer needed.
 *
 * <p>A failing start fails the oldest waiter with the cause and pauses warm refills with an
 * exponential backoff (waiting requests still get their own attempt), so a broken command does not
 * spin.
 *
 * <h2>Concurrency</h2>
 * Thread-safe: state is guarded by {@code this}; no lock is held while calling the backend, the
 * limiter or completing a promise. Returned futures complete on any thread.
 */
public final class WarmPool implements SandboxPools.PoolView {

  private static final Logger log = LoggerFactory.getLogger(WarmPool.class);

  private volatile RuntimeDefinition definition;
  private final SandboxBackend backend;
  private final StartLimiter limiter;
  private final ColdStartQueue coldQueue;
  private final Vertx vertx;
  private final PoolOptions options;
  private final SandboxPools.Listener listener;

  // guarded by this
  private final ArrayDeque<Sandbox> ready = new ArrayDeque<>();
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private int pending;
  private int consecutiveFailures;
  private String lastStartError;
  private boolean backingOff;
  private boolean closed;

  WarmPool(RuntimeDefinition definition, SandboxBackend backend, StartLimiter limiter,
      ColdStartQueue coldQueue, Vertx vertx, PoolOptions options, SandboxPools.Listener listener) {
    this.definition = definition;
    this.backend = backend;
    this.limiter = limiter;
    this.coldQueue = coldQueue;
    this.vertx = vertx;
    this.options = options;
    this.listener = listener;
  }

  @Override
  public RuntimeDefinition definition() {
    return definition;
  }

  /** The size the pool keeps. */
  @Override
  public int desired() {
    return definition.warmPoolSize();
  }

  /** Ready, unbound sandboxes now. */
  @Override
  public synchronized int ready() {
    return ready.size();
  }

  /** Requests waiting for a cold start now. */
  public synchronized int waiting() {
    return waiters.size();
  }

  /** Why the latest start failed, or {@code null} when the latest start succeeded. */
  @Override
  public synchronized String lastStartError() {
    return lastStartError;
  }

  /** Starts queued or running for this pool. */
  public synchronized int pending() {
    return pending;
  }

  /**
   * Takes a ready sandbox, or waits for one to start.
   *
   * <p>Fails with {@code POOL_EXHAUSTED} when the cold-start queue is full, {@code
   * COLD_START_TIMEOUT} when none is ready within the start timeout, {@code NOT_READY} when the
   * pool closes, or with the start's own failure.
   */
  public Future<Acquired> acquire() {
    long t0 = System.nanoTime();
    Sandbox hit = null;
    Waiter waiter = null;
    synchronized (this) {
      if (closed) {
        return Future.failedFuture(notServing());
      }
      while ((hit = ready.poll()) != null && !hit.alive()) {
        log.debug("dropping dead warm sandbox sandbox={}", hit.id());
      }
      if (hit == null) {
        if (!coldQueue.tryEnter()) {
          return Future.failedFuture(AgentCubeException.retryLater(ErrorCode.POOL_EXHAUSTED,
              "no sandbox ready for " + definition.ref() + " and the cold-start queue is full",
              options.retryAfter()));
        }
        Waiter w = new Waiter(Promise.promise(), t0);
        w.timer = vertx.setTimer(options.startTimeout().toMillis(), id -> timeOut(w));
        waiters.add(w);
        waiter = w;
      }
    }
    fill();
    if (hit != null) {
      return Future.succeededFuture(new Acquired(hit, LaunchType.WARM, System.nanoTime() - t0));
    }
    return waiter.promise.future();
  }

  /**
   * Takes a new definition of the same template (e.g. another {@code warmPoolSize} or timeouts):
   * sandboxes started from now on carry it; ready ones above the new size are stopped.
   */
  void update(RuntimeDefinition next) {
    List<Sandbox> extra = new ArrayList<>();
    synchronized (this) {
      definition = next;
      while (ready.size() > next.warmPoolSize()) {
        extra.add(ready.pollLast());
      }
    }
    extra.forEach(backend::stop);
    fill();
  }

  /** Starts filling the pool to its warm size; called once when the pool opens. */
  void prefill() {
    fill();
  }

  /**
   * Removes {@code sandbox} if it is one of this pool's ready ones (it died) and refills.
   *
   * @return whether it was in this pool
   */
  public boolean remove(Sandbox sandbox) {
    boolean removed;
    synchronized (this) {
      removed = ready.remove(sandbox);
    }
    if (removed) {
      log.info("warm sandbox lost runtime={} sandbox={}", definition.label(), sandbox.id());
      fill();
    }
    return removed;
  }

  /** Stops the ready sandboxes and fails the waiters; starts in flight are stopped as they land. */
  public Future<Void> close() {
    List<Sandbox> toStop;
    List<Waiter> toFail;
    synchronized (this) {
      if (closed) {
        return Future.succeededFuture();
      }
      closed = true;
      toStop = new ArrayList<>(ready);
      ready.clear();
      toFail = new ArrayList<>(waiters);
      waiters.clear();
    }
    for (Waiter w : toFail) {
      vertx.cancelTimer(w.timer);
      coldQueue.leave();
      w.promise.tryFail(notServing());
    }
    List<Future<Void>> stops = new ArrayList<>();
    for (Sandbox s : toStop) {
      stops.add(backend.stop(s));
    }
    return Future.join(stops).mapEmpty();
  }

  private AgentCubeException notServing() {
    return new AgentCubeException(ErrorCode.NOT_READY,
        "runtime " + definition.ref() + " version " + definition.version() + " is no longer served");
  }

  /** Asks the limiter for as many starts as the pool is short of. */
  private void fill() {
    int toStart;
    boolean urgent;
    synchronized (this) {
      if (closed) {
        return;
      }
      toStart = target() - ready.size() - pending;
      if (toStart <= 0) {
        return;
      }
      pending += toStart;
      urgent = !waiters.isEmpty();
    }
    for (int i = 0; i < toStart; i++) {
      limiter.submit(urgent, this::startOne);
    }
  }

  /** Sandboxes wanted ready or in flight: the warm size (unless backing off) plus the waiters. */
  private int target() {
    return (backingOff ? 0 : desired()) + waiters.size();
  }

  /** Runs when the limiter gives this pool a slot; {@code null} when the start is not needed. */
  private Future<?> startOne() {
    synchronized (this) {
      if (closed || ready.size() + pending - 1 >= target()) {
        pending--;
        return null;
      }
    }
    long t0 = System.nanoTime();
    Future<Sandbox> started;
    try {
      started = backend.start(definition);
    } catch (RuntimeException e) {
      // A backend that throws instead of failing its future: still one failed start, so that
      // pending is given back and the pool keeps refilling.
      started = Future.failedFuture(e);
    }
    RuntimeDefinition d = definition;
    return started.andThen(ar -> {
      if (ar.succeeded()) {
        listener.sandboxStarted(d, System.nanoTime() - t0, null);
        landed(ar.result(), t0);
      } else {
        failed(d, ar.cause(), System.nanoTime() - t0);
      }
    });
  }

  private void landed(Sandbox sandbox, long t0) {
    Waiter waiter;
    boolean keep = false;
    synchronized (this) {
      pending--;
      consecutiveFailures = 0;
      lastStartError = null;
      waiter = closed ? null : waiters.poll();
      if (waiter == null && !closed && ready.size() < desired()) {
        ready.add(sandbox);
        keep = true;
      }
    }
    log.debug("sandbox started runtime={} sandbox={} ms={}", definition.label(), sandbox.id(),
        (System.nanoTime() - t0) / 1_000_000);
    if (waiter != null) {
      vertx.cancelTimer(waiter.timer);
      coldQueue.leave();
      if (!waiter.promise.tryComplete(
          new Acquired(sandbox, LaunchType.COLD, System.nanoTime() - waiter.startNanos))) {
        backend.stop(sandbox);
      }
    } else if (!keep) {
      backend.stop(sandbox);
    }
    fill();
  }

  private void failed(RuntimeDefinition d, Throwable cause, long nanos) {
    Waiter waiter;
    long delayMs = 0;
    synchronized (this) {
      pending--;
      consecutiveFailures++;
      lastStartError = cause.getMessage();
      waiter = waiters.poll();
      if (!backingOff && !closed) {
        backingOff = true;
        long base = 250L << Math.min(consecutiveFailures, 16);
        delayMs = Math.min(base, options.refillBackoffMax().toMillis());
      }
    }
    boolean wasClosed;
    synchronized (this) {
      wasClosed = closed;
    }
    if (wasClosed) {
      log.debug("sandbox start ended by shutdown runtime={} cause={}", definition.label(), cause.getMessage());
    } else {
      listener.sandboxStarted(d, nanos, cause);
      log.warn("sandbox start failed runtime={} version={} failures={} cause={}",
          definition.label(), definition.version(), consecutiveFailures, cause.getMessage());
    }
    if (waiter != null) {
      vertx.cancelTimer(waiter.timer);
      coldQueue.leave();
      waiter.promise.tryFail(cause instanceof AgentCubeException ? cause
          : new AgentCubeException(ErrorCode.SANDBOX_UNREACHABLE,
              "sandbox for " + definition.ref() + " failed to start: " + cause.getMessage(), cause));
    }
    if (delayMs > 0) {
      vertx.setTimer(delayMs, id -> {
        synchronized (this) {
          backingOff = false;
        }
        fill();
      });
    }
  }

  private void timeOut(Waiter waiter) {
    boolean removed;
    synchronized (this) {
      removed = waiters.remove(waiter);
    }
    if (removed) {
      coldQueue.leave();
      waiter.promise.tryFail(AgentCubeException.stackless(ErrorCode.COLD_START_TIMEOUT,
          "no sandbox for " + definition.ref() + " became ready within "
              + Durations.format(options.startTimeout())));
    }
  }

  /** A request waiting for a cold start. */
  private static final class Waiter {
    final Promise<Acquired> promise;
    final long startNanos;
    volatile long timer;

    Waiter(Promise<Acquired> promise, long startNanos) {
      this.promise = promise;
      this.startNanos = startNanos;
    }
  }
}
