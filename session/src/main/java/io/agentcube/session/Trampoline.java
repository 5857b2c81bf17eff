package io.agentcube.session;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a task at once on the calling thread, except a task handed over from inside a task this
 * executor is running on the same thread: that one waits in a queue and runs, on the same thread,
 * right after the current one returns.
 *
 * <p>Given to a Caffeine cache as its executor, it keeps the cache's removal listener out of the
 * cache's own maintenance: Caffeine runs maintenance under its eviction lock and hands each removal
 * notification to the executor from there. A direct executor ({@code Runnable::run}) would run the
 * listener under that lock, where writing to the same cache can re-enter maintenance (Caffeine
 * runs it inline when its write buffer is full). Here the notification runs after maintenance
 * returned and released the lock, still synchronously for the caller of {@code cleanUp()} or of the
 * write that triggered it, so tests stay deterministic.
 *
 * <p>A task that throws is logged and the queue goes on (Caffeine's own tasks log their failures
 * themselves).
 */
final class Trampoline implements Executor {

  private static final Logger log = LoggerFactory.getLogger(Trampoline.class);

  private static final class Runs {
    final ArrayDeque<Runnable> queued = new ArrayDeque<>();
    boolean running;
  }

  private final ThreadLocal<Runs> runs = ThreadLocal.withInitial(Runs::new);

  @Override
  public void execute(Runnable task) {
    Runs r = runs.get();
    if (r.running) {
      r.queued.add(task);
      return;
    }
    r.running = true;
    try {
      for (Runnable next = task; next != null; next = r.queued.poll()) {
        try {
          next.run();
        } catch (RuntimeException e) {
          log.warn("task failed task={}", next, e);
        }
      }
    } finally {
      r.running = false;
    }
  }
}
