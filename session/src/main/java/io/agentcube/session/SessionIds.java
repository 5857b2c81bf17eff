package io.agentcube.session;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * Session ids: 136 random bits, URL-safe base64 without padding (23 characters), drawn again
 * while the first character is {@code -} or {@code _}, so that an id is also a valid Kubernetes
 * label value (the Kubernetes backend labels a session's pod with it); that rejection costs less
 * than 0.05 bits, leaving more than 135.
 *
 * <p>Ids coming from clients are only checked for shape, so that the UUID form AgentCube's API
 * hands out is accepted as well: 1 to 128 characters of {@code [A-Za-z0-9_-]}.
 */
public final class SessionIds {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final int MAX_LENGTH = 128;

  private SessionIds() {}

  /** A new random id. Thread-safe. */
  public static String generate() {
    byte[] bytes = new byte[17];
    for (;;) {
      RANDOM.nextBytes(bytes);
      String id = ENCODER.encodeToString(bytes);
      // The last character carries 4 bits and two zero bits: always a letter or digit.
      char first = id.charAt(0);
      if (first != '-' && first != '_') {
        return id;
      }
    }
  }

  /** Characters of an id shown in logs at INFO and above: 36 bits, enough to follow one session. */
  public static final int LOGGED_PREFIX = 6;

  /**
   * {@code id} as logs at INFO and above show it: its first {@value #LOGGED_PREFIX} characters and
   * {@code …}. An id is a bearer credential of its session (with {@code auth.mode: none}, or with
   * {@code auth.invocations: sessionId}), so a full one belongs in DEBUG logs only.
   */
  public static String redact(String id) {
    if (id == null) {
      return "-";
    }
    return id.length() <= LOGGED_PREFIX ? id : id.substring(0, LOGGED_PREFIX) + "…";
  }

  /** Whether {@code id} has the shape of a session id; says nothing about whether it exists. */
  public static boolean isWellFormed(CharSequence id) {
    int length = id.length();
    if (length == 0 || length > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      char c = id.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_';
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
