package io.agentcube.sandbox;

/**
 * A sandbox handed to a new session.
 *
 * @param waitNanos how long the caller waited for it (near zero for a warm hit)
 */
public record Acquired(Sandbox sandbox, LaunchType launchType, long waitNanos) {}
