package io.agentcube.session;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions, their deadlines and the reaper.
 *
 * <h2>Design</h2>
 * A session has two deadlines: idle ({@code D}: the last request's end + {@code sessionTimeout},
 * or what {@link #keepalive} set) and hard ({@code created + maxSessionDuration}); while a request
 * or stream is in flight only the hard one counts. {@link #begin} and {@link #finish} run on every
 * forwarded request, so each is one map read (begin only) and one CAS on the session's state word
 * ({@link Session}: end reason, requests in flight and {@code D} in one {@code long}): no lock, no
 * allocation, no cache write. Sessions live in a plain {@link ConcurrentHashMap} bounded by
 * {@code maxSessions}. Expiry is decided on the state word alone; a timer per session
 * ({@link SessionTimers}: Caffeine's timer wheel woken by the injected {@link Scheduler}) only says
 * when to look, so with the system scheduler a session is reaped within about a second of its
 * deadline.
 *
 * <p>Why not let Caffeine expire the sessions themselves, as the first version did: an eviction
 * cannot be vetoed, so a request starting as an entry's expiry passes would race it unless every
 * begin and finish rewrote the expiry under the entry's lock, two {@code computeIfPresent} per
 * request, each running Caffeine's maintenance ({@code SessionLookupBench}: 0.7 to 3 us per
 * request, against 0.1 to 0.8 us for a read). Here a timer may fire early as often as it likes; a
 * session ends only by the CAS that finds its word due.
 *
 * <h2>Protocol</h2>
 * <ol>
 *   <li>{@code begin}: CAS in-flight + 1, only from a live word that is not due at a time read
 *       after the word; a due word is ended right there, with its deadline's reason.</li>
 *   <li>{@code finish}: CAS in-flight - 1 and {@code D := max(D, now + timeout)} in one step.</li>
 *   <li>End (reaper, {@link #end}, or any call that finds the word due): CAS the reason in, from
 *       a live word; for idleness only from one with nothing in flight. The winner alone removes
 *       the session, disarms its timer and tells the {@link EndListener}.</li>
 *   <li>Timer: armed at create and keepalive for the word's next deadline (in flight: one idle
 *       timeout ahead); on firing, the reaper ends the session if due, else arms it again.</li>
 * </ol>
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>The end listener is told exactly once per session, with the reason: one CAS wins.</li>
 *   <li>A request never revives an ended or expired session, and a session with a request in
 *       flight is never ended for idleness: admission and ending are CASes on the same word, each
 *       from a word it judged by itself. A session past a deadline is gone for every call even
 *       before the reaper gets to it.</li>
 *   <li>When the last request finishes, {@code D} is at least every finish's time + timeout: the
 *       idle clock restarts then.</li>
 *   <li>Every live session has a timer armed at or before the moment it could next be due.
 *       Requests only move that moment later, so a timer armed before them fires early (and is
 *       armed again), never late; keepalive, which may move it earlier, arms it again.</li>
 *   <li>At most {@code maxSessions} live sessions and as many timers; ended ids are remembered in
 *       a second, bounded cache so that clients learn why a session is gone.</li>
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe; lock-free on the request path. Any thread may end a session: a request thread
 * calling {@link #end}, or {@link #begin}, {@link #get}, {@link #keepalive} or {@link #snapshot}
 * on one past its deadline; the scheduler's thread, or a {@link #cleanUp} caller, for the reaper.
 * The {@link EndListener} runs on that thread and must not block.
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
  private final ExpiryAuthority authority;
  private final ConcurrentMap<String, Session<T>> live = new ConcurrentHashMap<>();
  private final SessionTimers<T> timers;
  private final Cache<String, EndReason> ended;
  private final AtomicInteger liveCount = new AtomicInteger();

  /**
   * @param ticker time source for deadlines (a fake one in tests)
   * @param clock wall clock, read once per session for {@link Session#createdAt()}
   * @param scheduler wakes the reaper at the next deadline; {@link Scheduler#systemScheduler()} in
   *     production, {@link Scheduler#disabledScheduler()} with {@link #cleanUp()} in tests
   */
  public SessionStore(SessionStoreOptions options, Ticker ticker, Clock clock, Scheduler scheduler,
      EndListener<T> listener) {
    this(options, ticker, clock, scheduler, ExpiryAuthority.LOCAL, listener);
  }

  /**
   * @param authority who ends sessions for idleness ({@link ExpiryAuthority#LOCAL} for one
   *     process alone); tell the store when its answer changes ({@link #authorityChanged()})
   */
  public SessionStore(SessionStoreOptions options, Ticker ticker, Clock clock, Scheduler scheduler,
      ExpiryAuthority authority, EndListener<T> listener) {
    this.options = options;
    this.ticker = ticker;
    this.clock = clock;
    this.listener = listener;
    this.authority = authority;
    this.timers = new SessionTimers<>(ticker, scheduler, authority::endsIdleSessions, this::wokeUp);
    this.ended = Caffeine.newBuilder()
        .ticker(ticker)
        .executor(Runnable::run)
        .maximumSize(options.endedMemorySize())
        .expireAfterWrite(options.endedMemory())
        .build();
  }

  /**
   * Creates a live session with a new id bound to {@code binding}, with nothing in flight.
   *
   * @throws AgentCubeException {@code SESSION_LIMIT} when {@code maxSessions} are live
   */
  public Session<T> create(T binding, Duration idleTimeout, Duration maxDuration) {
    reserve();
    return create(SessionIds.generate(), binding, clock.instant(), idleTimeout, maxDuration, false);
  }

  /**
   * Creates the live session {@code id} bound to {@code binding}, in the place a {@link #reserve}
   * kept for it, created at {@code createdAt} (wall clock; the hard deadline counts from now on the
   * ticker, which is at most moments later). With {@code inFlight} the creating request is counted
   * in flight already, so the caller pairs it with one {@link #finish} and never looks the session
   * up again.
   *
   * @throws IllegalStateException when {@code id} is live already (ids are 128 random bits: a
   *     collision is not a case to handle, but a session is never overwritten)
   */
  public Session<T> create(String id, T binding, Instant createdAt, Duration idleTimeout,
      Duration maxDuration, boolean inFlight) {
    Session<T> session = new Session<>(id, binding, createdAt, ticker.read(), idleTimeout,
        maxDuration, inFlight);
    if (live.putIfAbsent(id, session) != null) {
      liveCount.decrementAndGet();
      throw new IllegalStateException("session id collision");
    }
    timers.arm(session);
    return session;
  }

  /**
   * Takes a place for a session about to be created, so that a session whose sandbox was paid for
   * is never refused for capacity afterwards. Pair with {@link #create(String, Object, Instant,
   * Duration, Duration, boolean)} or {@link #unreserve()}.
   *
   * @throws AgentCubeException {@code SESSION_LIMIT} when {@code maxSessions} are live or reserved
   */
  public void reserve() {
    if (liveCount.incrementAndGet() > options.maxSessions()) {
      liveCount.decrementAndGet();
      throw limitReached();
    }
  }

  /** Gives back a place taken by {@link #reserve()} for a session that was not created. */
  public void unreserve() {
    liveCount.decrementAndGet();
  }

  /**
   * Re-creates session {@code id} as it was before this process knew it (a proxy restart, or a
   * session another replica created): created at {@code createdAt}, last active at
   * {@code lastActivity} (wall clock). Its deadlines follow from those times; one already past is
   * ended by the reaper as usual. Restored sessions are not refused for capacity (they exist
   * already). Idempotent: a live session {@code id} is returned as it is.
   */
  public Session<T> restore(String id, T binding, Instant createdAt, Instant lastActivity,
      Duration idleTimeout, Duration maxDuration) {
    Session<T> existing = live.get(id);
    if (existing != null) {
      return existing;
    }
    long now = ticker.read();
    Instant wallNow = clock.instant();
    long created = now - Math.max(0, Duration.between(createdAt, wallNow).toNanos());
    Instant last = lastActivity == null || lastActivity.isBefore(createdAt) ? createdAt : lastActivity;
    long lastNanos = now - Math.max(0, Duration.between(last, wallNow).toNanos());
    Session<T> session = new Session<>(id, binding, createdAt, created, lastNanos, idleTimeout,
        maxDuration, false);
    Session<T> raced = live.putIfAbsent(id, session);
    if (raced != null) {
      return raced;
    }
    liveCount.incrementAndGet();
    ended.invalidate(id);
    timers.arm(session);
    return session;
  }

  /**
   * Remembers that session {@code id}, which this process never held, has ended for
   * {@code reason} (a session whose sandbox was found dead at a restart): requests for it are told
   * why. No effect on a live session.
   */
  public void remember(String id, EndReason reason) {
    if (!live.containsKey(id)) {
      ended.put(id, reason);
    }
  }

  /**
   * Tells the store that {@link ExpiryAuthority#endsIdleSessions()} may have changed: every
   * timer is armed again for what now counts (idle deadlines on a new leader). O(sessions), once
   * per change.
   */
  public void authorityChanged() {
    for (Session<T> s : live.values()) {
      timers.arm(s);
    }
  }

  private AgentCubeException limitReached() {
    return AgentCubeException.retryLater(ErrorCode.SESSION_LIMIT,
        "session limit reached (" + options.maxSessions() + " live sessions)", Duration.ofSeconds(1));
  }

  /**
   * Marks a request of session {@code id} as started: counts it in flight and records activity.
   * Every non-null return must be paired with one {@link #finish}. Lock-free, allocation-free.
   *
   * @return the live session, or {@code null} when there is none (see {@link #endedReason}); a
   *     session found past a deadline is ended here, with that deadline's reason
   */
  public Session<T> begin(String id) {
    Session<T> session = live.get(id);
    if (session == null) {
      return null;
    }
    // Twice at most: a session found idle may turn out active elsewhere (expire moves its
    // deadline instead of ending it), and is then admitted.
    for (int attempt = 0; attempt < 2; attempt++) {
      int result = session.tryBegin(ticker, authority.endsIdleSessions());
      if (result == Session.ADMITTED) {
        return session;
      }
      if (result != Session.DUE || expire(session, ticker.read())) {
        return null;
      }
    }
    return null;
  }

  /**
   * Marks a request begun with {@link #begin} as finished; the last one in flight restarts the
   * idle clock. Lock-free, allocation-free; a finish after the session ended changes nothing that
   * matters, and a finish without a begin is ignored.
   */
  public void finish(Session<T> session) {
    session.finish(ticker);
  }

  /**
   * The live session {@code id} without recording activity, or {@code null}; a session found past
   * a deadline is ended here.
   */
  public Session<T> get(String id) {
    Session<T> session = live.get(id);
    return session != null && isLive(session, ticker.read()) ? session : null;
  }

  /**
   * Sets the idle deadline of {@code id} to now + {@code timeout} (never past the hard deadline),
   * shorter or longer than it was.
   *
   * @return the session, or {@code null} when it is not live
   */
  public Session<T> keepalive(String id, Duration timeout) {
    Session<T> session = live.get(id);
    if (session == null) {
      return null;
    }
    int result = session.keepalive(ticker, timeout, authority.endsIdleSessions());
    if (result == Session.DUE) {
      expire(session, ticker.read());
    }
    if (result != Session.ADMITTED) {
      return null;
    }
    // The deadline may have moved earlier than the armed timer.
    timers.arm(session);
    return session;
  }

  /**
   * Ends session {@code id} now for {@code reason} ({@code DELETED}, {@code SANDBOX_LOST} or
   * {@code SHUTDOWN}); the listener is told once. A session already past a deadline ends for that
   * deadline instead.
   *
   * @return whether this call ended it for {@code reason} (false when it was not live)
   */
  public boolean end(String id, EndReason reason) {
    Session<T> session = live.get(id);
    if (session == null) {
      return false;
    }
    EndReason r = session.tryEnd(ticker.read(), reason, authority.endsIdleSessions());
    if (r == null) {
      return false;
    }
    ended(session, r);
    return r == reason;
  }

  /** Why the recently ended session {@code id} ended, or {@code null} if unknown or live. */
  public EndReason endedReason(String id) {
    return ended.getIfPresent(id);
  }

  /** Live sessions (a session past its deadline counts until someone ends it). */
  public int size() {
    return liveCount.get();
  }

  /** A snapshot of the live sessions that match {@code filter}, in no particular order. */
  public List<Session<T>> snapshot(Predicate<Session<T>> filter) {
    long now = ticker.read();
    List<Session<T>> out = new ArrayList<>();
    for (Session<T> s : live.values()) {
      if (isLive(s, now) && filter.test(s)) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * Runs the reaper's due wake-ups now, on this thread, and returns after the sessions they end
   * have been reported; for tests that advance a fake ticker.
   */
  public void cleanUp() {
    timers.cleanUp();
  }

  /** Ends every live session with {@link EndReason#SHUTDOWN}. */
  @Override
  public void close() {
    for (String id : List.copyOf(live.keySet())) {
      end(id, EndReason.SHUTDOWN);
    }
    timers.cleanUp();
  }

  /** Armed reaper timers (tests). */
  long armedTimers() {
    return timers.size();
  }

  /** A reaper wake-up: ends the session if due, else arms it again for its next check. */
  private void wokeUp(Session<T> session) {
    if (!isLive(session, ticker.read())) {
      return;
    }
    timers.arm(session);
  }

  /** Whether {@code session} is live at {@code now}; ends it first if a deadline has passed. */
  private boolean isLive(Session<T> session, long now) {
    expire(session, now);
    return session.endReason() == null;
  }

  /**
   * Ends {@code session} if a deadline has passed at {@code now}. Before ending it for idleness
   * the authority is asked for activity seen elsewhere, which moves the idle deadline instead.
   *
   * @return whether this call ended it
   */
  private boolean expire(Session<T> session, long now) {
    boolean idleEnds = authority.endsIdleSessions();
    if (idleEnds && session.idleDue(now)) {
      Instant elsewhere = authority.activityElsewhere(session.id());
      if (elsewhere != null) {
        session.activityAt(now - Math.max(0, Duration.between(elsewhere, clock.instant()).toNanos()));
      }
    }
    EndReason r = session.tryEnd(now, null, idleEnds);
    if (r != null) {
      ended(session, r);
      return true;
    }
    return false;
  }

  /** The rest of an end, run once by the caller whose CAS ended {@code session}. */
  private void ended(Session<T> session, EndReason reason) {
    String id = session.id();
    // The reason first: a begin that misses the session from now on learns why (410, not 404).
    ended.put(id, reason);
    live.remove(id, session);
    timers.disarm(session);
    liveCount.decrementAndGet();
    log.atInfo().addKeyValue("session", SessionIds.redact(id)) // a field too, for JSON logs
        .log("session ended session={} reason={}", SessionIds.redact(id), reason.tag());
    try {
      listener.sessionEnded(session, reason);
    } catch (RuntimeException e) {
      // The session has ended whatever the listener does; the caller (a request, the reaper)
      // must not fail for it.
      log.warn("end listener failed session={} reason={}", SessionIds.redact(id), reason.tag(), e);
    }
  }
}
