package io.agentcube.runtime;

/** How the proxy authenticates itself to a sandbox. */
public enum AuthMode {
  /** A per-session RS256 JWT in {@code Authorization}; the sandbox gets the public key. */
  PICOD,
  /** Requests are forwarded untouched. */
  NONE
}
