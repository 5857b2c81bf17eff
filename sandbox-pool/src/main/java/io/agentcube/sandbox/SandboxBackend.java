package io.agentcube.sandbox;

import io.agentcube.runtime.RuntimeDefinition;
import io.vertx.core.Future;
import java.util.List;
import java.util.function.Consumer;

/**
 * How sandboxes are made: the process backend (local processes) or Kubernetes (pods).
 *
 * <p>All methods return without blocking; futures complete on any thread.
 */
public interface SandboxBackend {

  /** {@code process} or {@code kubernetes}. */
  String name();

  /**
   * Why this backend cannot run {@code definition}, one line per problem naming the field; empty
   * when it can. Checked when a runtime is loaded, so that a bad runtime fails at load time and not
   * at its first request.
   */
  List<String> problems(RuntimeDefinition definition);

  /**
   * Starts a sandbox and completes when it is ready (its ports accept connections). Fails when it
   * cannot be started or is not ready within the backend's own start timeout; a failed start leaves
   * nothing running.
   */
  Future<Sandbox> start(RuntimeDefinition definition);

  /** Stops a sandbox and removes what it left behind. Idempotent; never fails for "already gone". */
  Future<Void> stop(Sandbox sandbox);

  /**
   * Sets the handler told when a sandbox ends by itself (exit, crash, eviction) rather than through
   * {@link #stop}. Called at most once per sandbox, on any thread; must not block.
   */
  void onLost(Consumer<Sandbox> handler);

  /** Stops every sandbox this backend started. */
  Future<Void> close();
}
