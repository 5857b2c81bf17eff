package io.agentcube.session;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One wake-up per live session, at or before the moment it could next be due
 * ({@link Session#nextCheck}); the reaper's timer.
 *
 * <p>A Caffeine cache with variable expiry used as a timer: an entry's expiry is computed from the
 * session when it is armed, Caffeine keeps it in its hierarchical timer wheel (O(1) per timer) and
 * the injected {@link Scheduler} runs maintenance at the next expiry, so a wake-up comes within
 * about a second of its time. A wake-up is a hint, never a decision: {@code onDue} gets the
 * session, ends it if a deadline passed (a CAS on its state word) and otherwise arms it again.
 * Requests never touch this cache: a timer armed before a request started or finished only fires
 * early, and is then armed again for the moved deadline.
 *
 * <p>Thread-safe. {@code onDue} runs on the thread that ran the cache's maintenance (the scheduler's
 * thread, or a caller of {@link #cleanUp}, {@link #arm} or {@link #disarm}), after maintenance
 * released its lock ({@link Trampoline}), so it may arm timers.
 */
final class SessionTimers<T> {

  private final Trampoline executor = new Trampoline();
  private final Cache<String, Session<T>> timers;

  /** @param idleEnds whether idleness ends sessions here now (see {@link ExpiryAuthority}) */
  SessionTimers(Ticker ticker, Scheduler scheduler, BooleanSupplier idleEnds,
      Consumer<Session<T>> onDue) {
    this.timers = Caffeine.newBuilder()
        .ticker(ticker)
        .scheduler(scheduler)
        .executor(executor)
        .expireAfter(new NextCheck<T>(idleEnds))
        .<String, Session<T>>removalListener((id, session, cause) -> {
          if (cause == RemovalCause.EXPIRED && session != null) {
            onDue.accept(session);
          }
        })
        .build();
  }

  /** Sets the session's timer to its {@link Session#nextCheck} as of now, replacing any other. */
  void arm(Session<T> session) {
    timers.put(session.id(), session);
    // Ended while being armed: its end may have disarmed before this put.
    if (session.endReason() != null) {
      disarm(session);
    }
  }

  /** Drops the session's timer, if any. */
  void disarm(Session<T> session) {
    timers.asMap().remove(session.id(), session);
  }

  /**
   * Runs due wake-ups now, on this thread, and returns after their {@code onDue} calls (when
   * called from inside an {@code onDue}, they run right after it instead).
   */
  void cleanUp() {
    executor.execute(timers::cleanUp);
  }

  /** Armed timers (tests). */
  long size() {
    return timers.estimatedSize();
  }

  private static final class NextCheck<T> implements Expiry<String, Session<T>> {
    private final BooleanSupplier idleEnds;

    NextCheck(BooleanSupplier idleEnds) {
      this.idleEnds = idleEnds;
    }

    @Override
    public long expireAfterCreate(String id, Session<T> s, long now) {
      return Math.max(0, s.nextCheck(now, idleEnds.getAsBoolean()) - now);
    }

    @Override
    public long expireAfterUpdate(String id, Session<T> s, long now, long currentDuration) {
      return Math.max(0, s.nextCheck(now, idleEnds.getAsBoolean()) - now);
    }

    @Override
    public long expireAfterRead(String id, Session<T> s, long now, long currentDuration) {
      return currentDuration;
    }
  }
}
