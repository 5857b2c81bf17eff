package io.agentcube.session;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One conversation of a client with one sandbox.
 *
 * <p>Time is kept in the store's ticker nanoseconds so that deadlines follow an injected clock in
 * tests; {@link #createdAt()} is the only wall-clock reading, taken once.
 *
 * <p>Concurrency: the mutable deadline state ({@code inFlight}, {@code idleDeadline}) changes only
 * inside the owning {@link SessionStore}'s per-entry compute, which serialises it; the fields are
 * volatile so that readers of the API (listing, {@code GET /v1/sessions/{id}}) see current values.
 *
 * @param <T> what the session is bound to (the sandbox); immutable for the session's life
 */
public final class Session<T> {

  private final String id;
  private final T binding;
  private final Instant createdAt;
  private final long createdNanos;
  private final long hardDeadlineNanos;
  private final Duration idleTimeout;
  private final AtomicReference<EndReason> endReason = new AtomicReference<>();

  private volatile long idleDeadlineNanos;
  private volatile long lastActivityNanos;
  private volatile int inFlight;

  Session(String id, T binding, Instant createdAt, long nowNanos, Duration idleTimeout,
      Duration maxDuration) {
    this.id = id;
    this.binding = binding;
    this.createdAt = createdAt;
    this.createdNanos = nowNanos;
    this.idleTimeout = idleTimeout;
    this.hardDeadlineNanos = saturatedAdd(nowNanos, maxDuration.toNanos());
    this.lastActivityNanos = nowNanos;
    this.idleDeadlineNanos = saturatedAdd(nowNanos, idleTimeout.toNanos());
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
    return inFlight;
  }

  /** Wall-clock time of the last request start or end. */
  public Instant lastActivity() {
    return toInstant(lastActivityNanos);
  }

  /** When the session ends if nothing happens until then (the later of now and the deadline). */
  public Instant idleDeadline() {
    return toInstant(Math.min(idleDeadlineNanos, hardDeadlineNanos));
  }

  /** When the session ends whatever happens ({@code created + maxSessionDuration}). */
  public Instant hardDeadline() {
    return toInstant(hardDeadlineNanos);
  }

  /** Why the session ended, or {@code null} while it is live. */
  public EndReason endReason() {
    return endReason.get();
  }

  private Instant toInstant(long nanos) {
    return createdAt.plusNanos(nanos - createdNanos);
  }

  // ---- state changes, called by SessionStore under the entry's compute lock ----

  void begin(long now) {
    inFlight++;
    lastActivityNanos = now;
  }

  void finish(long now) {
    if (inFlight > 0) {
      inFlight--;
    }
    lastActivityNanos = now;
    idleDeadlineNanos = Math.max(idleDeadlineNanos, saturatedAdd(now, idleTimeout.toNanos()));
  }

  /** Pushes the idle deadline to {@code now + timeout}; the hard deadline still caps it. */
  void keepalive(long now, Duration timeout) {
    lastActivityNanos = now;
    idleDeadlineNanos = saturatedAdd(now, timeout.toNanos());
  }

  /** Records why the session ends; only the first reason sticks. */
  boolean markEnded(EndReason reason) {
    return endReason.compareAndSet(null, reason);
  }

  /** Nanoseconds from {@code now} until the session must end, given what is in flight. */
  long remainingNanos(long now) {
    long deadline = inFlight > 0 ? hardDeadlineNanos : Math.min(idleDeadlineNanos, hardDeadlineNanos);
    return Math.max(0, deadline - now);
  }

  /** Whether the hard deadline has passed at {@code now}. */
  boolean pastHardDeadline(long now) {
    return now - hardDeadlineNanos >= 0;
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
