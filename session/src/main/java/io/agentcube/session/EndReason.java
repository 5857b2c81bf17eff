package io.agentcube.session;

/** Why a session ended; also the {@code reason} tag of {@code agentcube_sessions_ended_total}. */
public enum EndReason {
  /** No request for {@code sessionTimeout} (and none in flight). */
  IDLE("idle"),
  /** Lived {@code maxSessionDuration}. */
  MAX_DURATION("max_duration"),
  /** A client deleted it. */
  DELETED("deleted"),
  /** Its sandbox died or was evicted. */
  SANDBOX_LOST("sandbox_lost"),
  /** The proxy shut down. */
  SHUTDOWN("shutdown");

  private final String tag;

  EndReason(String tag) {
    this.tag = tag;
  }

  /** The lower-case name used in metrics and JSON. */
  public String tag() {
    return tag;
  }
}
