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
 * The one place where failures become HTTP responses: {@code {"error": text, "code": CODE}} with
 * the status of the {@link ErrorCode}, plus {@code Retry-After} for load rejections.
 */
public final class ApiErrors {

  private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
  private static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("retry-after");
  private static final CharSequence WWW_AUTHENTICATE = HttpHeaders.createOptimized("www-authenticate");
  private static final CharSequence BEARER_CHALLENGE = HttpHeaders.createOptimized("Bearer realm=\"agentcube\"");

  private ApiErrors() {}

  /** What a failure means for the client. Upstream I/O failures become 502/504. */
  public static AgentCubeException classify(Throwable t) {
    if (t instanceof AgentCubeException e) {
      return e;
    }
    if (t instanceof TimeoutException) {
      return AgentCubeException.stackless(ErrorCode.SANDBOX_TIMEOUT,
          "the sandbox did not answer in time: " + t.getMessage());
    }
    if (t instanceof HttpClosedException || t instanceof IOException
        || t instanceof io.vertx.core.http.ConnectionPoolTooBusyException
        || t instanceof io.vertx.core.VertxException) {
      return AgentCubeException.stackless(ErrorCode.SANDBOX_UNREACHABLE,
          "the sandbox could not be reached: " + t.getMessage());
    }
    log.error("unexpected failure", t);
    // The cause is in the log; the client learns nothing of the proxy's insides.
    return new AgentCubeException(ErrorCode.INTERNAL, "internal error", t);
  }

  public static Buffer body(AgentCubeException e) {
    return new JsonObject().put("error", e.getMessage()).put("code", e.code().name()).toBuffer();
  }

  /** Ends {@code response} with the error (if it has not been sent yet). */
  public static Future<Void> send(HttpServerResponse response, Throwable failure) {
    if (response.headWritten() || response.ended()) {
      response.reset();
      return Future.succeededFuture();
    }
    AgentCubeException e = classify(failure);
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
