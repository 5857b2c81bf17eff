package io.agentcube.proxy.auth;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * Who a bearer token says its holder is, as a {@link TokenCheck} verified it.
 *
 * @param subject the stable name of the holder (a static token's subject, a JWT's {@code sub}, a
 *     Kubernetes user name); sessions are owned by it
 * @param roles the holder's roles (a JWT's roles claim, Kubernetes groups)
 * @param expiresAt when the token stops being valid, or {@code null} when it does not say (a
 *     cached result never outlives it)
 */
public record Identity(String subject, Set<String> roles, Instant expiresAt) {

  public Identity {
    Objects.requireNonNull(subject, "subject");
    roles = Set.copyOf(roles);
  }
}
