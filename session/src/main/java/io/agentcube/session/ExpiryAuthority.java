package io.agentcube.session;

import java.time.Instant;

/**
 * Who may end a session for idleness, and what activity other processes saw.
 *
 * <p>One process alone ({@link #LOCAL}, the process backend) judges idleness from its own
 * memory. Where several replicas serve the same sessions (Kubernetes), each sees only its own
 * requests: one replica, the leader, ends sessions for idleness, and before it does it asks what
 * the others recorded ({@link #activityElsewhere}); the others never end a session for idleness on
 * their own, stale view. The hard deadline ({@code created + maxSessionDuration}) is the same
 * everywhere and ends a session on any replica.
 *
 * <p>Implementations are thread-safe and never block: both methods are read by the reaper and, on
 * the rare path of a session found idle, by a request.
 */
public interface ExpiryAuthority {

  /** Whether this process ends sessions for idleness now (a leader may lose that role). */
  boolean endsIdleSessions();

  /**
   * The latest activity of session {@code id} that other processes recorded (a shared annotation,
   * for instance), or {@code null} when none is known. Read from a local cache; never a remote
   * call.
   */
  Instant activityElsewhere(String id);

  /**
   * Registers {@code onChange}, run (on any thread) when {@link #endsIdleSessions()} changes, so
   * the store can re-arm its timers. The default never changes.
   */
  default void onChange(Runnable onChange) {}

  /** This process alone: it judges idleness from its own memory. */
  ExpiryAuthority LOCAL = new ExpiryAuthority() {
    @Override
    public boolean endsIdleSessions() {
      return true;
    }

    @Override
    public Instant activityElsewhere(String id) {
      return null;
    }

    @Override
    public String toString() {
      return "local";
    }
  };
}
