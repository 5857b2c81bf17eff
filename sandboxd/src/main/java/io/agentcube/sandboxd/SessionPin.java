package io.agentcube.sandboxd;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The one session a workspace serves: configured ({@code AGENTCUBE_SESSION_ID}), or pinned by
 * the first valid token that reaches the workspace, after which every other session's token is
 * refused.
 *
 * <p>Pinning by first use is safe because the proxy sends a sandbox (a warm pod, a host's
 * workspace) nothing before it binds it to a session, so the first token is always that session's.
 * Thread-safe: the pin is set once with compare-and-set, so of two racing first tokens exactly one
 * wins and the other is refused.
 */
final class SessionPin {

  private final AtomicReference<String> session;

  /** @param session the configured session, or null to pin the first one seen */
  SessionPin(String session) {
    this.session = new AtomicReference<>(session);
  }

  /**
   * Admits a verified token's session, pinning it when none is yet.
   *
   * @throws SandboxdException 401 when the workspace belongs to another session
   */
  void admit(String sessionId) {
    session.compareAndSet(null, sessionId);
    if (!session.get().equals(sessionId)) {
      throw SandboxdException.unauthorized("invalid token: issued for another session");
    }
  }

  /** The pinned or configured session, or null while none is. */
  String session() {
    return session.get();
  }
}
