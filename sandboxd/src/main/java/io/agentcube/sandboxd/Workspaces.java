package io.agentcube.sandboxd;

/**
 * Where a PicoD request's workspace comes from: the one workspace of a single-mode daemon
 * ({@link SingleWorkspace}) or, on a host, the sandbox the token names ({@link SandboxHost}).
 * Thread-safe.
 */
interface Workspaces {

  /**
   * The workspace a request with these verified session claims may use; pins the claims'
   * session to it when none is yet ({@link SessionPin}).
   *
   * @param claims the verified session token, or null under {@code --no-auth}
   * @throws SandboxdException 401 when the token does not say which sandbox (host) or belongs to
   *     another session, 404 when its sandbox does not exist
   */
  Workspace admit(TokenVerifier.Claims claims);

  /** Kills every running command and releases what the workspaces hold. Idempotent; blocking. */
  void close();
}
