package io.agentcube.proxy.auth;

/**
 * The client behind one request, as far as sessions are concerned: the subject its new sessions
 * belong to, and whether it may see and end every session.
 *
 * @param subject the owner recorded for sessions it creates; {@code null} when the request was
 *     not authenticated (authentication off, or a data-plane request authorised by its session id)
 * @param admin whether it may use every session, whoever owns it
 */
public record Caller(String subject, boolean admin) {

  /**
   * No check: authentication is off, or {@code auth.invocations: sessionId} lets a data-plane
   * request through by its session id. Owns nothing, may use any session it names.
   */
  public static final Caller UNCHECKED = new Caller(null, true);

  /** Whether this caller may see, use or end a session owned by {@code owner} (may be null). */
  public boolean mayUse(String owner) {
    return admin || subject != null && subject.equals(owner);
  }
}
