package io.agentcube.jail;

import java.util.Locale;

/**
 * Whether sandboxes run jailed: {@link #AUTO} uses bubblewrap where it works and says so loudly
 * once where it does not; {@link #REQUIRED} refuses to start without it; {@link #OFF} never jails
 * (a trusted single-user machine, or a pod that is the sandbox already).
 */
public enum IsolationMode {
  AUTO, REQUIRED, OFF;

  /**
   * Parses {@code auto}, {@code required} or {@code off} (any case).
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static IsolationMode parse(String text) {
    if (text != null) {
      for (IsolationMode m : values()) {
        if (m.name().equalsIgnoreCase(text.strip())) {
          return m;
        }
      }
    }
    throw new IllegalArgumentException(
        "isolation must be one of auto, required, off (got " + text + ")");
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
