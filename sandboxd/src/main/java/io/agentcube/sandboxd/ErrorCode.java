package io.agentcube.sandboxd;

/**
 * The stable error codes sandboxd answers with, each with its HTTP status. The names match the
 * proxy's codes (design.md §5) so a client sees one vocabulary through the whole path.
 *
 * <p>Clients branch on {@link #name()}; adding a code is an API change (docs/sandboxd.md).
 */
enum ErrorCode {
  BAD_REQUEST(400),
  UNAUTHORIZED(401),
  FORBIDDEN(403),
  NOT_FOUND(404),
  SANDBOX_NOT_FOUND(404),
  METHOD_NOT_ALLOWED(405),
  SANDBOX_EXISTS(409),
  PAYLOAD_TOO_LARGE(413),
  UNSUPPORTED_MEDIA_TYPE(415),
  SERVER_OVERLOADED(429),
  INTERNAL(500);

  private final int status;

  ErrorCode(int status) {
    this.status = status;
  }

  /** The HTTP status this code is sent with. */
  int status() {
    return status;
  }
}
