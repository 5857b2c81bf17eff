package io.agentcube.session;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions, their deadlines and the reaper.
 *
 * <h2>Design</h2>
 * Sessions live in a Caffeine cache with variable expiry. Each entry's expiry is recomputed on
 * every change from the session's own deadlines ({@link Session#remainingNanos}): the earlier of
 * the idle deadline ({@code lastActivity + sessionTimeout}) and the hard deadline ({@code created
 * + maxSessionDuration}); while a request or stream is in flight only the hard deadline counts.
 * Caffeine keeps entries in a hierarchical timer wheel, so expiring is O(1) per session with no
 * scan, and the injected {@link Scheduler} wakes the cache up at the next deadline: with the
 * system scheduler a session is reaped within about a second of its deadline.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>Every removal (expiry, {@link #end}, {@link #close}) reaches the {@link EndListener}
 *       exactly once per session, with the reason: Caffeine notifies once per removed entry.</li>
 *   <li>A session with {@code inFlight > 0} is never removed for idleness.</li>
 *   <li>At most {@code maxSessions} live sessions; ended ids are remembered in a second, bounded
 *       cache so that clients learn why a session is gone.</li>
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe. {@link #begin} and {@link #finish} change a session inside
 * {@code asMap().computeIfPresent}, which Caffeine serialises per key against expiry; an entry
 * whose deadline passed is treated as absent by that compute, so a request can never revive a
 * session the reaper is ending. The listener runs on the thread that removed the entry (a request
 * thread, or the scheduler's thread for expiry) and must not block.
 *
 * @param <T> the sandbox type sessions are bound to
 */
public final class SessionStore<T> implements AutoCloseable {

  /** Told when a session ends, exactly once per session. Must not block. */
  @FunctionalInterface
  public interface EndListener<T> {
    void sessionEnded(Session<T> session, EndReason reason);
  }

  private static final Logger log = LoggerFactory.getLogger(SessionStore.class);

  private final SessionStoreOptions options;
  private final Ticker ticker;
  private final Clock clock;
  private final EndListener<T> listener;
  private final Cache<String, Session<T>> sessions;
  private final ConcurrentMap<String, Session<T>> map;
  private final Cache<String, EndReason> ended;
  private final AtomicInteger live = new AtomicInteger();

  /**
   * @param ticker time source for deadlines (a fake one in tests)
   * @param clock wall clock, read once per session for {@link Session#createdAt()}
   * @param scheduler wakes the cache at the next deadline; {@link Scheduler#systemScheduler()} in
   *     production, {@link Scheduler#disabledScheduler()} with {@link #cleanUp()} in tests
   */
  public SessionStore(SessionStoreOptions options, Ticker ticker, Clock clock, Scheduler scheduler,
      EndListener<T> listener) {
    this.options = options;
    this.ticker = ticker;
    this.clock = clock;
    this.listener = listener;
    this.sessions = Caffeine.newBuilder()
        .ticker(ticker)
        .scheduler(scheduler)
        .executor(Runnable::run)
        .expireAfter(new DeadlineExpiry<T>())
        .removalListener(this::onRemoval)
        .build();
    this.map = sessions.asMap();
    this.ended = Caffeine.newBuilder()
        .ticker(ticker)
        .executor(Runnable::run)
        .maximumSize(options.endedMemorySize())
        .expireAfterWrite(options.endedMemory())
        .build();
  }

  /**
   * Creates a live session bound to {@code binding}.
   *
   * @throws AgentCubeException {@code SESSION_LIMIT} when {@code maxSessions} are live
   */
  public Session<T> create(T binding, Duration idleTimeout, Duration maxDuration) {
    reserve();
    Session<T> session = new Session<>(SessionIds.generate(), binding, clock.instant(),
        ticker.read(), idleTimeout, maxDuration);
    // 128 random bits: a collision is not a case to handle, but never overwrite a session.
    if (map.putIfAbsent(session.id(), session) != null) {
      live.decrementAndGet();
      throw new IllegalStateException("session id collision");
    }
    return session;
  }

  /** Fails fast with {@code SESSION_LIMIT} when no session could be created now. */
  public void checkCapacity() {
    if (live.get() >= options.maxSessions()) {
      throw limitReached();
    }
  }

  private void reserve() {
    if (live.incrementAndGet() > options.maxSessions()) {
      live.decrementAndGet();
      throw limitReached();
    }
  }

  private AgentCubeException limitReached() {
    return AgentCubeException.retryLater(ErrorCode.SESSION_LIMIT,
        "session limit reached (" + options.maxSessions() + " live sessions)", Duration.ofSeconds(1));
  }

  /**
   * Marks a request of session {@code id} as started: counts it in flight and records activity.
   * Every non-null return must be paired with one {@link #finish}.
   *
   * @return the live session, or {@code null} when there is none (see {@link #endedReason})
   */
  @SuppressWarnings("unchecked")
  public Session<T> begin(String id) {
    Object[] found = new Object[1];
    map.computeIfPresent(id, (k, s) -> {
      s.begin(ticker.read());
      found[0] = s;
      return s;
    });
    return (Session<T>) found[0];
  }

  /** Marks a request begun with {@link #begin} as finished and restarts the idle clock. */
  public void finish(Session<T> session) {
    map.computeIfPresent(session.id(), (k, s) -> {
      if (s == session) {
        s.finish(ticker.read());
      }
      return s;
    });
  }

  /** The live session {@code id} without recording activity, or {@code null}. */
  public Session<T> get(String id) {
    return sessions.getIfPresent(id);
  }

  /**
   * Pushes the idle deadline of {@code id} to now + {@code timeout} (never past the hard deadline).
   *
   * @return the session, or {@code null} when it is not live
   */
  @SuppressWarnings("unchecked")
  public Session<T> keepalive(String id, Duration timeout) {
    Object[] found = new Object[1];
    map.computeIfPresent(id, (k, s) -> {
      s.keepalive(ticker.read(), timeout);
      found[0] = s;
      return s;
    });
    return (Session<T>) found[0];
  }

  /**
   * Ends session {@code id} now for {@code reason}; the listener is told once.
   *
   * @return whether this call ended it (false when it was not live)
   */
  public boolean end(String id, EndReason reason) {
    boolean[] removed = new boolean[1];
    map.computeIfPresent(id, (k, s) -> {
      removed[0] = s.markEnded(reason);
      return null;
    });
    return removed[0];
  }

  /** Why the recently ended session {@code id} ended, or {@code null} if unknown or live. */
  public EndReason endedReason(String id) {
    return ended.getIfPresent(id);
  }

  /** Live sessions. */
  public int size() {
    return live.get();
  }

  /** A snapshot of the live sessions that match {@code filter}, in no particular order. */
  public List<Session<T>> snapshot(Predicate<Session<T>> filter) {
    List<Session<T>> out = new ArrayList<>();
    for (Session<T> s : map.values()) {
      if (filter.test(s)) {
        out.add(s);
      }
    }
    return out;
  }

  /** Runs pending expiry now; for tests that advance a fake ticker. */
  public void cleanUp() {
    sessions.cleanUp();
  }

  /** Ends every live session with {@link EndReason#SHUTDOWN}. */
  @Override
  public void close() {
    for (String id : List.copyOf(map.keySet())) {
      end(id, EndReason.SHUTDOWN);
    }
    sessions.cleanUp();
  }

  private void onRemoval(String id, Session<T> session, RemovalCause cause) {
    if (session == null) {
      return;
    }
    EndReason reason;
    if (cause == RemovalCause.EXPIRED) {
      reason = session.pastHardDeadline(ticker.read()) ? EndReason.MAX_DURATION : EndReason.IDLE;
      session.markEnded(reason);
    } else {
      reason = session.endReason();
      if (reason == null) {
        // Not a path this class takes (no size bound, no replace); record it honestly.
        log.warn("session removed unexpectedly session={} cause={}", id, cause);
        reason = EndReason.DELETED;
        session.markEnded(reason);
      }
    }
    live.decrementAndGet();
    ended.put(id, reason);
    log.info("session ended session={} reason={}", id, reason.tag());
    listener.sessionEnded(session, reason);
  }

  /** Expiry = the session's own next deadline, recomputed whenever it changes. */
  private static final class DeadlineExpiry<T> implements Expiry<String, Session<T>> {
    @Override
    public long expireAfterCreate(String key, Session<T> s, long now) {
      return s.remainingNanos(now);
    }

    @Override
    public long expireAfterUpdate(String key, Session<T> s, long now, long currentDuration) {
      return s.remainingNanos(now);
    }

    @Override
    public long expireAfterRead(String key, Session<T> s, long now, long currentDuration) {
      return currentDuration;
    }
  }
}
