package io.agentcube.sandbox;

/** How a new session got its sandbox; the {@code launch_type} tag of the session metrics. */
public enum LaunchType {
  /** Taken ready from the warm pool. */
  WARM("warm"),
  /** The request waited for a sandbox to start. */
  COLD("cold");

  private final String tag;

  LaunchType(String tag) {
    this.tag = tag;
  }

  public String tag() {
    return tag;
  }
}
