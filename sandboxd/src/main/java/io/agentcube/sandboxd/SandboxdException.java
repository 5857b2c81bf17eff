package io.agentcube.sandboxd;

/**
 * The one failure type of sandboxd: what the client sees as
 * {@code {"error": message, "code": code}} with {@link ErrorCode#status()}.
 *
 * <p>Thrown anywhere below the HTTP layer and turned into a response in exactly one place,
 * {@link RequestRouter}. Rejections (bad input, bad token) carry no stack trace: they are
 * expected and a trace would say nothing. The message is shown to the client, so it must never
 * contain a token or payload bytes.
 */
final class SandboxdException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  private SandboxdException(ErrorCode code, String message, Throwable cause, boolean stackTrace) {
    super(message, cause, false, stackTrace);
    this.code = code;
  }

  /** An expected rejection of the client's request, without a stack trace. */
  static SandboxdException reject(ErrorCode code, String message) {
    return new SandboxdException(code, message, null, false);
  }

  static SandboxdException badRequest(String message) {
    return reject(ErrorCode.BAD_REQUEST, message);
  }

  static SandboxdException unauthorized(String message) {
    return reject(ErrorCode.UNAUTHORIZED, message);
  }

  static SandboxdException notFound(String message) {
    return reject(ErrorCode.NOT_FOUND, message);
  }

  static SandboxdException payloadTooLarge(long limitBytes) {
    return reject(
        ErrorCode.PAYLOAD_TOO_LARGE, "request body exceeds the limit of " + limitBytes + " bytes");
  }

  /** A server-side failure; keeps its cause for the log. */
  static SandboxdException internal(String message, Throwable cause) {
    return new SandboxdException(ErrorCode.INTERNAL, message, cause, true);
  }

  ErrorCode code() {
    return code;
  }

  int status() {
    return code.status();
  }
}
