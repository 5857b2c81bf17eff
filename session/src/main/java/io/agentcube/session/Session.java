package io.agentcube.session;

import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;

/**
 * One conversation of a client with one sandbox.
 *
 * <p>Time is kept in the store's ticker nanoseconds so that deadlines follow an injected clock in
 * tests; {@link #createdAt()} is the only wall-clock reading, taken once.
 *
 * <h2>State word</h2>
 * Everything that decides whether the session lives is one {@code long}, changed only by
 * compare-and-set, so that requests, keepalives and the reaper are ordered by that word alone,
 * without a lock, and every decision is taken from one consistent reading of it:
 * <pre>
 *   bits 61..63  end reason: 0 while live, else {@link EndReason#ordinal()} + 1 (set once)
 *   bits 40..60  requests in flight
 *   bits  0..39  idle deadline D, in whole milliseconds after creation (rounded up; capped at the
 *                hard deadline, past which D no longer matters; 2^40 ms is 34 years)
 * </pre>
 * D has to be in the word: kept beside it, a writer that lost its CAS could already have written
 * it, and a reaper reading it then would act on a deadline nobody had set. Rounding up keeps every
 * deadline at or after its exact time (at most 1 ms later), and makes D exact for whole-millisecond
 * timeouts.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>Due: the hard deadline has passed ({@link EndReason#MAX_DURATION}, in flight or not), or
 *       nothing is in flight and D has passed ({@link EndReason#IDLE}).</li>
 *   <li>{@link #tryBegin} admits a request only from a live word not due at a time read after
 *       the word; {@link #tryEnd} ends only a live word, for idleness only one with nothing in
 *       flight. A request is therefore never admitted after the session ended, and a session with
 *       a request admitted is never ended for idleness.</li>
 *   <li>Every {@link #finish} sets D to {@code max(D, now + idleTimeout)} in the same CAS that
 *       counts it out, so when the last one is out D is at least every finish's time + timeout:
 *       the idle clock restarts when the last request ends.</li>
 *   <li>{@link #keepalive} sets D to {@code now + timeout}, earlier or later.</li>
 * </ul>
 * The getters are volatile reads and may be read from any thread (listing, {@code GET
 * /v1/sessions/{id}}).
 *
 * @param <T> what the session is bound to (the sandbox); immutable for the session's life
 */
public final class Session<T> {

  private static final int COUNT_SHIFT = 40;
  private static final long COUNT_ONE = 1L << COUNT_SHIFT;
  private static final long MAX_IN_FLIGHT = (1L << 21) - 1;
  private static final long DEADLINE_MASK = COUNT_ONE - 1;
  private static final int REASON_SHIFT = 61;
  private static final long NANOS_PER_MS = 1_000_000L;
  private static final EndReason[] REASONS = EndReason.values();
  private static final Duration MAX_NANOS = Duration.ofNanos(Long.MAX_VALUE);

  /** The shortest interval between the reaper's looks at a session with a request in flight. */
  private static final long MIN_IN_FLIGHT_CHECK_NANOS = Duration.ofSeconds(1).toNanos();

  /** {@link #tryBegin} and {@link #keepalive} results. */
  static final int ADMITTED = 0;
  static final int ENDED = 1;
  static final int DUE = 2;

  private static final VarHandle STATE;
  private static final VarHandle LAST_ACTIVITY;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATE = lookup.findVarHandle(Session.class, "state", long.class);
      LAST_ACTIVITY = lookup.findVarHandle(Session.class, "lastActivityNanos", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String id;
  private final T binding;
  private final Instant createdAt;
  private final long createdNanos;
  private final long hardDeadlineNanos;
  /** D's cap: the hard deadline in milliseconds after creation, rounded up. */
  private final long deadlineCapMs;
  private final Duration idleTimeout;
  private final long idleTimeoutNanos;

  private volatile long state;
  /** Shown to clients only, never used for a decision: written opaque (no fence) on the hot path. */
  private volatile long lastActivityNanos;

  /** A new session, created now; with {@code inFlight} its creating request is counted in. */
  Session(String id, T binding, Instant createdAt, long nowNanos, Duration idleTimeout,
      Duration maxDuration, boolean inFlight) {
    this(id, binding, createdAt, nowNanos, nowNanos, idleTimeout, maxDuration, inFlight);
  }

  /**
   * A session created at ticker time {@code createdNanos} (earlier than now for a restored one)
   * whose last activity was at {@code lastActivityNanos}: its idle deadline is one idle timeout
   * after that.
   */
  Session(String id, T binding, Instant createdAt, long createdNanos, long lastActivityNanos,
      Duration idleTimeout, Duration maxDuration, boolean inFlight) {
    this.id = id;
    this.binding = binding;
    this.createdAt = createdAt;
    this.createdNanos = createdNanos;
    this.idleTimeout = idleTimeout;
    this.idleTimeoutNanos = nanos(idleTimeout);
    this.hardDeadlineNanos = saturatedAdd(createdNanos, nanos(maxDuration));
    this.deadlineCapMs = Math.min(DEADLINE_MASK, ceilMs(hardDeadlineNanos - createdNanos));
    long last = Math.max(createdNanos, lastActivityNanos);
    this.lastActivityNanos = last;
    this.state = deadlineMs(last, idleTimeoutNanos) | (inFlight ? COUNT_ONE : 0);
  }

  public String id() {
    return id;
  }

  /** The sandbox this session is bound to. */
  public T binding() {
    return binding;
  }

  public Instant createdAt() {
    return createdAt;
  }

  public Duration idleTimeout() {
    return idleTimeout;
  }

  /** Requests or streams of this session now in flight. */
  public int inFlight() {
    return count(state);
  }

  /** Wall-clock time of the last request start or end. */
  public Instant lastActivity() {
    return toInstant(lastActivityNanos);
  }

  /** When the session ends if nothing happens until then (the later of now and the deadline). */
  public Instant idleDeadline() {
    return toInstant(Math.min(idleDeadlineNanos(state), hardDeadlineNanos));
  }

  /** When the session ends whatever happens ({@code created + maxSessionDuration}). */
  public Instant hardDeadline() {
    return toInstant(hardDeadlineNanos);
  }

  /** Why the session ended, or {@code null} while it is live. */
  public EndReason endReason() {
    return reason(state);
  }

  private Instant toInstant(long nanos) {
    return createdAt.plusNanos(nanos - createdNanos);
  }

  // ---- state changes, called by SessionStore; lock-free, each takes effect at one CAS ----

  /**
   * Counts a request in flight unless the session has ended or is due.
   *
   * @return {@link #ADMITTED}, {@link #ENDED}, or {@link #DUE} (the caller ends it)
   * @throws AgentCubeException {@code SERVER_OVERLOADED} with 2^21 - 1 requests already in flight
   */
  int tryBegin(Ticker ticker, boolean idleEnds) {
    for (;;) {
      long st = state;
      if (reason(st) != null) {
        return ENDED;
      }
      // The time is read after the word, so that "not due" is judged no earlier than the word.
      long now = ticker.read();
      if (dueReason(st, now, idleEnds) != null) {
        return DUE;
      }
      if (count(st) == MAX_IN_FLIGHT) {
        throw AgentCubeException.retryLater(ErrorCode.SERVER_OVERLOADED,
            "too many requests in flight for session " + id, Duration.ofSeconds(1));
      }
      if (STATE.compareAndSet(this, st, st + COUNT_ONE)) {
        LAST_ACTIVITY.setOpaque(this, now);
        return ADMITTED;
      }
    }
  }

  /**
   * Counts a request begun with {@link #tryBegin} as finished and pushes the idle deadline to at
   * least {@code now + idleTimeout}. A finish with nothing in flight (unpaired) changes nothing.
   */
  void finish(Ticker ticker) {
    for (;;) {
      long st = state;
      if (count(st) == 0) {
        return;
      }
      long now = ticker.read();
      long deadline = Math.max(st & DEADLINE_MASK, deadlineMs(now, idleTimeoutNanos));
      if (STATE.compareAndSet(this, st, withDeadline(st - COUNT_ONE, deadline))) {
        LAST_ACTIVITY.setOpaque(this, now);
        return;
      }
    }
  }

  /**
   * Sets the idle deadline to {@code now + timeout} (the hard deadline still caps it), unless the
   * session has ended or is due.
   *
   * @return {@link #ADMITTED} when set, {@link #ENDED}, or {@link #DUE} (the caller ends it)
   */
  int keepalive(Ticker ticker, Duration timeout, boolean idleEnds) {
    long timeoutNanos = nanos(timeout);
    for (;;) {
      long st = state;
      if (reason(st) != null) {
        return ENDED;
      }
      // Read after the word: a keepalive that lands after another never uses an older time.
      long now = ticker.read();
      if (dueReason(st, now, idleEnds) != null) {
        return DUE;
      }
      if (STATE.compareAndSet(this, st, withDeadline(st, deadlineMs(now, timeoutNanos)))) {
        LAST_ACTIVITY.setOpaque(this, now);
        return ADMITTED;
      }
    }
  }

  /**
   * Ends the session: for its deadline if one has passed at {@code now}, else for
   * {@code requested} if that is not null.
   *
   * @return the reason this call ended it with, or {@code null} when it had already ended, or was
   *     not due and nothing was requested
   */
  EndReason tryEnd(long now, EndReason requested, boolean idleEnds) {
    for (;;) {
      long st = state;
      if (reason(st) != null) {
        return null;
      }
      EndReason due = dueReason(st, now, idleEnds);
      EndReason r = due != null ? due : requested;
      if (r == null) {
        return null;
      }
      if (STATE.compareAndSet(this, st, st | ((long) (r.ordinal() + 1) << REASON_SHIFT))) {
        return r;
      }
    }
  }

  /**
   * When the reaper should look at this session next, in ticker nanos: the idle or hard deadline
   * when nothing is in flight; with requests in flight, one idle timeout from now (the earliest
   * the session could be idle-due after they finish, so no look is wasted on an active session)
   * or the hard deadline if sooner; {@code now} once ended. Where idleness ends no session here
   * ({@code idleEnds} false) only the hard deadline counts.
   */
  long nextCheck(long now, boolean idleEnds) {
    long st = state;
    if (reason(st) != null) {
      return now;
    }
    if (!idleEnds) {
      return hardDeadlineNanos;
    }
    if (count(st) > 0) {
      long inFlightCheck = saturatedAdd(now, Math.max(idleTimeoutNanos, MIN_IN_FLIGHT_CHECK_NANOS));
      return Math.min(hardDeadlineNanos, inFlightCheck);
    }
    return Math.min(idleDeadlineNanos(st), hardDeadlineNanos);
  }

  /**
   * Records activity seen elsewhere (another replica) at ticker time {@code atNanos}: the idle
   * deadline becomes at least {@code atNanos + idleTimeout}. No effect on an ended session.
   */
  void activityAt(long atNanos) {
    for (;;) {
      long st = state;
      if (reason(st) != null) {
        return;
      }
      long deadline = Math.max(st & DEADLINE_MASK, deadlineMs(atNanos, idleTimeoutNanos));
      if (STATE.compareAndSet(this, st, withDeadline(st, deadline))) {
        if (atNanos - lastActivityNanos > 0) {
          LAST_ACTIVITY.setOpaque(this, atNanos);
        }
        return;
      }
    }
  }

  /** Whether, at {@code now}, nothing is in flight and the idle deadline has passed. */
  boolean idleDue(long now) {
    long st = state;
    return count(st) == 0 && now - idleDeadlineNanos(st) >= 0;
  }

  /**
   * Why the session is due at {@code now} given word {@code st}, or {@code null}; idleness counts
   * only where {@code idleEnds}.
   */
  private EndReason dueReason(long st, long now, boolean idleEnds) {
    if (now - hardDeadlineNanos >= 0) {
      return EndReason.MAX_DURATION;
    }
    if (idleEnds && count(st) == 0 && now - idleDeadlineNanos(st) >= 0) {
      return EndReason.IDLE;
    }
    return null;
  }

  /** D for {@code now + timeout}, in the word's unit (rounded up, capped). */
  private long deadlineMs(long now, long timeoutNanos) {
    long after = saturatedAdd(Math.max(0, now - createdNanos), timeoutNanos);
    return Math.min(deadlineCapMs, ceilMs(after));
  }

  private long idleDeadlineNanos(long st) {
    return createdNanos + (st & DEADLINE_MASK) * NANOS_PER_MS;
  }

  private static long ceilMs(long nanos) {
    return nanos / NANOS_PER_MS + (nanos % NANOS_PER_MS == 0 ? 0 : 1);
  }

  private static long withDeadline(long st, long deadlineMs) {
    return (st & ~DEADLINE_MASK) | deadlineMs;
  }

  private static int count(long st) {
    return (int) ((st >>> COUNT_SHIFT) & MAX_IN_FLIGHT);
  }

  private static EndReason reason(long st) {
    int r = (int) (st >>> REASON_SHIFT);
    return r == 0 ? null : REASONS[r - 1];
  }

  /** {@code d} in nanoseconds, 0 if negative, {@code Long.MAX_VALUE} past 292 years. */
  private static long nanos(Duration d) {
    if (d.isNegative()) {
      return 0;
    }
    return d.compareTo(MAX_NANOS) >= 0 ? Long.MAX_VALUE : d.toNanos();
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }

  @Override
  public String toString() {
    return "Session[" + id + "]";
  }
}
