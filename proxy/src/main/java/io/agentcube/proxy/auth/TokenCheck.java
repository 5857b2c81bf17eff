package io.agentcube.proxy.auth;

import io.vertx.core.Future;

/**
 * One way of verifying a bearer token ({@code auth.mode}: static, jwt, kubernetes).
 *
 * <p>{@link #verify} is called on an event loop and must not block; it fails with
 * {@code UNAUTHENTICATED} for a token that is not valid, and with {@code AUTH_UNAVAILABLE} when
 * whatever it asks (a JWKS URL, the Kubernetes API server) cannot answer. Results are cached by
 * {@link Authenticator}, keyed by the token's digest.
 */
interface TokenCheck {

  Future<Identity> verify(String token);

  /** Releases what the check holds (clients, threads). Called once, when the proxy stops. */
  default void close() {}
}
