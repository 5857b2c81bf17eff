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
}
