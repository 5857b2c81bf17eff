package io.agentcube.error;

/**
 * The stable error codes of the HTTP API (design.md §5), each with the HTTP status it maps to.
 *
 * <p>Clients branch on {@link #name()}; the status is what the one error mapper in the proxy
 * sends. Adding a code is an API change: document it in {@code docs/api.md}.
 */
public enum ErrorCode {
  BAD_REQUEST(400),
  UNAUTHORIZED(401),
  /** Inbound authentication on, and no valid bearer token (sent with {@code WWW-Authenticate}). */
  UNAUTHENTICATED(401),
  FORBIDDEN(403),
  RUNTIME_NOT_FOUND(404),
  ENDPOINT_NOT_FOUND(404),
  SESSION_NOT_FOUND(404),
  NOT_FOUND(404),
  METHOD_NOT_ALLOWED(405),
  SANDBOX_LOST(410),
  PAYLOAD_TOO_LARGE(413),
  URI_TOO_LONG(414),
  HEADERS_TOO_LARGE(431),
  SERVER_OVERLOADED(429),
  SESSION_LIMIT(429),
  INTERNAL(500),
  /** A request in a transfer coding the proxy does not implement (only chunked is). */
  NOT_IMPLEMENTED(501),
  HTTP_VERSION_NOT_SUPPORTED(505),
  SANDBOX_UNREACHABLE(502),
  /** The sandbox answered with something that is not valid HTTP/1.1 (garbage, a status outside 100-599, an oversized head). */
  SANDBOX_PROTOCOL_ERROR(502),
  NOT_READY(503),
  POOL_EXHAUSTED(503),
  /** The service that checks tokens (the Kubernetes API server, a JWKS URL) cannot be reached. */
  AUTH_UNAVAILABLE(503),
  TOO_MANY_CONNECTIONS(503),
  /** The proxy is draining before it stops: no new sessions here (sent with {@code Retry-After}). */
  SHUTTING_DOWN(503),
  SANDBOX_TIMEOUT(504),
  COLD_START_TIMEOUT(504);

  private final int status;

  ErrorCode(int status) {
    this.status = status;
  }

  /** The HTTP status code this error is sent with. */
  public int status() {
    return status;
  }
}
