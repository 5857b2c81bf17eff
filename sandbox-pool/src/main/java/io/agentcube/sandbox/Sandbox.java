package io.agentcube.sandbox;

import io.agentcube.runtime.RuntimeDefinition;
import io.vertx.core.net.SocketAddress;

/**
 * One started, ready sandbox: a local process or a pod. Bound to at most one session in its life
 * and never reused after it.
 *
 * <p>Implementations are thread-safe; {@link #address(int)} is read on the request path and must
 * be a field read. The address may change during the sandbox's life (a pod that restarted on a
 * new IP); listeners are told ({@link SandboxListener#addressChanged}).
 */
public interface Sandbox {

  /** Unique id, stable for the sandbox's life (e.g. {@code sbx-…}). */
  String id();

  /** A human-readable name (process backend: the working directory's name; Kubernetes: the pod). */
  String name();

  /** The runtime version this sandbox was started from. */
  RuntimeDefinition definition();

  /** Where the target port {@code portIndex} of {@link #definition()} listens. */
  SocketAddress address(int portIndex);

  /** Whether the sandbox is still running as far as the backend knows. */
  boolean alive();

  /** The session this sandbox is bound to ({@link SandboxBackend#claim}), or {@code null} while warm. */
  String sessionId();

  /**
   * Whether the sandbox is a workspace on the proxy's own sandbox host, which verifies HS256
   * tokens under the key the proxy gave it ({@code AGENTCUBE_HOST_TOKEN_KEY}) instead of RS256.
   */
  default boolean onHost() {
    return false;
  }

  /**
   * The authenticated subject that owns the session this sandbox is bound to, or {@code null}
   * (warm, or claimed while inbound authentication was off). Set by the claim, recorded where
   * the session is restored from.
   */
  default String owner() {
    return null;
  }
}
