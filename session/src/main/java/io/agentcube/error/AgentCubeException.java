package io.agentcube.error;

import java.time.Duration;

/**
 * The one exception family of the project: a failure a client should see as
 * {@code {"error": message, "code": code}} with {@link ErrorCode#status()}.
 *
 * <p>Thrown or used to fail futures anywhere below the HTTP layer; the proxy maps it to a response
 * in exactly one place. Instances made with {@link #stackless} carry no stack trace: they are cheap
 * enough for hot-path rejections (overload, unknown session) where a trace would say nothing.
 */
public class AgentCubeException extends RuntimeException {

  private final ErrorCode code;
  private final Duration retryAfter;

  public AgentCubeException(ErrorCode code, String message) {
    this(code, message, null, null, true);
  }

  public AgentCubeException(ErrorCode code, String message, Throwable cause) {
    this(code, message, null, cause, true);
  }

  private AgentCubeException(
      ErrorCode code, String message, Duration retryAfter, Throwable cause, boolean stackTrace) {
    super(message, cause, false, stackTrace);
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** A failure without a stack trace, for expected rejections on the request path. */
  public static AgentCubeException stackless(ErrorCode code, String message) {
    return new AgentCubeException(code, message, null, null, false);
  }

  /** A stackless rejection that tells the client when to try again ({@code Retry-After}). */
  public static AgentCubeException retryLater(ErrorCode code, String message, Duration retryAfter) {
    return new AgentCubeException(code, message, retryAfter, null, false);
  }

  public ErrorCode code() {
    return code;
  }

  public int status() {
    return code.status();
  }

  /** When the client may retry, or {@code null} when the failure is not about load. */
  public Duration retryAfter() {
    return retryAfter;
  }
}
