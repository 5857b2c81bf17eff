package io.agentcube.session;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds of a {@link SessionStore}.
 *
 * @param maxSessions live sessions at most; creating one more fails with {@code SESSION_LIMIT}
 * @param endedMemory how long an ended session's id and reason are remembered, so that a client
 *     calling it again learns why ({@code SANDBOX_LOST} vs {@code SESSION_NOT_FOUND})
 * @param endedMemorySize how many ended ids are remembered at most (oldest forgotten first)
 */
public record SessionStoreOptions(int maxSessions, Duration endedMemory, int endedMemorySize) {

  public static final int DEFAULT_MAX_SESSIONS = 10_000;
  public static final Duration DEFAULT_ENDED_MEMORY = Duration.ofHours(1);
  public static final int DEFAULT_ENDED_MEMORY_SIZE = 100_000;

  public SessionStoreOptions {
    Objects.requireNonNull(endedMemory, "endedMemory");
    if (maxSessions < 1) {
      throw new IllegalArgumentException("maxSessions must be >= 1, was " + maxSessions);
    }
    if (endedMemorySize < 0) {
      throw new IllegalArgumentException("endedMemorySize must be >= 0, was " + endedMemorySize);
    }
  }

  public static SessionStoreOptions defaults() {
    return new SessionStoreOptions(DEFAULT_MAX_SESSIONS, DEFAULT_ENDED_MEMORY,
        DEFAULT_ENDED_MEMORY_SIZE);
  }
}
