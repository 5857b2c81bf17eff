package io.agentcube.sandbox;

/**
 * Told of what happens to sandboxes without the proxy asking: any number of listeners per
 * backend, each method on any thread; implementations must not block.
 */
public interface SandboxListener {

  /** The sandbox's {@link Sandbox#address} changed (a pod restarted on a new IP). */
  default void addressChanged(Sandbox sandbox) {}

  /**
   * The sandbox ended by itself (exit, crash, eviction, deletion by someone else) rather than
   * through {@link SandboxBackend#stop}. At most once per sandbox.
   */
  default void lost(Sandbox sandbox) {}

  /**
   * A bound sandbox this process did not bind appeared (another replica's session, seen by a
   * shared backend's watch): its session can be served here too.
   */
  default void found(SandboxRecord record) {}

  /**
   * The session of {@code sandbox} was ended by another process for {@code reason} (the leader
   * reaped it, another replica deleted it): end it here with that reason, without stopping the
   * sandbox again.
   */
  default void endedElsewhere(Sandbox sandbox, io.agentcube.session.EndReason reason) {}
}
