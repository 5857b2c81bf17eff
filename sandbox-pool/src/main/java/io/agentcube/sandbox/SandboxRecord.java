package io.agentcube.sandbox;

import java.time.Instant;
import java.util.Objects;

/**
 * A session found bound to a sandbox when a backend starts: what the session layer needs to
 * restore it.
 *
 * @param sandbox the running sandbox, or {@code null} when it was found dead (the session then
 *     ends with {@code SANDBOX_LOST})
 * @param sessionId the session it is bound to
 * @param createdAt when the session was created
 * @param lastActivity the last activity recorded for it ({@link SandboxBackend#recordActivity}),
 *     or {@code createdAt}
 */
public record SandboxRecord(Sandbox sandbox, String sessionId, Instant createdAt, Instant lastActivity) {

  public SandboxRecord {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(createdAt, "createdAt");
    if (lastActivity == null) {
      lastActivity = createdAt;
    }
  }
}
