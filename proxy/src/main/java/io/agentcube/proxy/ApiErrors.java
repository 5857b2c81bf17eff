package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where failures become HTTP responses: {@link #dataPlane} maps a failure of an invocation,
 * {@link #controlPlane} (and {@link #controlPlaneStatus}) one of any other request, {@link #send}
 * writes {@code {"error": text, "code": CODE}} with the status of the {@link ErrorCode}, plus
 * {@code Retry-After} for load rejections and {@code WWW-Authenticate} for 401. Each mapping has a
 * case in {@code ApiErrorsTest}.
 */
public final class ApiErrors {

  private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
  private static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("retry-after");
  private static final CharSequence WWW_AUTHENTICATE = HttpHeaders.createOptimized("www-authenticate");
  private static final CharSequence BEARER_CHALLENGE = HttpHeaders.createOptimized("Bearer realm=\"agentcube\"");

  private ApiErrors() {}

  /**
   * What a failure of a data-plane exchange means for its client: the one mapping of the data
   * plane ({@link Forwarder#fail} applies it: status, code, session header, metric).
   *
   * @param bound whether the exchange reached its session's sandbox (else it failed before:
   *     authentication, lookup, session start)
   * @param sandboxAlive whether that sandbox still lives (false: the session is lost)
   * @param elapsedNanos since the request arrived
   * @param upstreamIdleTimeoutNanos {@code upstream.idleTimeout}
   */
  public static DataPlaneError dataPlane(Throwable failure, boolean bound, boolean sandboxAlive,
      long elapsedNanos, long upstreamIdleTimeoutNanos) {
    if (bound && !sandboxAlive) {
      return new DataPlaneError(null, "sandbox_lost", true);
    }
    if (failure instanceof AgentCubeException e) {
      return new DataPlaneError(e, bound ? upstreamReason(e.code()) : null, false);
    }
    if (!bound) {
      return new DataPlaneError(internal(failure), null, false);
    }
    AgentCubeException e;
    if (failure instanceof HttpClosedException && elapsedNanos >= upstreamIdleTimeoutNanos) {
      // The upstream connection's idle timeout closed it under this request.
      e = AgentCubeException.stackless(ErrorCode.SANDBOX_TIMEOUT, "the sandbox sent nothing for "
          + upstreamIdleTimeoutNanos / 1_000_000 + " ms");
    } else if (protocolError(failure)) {
      e = AgentCubeException.stackless(ErrorCode.SANDBOX_PROTOCOL_ERROR,
          "the sandbox's answer is not valid HTTP/1.1");
    } else if (failure instanceof TimeoutException) {
      e = AgentCubeException.stackless(ErrorCode.SANDBOX_TIMEOUT, "the sandbox did not answer in time");
    } else if (failure instanceof HttpClosedException || failure instanceof IOException
        || failure instanceof io.vertx.core.http.ConnectionPoolTooBusyException
        || failure instanceof io.vertx.core.VertxException) {
      // Only here, between the proxy and a sandbox, is an I/O failure the sandbox's.
      e = AgentCubeException.stackless(ErrorCode.SANDBOX_UNREACHABLE,
          "the sandbox could not be reached: " + failure.getMessage());
    } else {
      e = internal(failure);
    }
    return new DataPlaneError(e, upstreamReason(e.code()), false);
  }

  /**
   * A data-plane failure's answer: {@code error} (null when {@code lost}: the session's own
   * "lost" answer is used), the {@code agentcube_upstream_errors_total} reason or null.
   */
  public record DataPlaneError(AgentCubeException error, String upstreamReason, boolean lost) {}

  /**
   * Whether {@code failure} says the sandbox broke HTTP (Netty's decoder refused its answer: not
   * HTTP, a head over the limits, a malformed header) rather than being unreachable or slow.
   */
  private static boolean protocolError(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof AgentCubeException e) {
        return e.code() == ErrorCode.SANDBOX_PROTOCOL_ERROR;
      }
      if (t instanceof io.netty.handler.codec.DecoderException
          || t instanceof io.netty.handler.codec.TooLongFrameException
          || t instanceof IllegalArgumentException) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  private static String upstreamReason(ErrorCode code) {
    return switch (code) {
      case SANDBOX_TIMEOUT -> "timeout";
      case SANDBOX_PROTOCOL_ERROR -> "protocol_error";
      case SANDBOX_UNREACHABLE -> "unreachable";
      case SANDBOX_LOST -> "sandbox_lost";
      default -> null;
    };
  }

  /**
   * What a failure of any other request means for its client (control plane, health, metrics):
   * the one mapping outside the data plane. No I/O failure here is a sandbox's fault, so anything
   * but an {@link AgentCubeException} is a 500 without details (the cause is logged).
   */
  public static AgentCubeException controlPlane(Throwable failure) {
    if (failure instanceof HttpClosedException) {
      // The client left before its request was read (a body handler's failure): nobody to answer.
      return AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "the connection closed during the request");
    }
    return failure instanceof AgentCubeException e ? e : internal(failure);
  }

  /** A request head Netty could not decode ({@code cause} from its decoder result). */
  public static AgentCubeException undecodable(Throwable cause) {
    if (cause instanceof io.netty.handler.codec.http.TooLongHttpHeaderException) {
      return AgentCubeException.stackless(ErrorCode.HEADERS_TOO_LARGE, "request headers too large");
    }
    if (cause instanceof io.netty.handler.codec.http.TooLongHttpLineException) {
      return AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "request line too long");
    }
    return AgentCubeException.stackless(ErrorCode.BAD_REQUEST,
        cause == null ? "malformed request" : "malformed request: " + cause.getMessage());
  }

  /** The router's own statuses (no route, wrong method, body over the limit) as errors. */
  public static AgentCubeException controlPlaneStatus(int status, String method, String path) {
    return switch (status) {
      case 413 -> AgentCubeException.stackless(ErrorCode.PAYLOAD_TOO_LARGE, "request body too large");
      case 404 -> AgentCubeException.stackless(ErrorCode.NOT_FOUND, "no route for " + method + " " + path);
      case 405 -> AgentCubeException.stackless(ErrorCode.METHOD_NOT_ALLOWED,
          "method " + method + " not allowed on " + path);
      case 400 -> AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "bad request");
      default -> internal(new IllegalStateException("router status " + status + " for " + method + " " + path));
    };
  }

  private static AgentCubeException internal(Throwable t) {
    log.error("unexpected failure", t);
    // The cause is in the log; the client learns nothing of the proxy's insides.
    return new AgentCubeException(ErrorCode.INTERNAL, "internal error", t);
  }

  public static Buffer body(AgentCubeException e) {
    return new JsonObject().put("error", e.getMessage()).put("code", e.code().name()).toBuffer();
  }

  /** Ends {@code response} with {@code e} (if nothing of the response was sent yet, else resets it). */
  public static Future<Void> send(HttpServerResponse response, AgentCubeException e) {
    if (response.headWritten() || response.ended()) {
      response.reset();
      return Future.succeededFuture();
    }
    response.setStatusCode(e.status()).putHeader(HttpHeaders.CONTENT_TYPE, JSON);
    if (e.code() == ErrorCode.UNAUTHENTICATED) {
      response.putHeader(WWW_AUTHENTICATE, BEARER_CHALLENGE);
    }
    if (e.retryAfter() != null) {
      response.putHeader(RETRY_AFTER, Long.toString(Math.max(1, e.retryAfter().toSeconds())));
    }
    return response.end(body(e));
  }
}
