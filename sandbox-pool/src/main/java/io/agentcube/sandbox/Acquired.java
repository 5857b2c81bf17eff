package io.agentcube.sandbox;

import java.time.Instant;

/**
 * A sandbox handed to a new session.
 *
 * @param waitNanos how long the caller waited for it (near zero for a warm hit)
 * @param boundAt when it was claimed for the session: the session's creation time, as recorded
 *     by the backend for restore ({@code null} before the claim)
 */
public record Acquired(Sandbox sandbox, LaunchType launchType, long waitNanos, Instant boundAt) {

  public Acquired(Sandbox sandbox, LaunchType launchType, long waitNanos) {
    this(sandbox, launchType, waitNanos, null);
  }
}
