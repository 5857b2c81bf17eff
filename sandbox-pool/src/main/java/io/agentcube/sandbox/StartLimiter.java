package io.agentcube.sandbox;

import java.util.ArrayDeque;
import java.util.function.Supplier;
import io.vertx.core.Future;

/**
 * Bounds how many sandboxes start at once, over all pools.
 *
 * <p>Starts a request is waiting for ({@code urgent}) run before warm-pool refills. A task is a
 * supplier of the start's future; it may return {@code null} when, by the time its turn comes, it
 * is no longer needed. The slot is held until the future completes.
 *
 * <p>Thread-safe; tasks run on the thread that frees a slot or submits, outside the lock. The
 * queues hold at most one entry per start a pool has asked for, and pools bound those (warm size
 * plus the bounded cold-start queue).
 */
final class StartLimiter {

  private final int maxConcurrent;
  private final ArrayDeque<Supplier<Future<?>>> urgent = new ArrayDeque<>();
  private final ArrayDeque<Supplier<Future<?>>> background = new ArrayDeque<>();
  private int running;

  StartLimiter(int maxConcurrent) {
    this.maxConcurrent = maxConcurrent;
  }

  void submit(boolean isUrgent, Supplier<Future<?>> task) {
    synchronized (this) {
      (isUrgent ? urgent : background).add(task);
    }
    drain();
  }

  private void drain() {
    while (true) {
      Supplier<Future<?>> task;
      synchronized (this) {
        if (running >= maxConcurrent) {
          return;
        }
        task = urgent.poll();
        if (task == null) {
          task = background.poll();
        }
        if (task == null) {
          return;
        }
        running++;
      }
      Future<?> started;
      try {
        started = task.get();
      } catch (RuntimeException e) {
        started = Future.failedFuture(e);
      }
      if (started == null) {
        release();
      } else {
        started.onComplete(ar -> {
          release();
          drain();
        });
      }
    }
  }

  private synchronized void release() {
    running--;
  }
}
