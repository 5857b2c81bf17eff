package io.agentcube.proxy;

import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.proxy.metrics.Route;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import io.vertx.core.http.HttpServerRequest;

/**
 * One invocation, from the request's arrival to the end of its response (or of its WebSocket):
 * the only object the data plane allocates per request besides Vert.x's own.
 *
 * <p>It is the response's end handler (Vert.x calls that once, when the response ends or its
 * connection closes first), and it ends two things exactly once: the request's metric (it is a
 * {@link RequestMeter}), and the session's in-flight mark, which restarts the session's idle
 * clock. A WebSocket tunnel ends when its socket closes instead ({@link #tunnelled}).
 *
 * <p>Confined to the request's event loop: every handler that touches it runs there.
 */
final class Exchange extends RequestMeter {

  final HttpServerRequest request;
  private final SessionRouter router;
  /** Set once the session is resolved; null for requests rejected before that. */
  Session<Sandbox> session;
  /** The pinned upstream connection this exchange holds busy, if it uses one. */
  UpstreamAffinity.Pin pin;
  /** Halves of the upstream exchange completed normally: request sent, response received. */
  int upstreamHalvesDone;
  /** The request body is still being streamed to the sandbox. */
  boolean uploading;
  /** The sandbox's response head has arrived (an answer may come before the upload ends). */
  boolean answered;
  /** Where an execution forwarded to a code interpreter is recorded; null for other requests. */
  private final ProxyMetrics execution;
  private boolean tunnel;
  private boolean responseEnded;
  private boolean done;

  /** @param metrics null when per-request metrics are off */
  Exchange(HttpServerRequest request, InvocationTarget target, ProxyMetrics metrics,
      SessionRouter router) {
    super(request.response(), target.route(), metrics);
    this.request = request;
    this.router = router;
    this.execution = target.execution() ? metrics : null;
    request.response().endHandler(this);
  }

  /**
   * Hands the exchange one in-flight mark of its resolved session, released when the exchange
   * ends. @return false when the client has already gone: the mark is released now and there is
   * nothing to forward
   */
  boolean bind(Session<Sandbox> session) {
    this.session = session;
    if (done) {
      router.finish(session);
      return false;
    }
    return true;
  }

  /** Whether the response has ended or the client's connection has closed. */
  boolean responseEnded() {
    return responseEnded;
  }

  /** The response became a WebSocket tunnel: the exchange ends with {@link #tunnelClosed}. */
  void tunnelled() {
    tunnel = true;
  }

  /** The response's end handler. */
  @Override
  public void handle(Void v) {
    responseEnded = true;
    if (!tunnel) {
      end();
    }
  }

  void tunnelClosed() {
    end();
  }

  private void end() {
    if (done) {
      return;
    }
    done = true;
    record();
    if (session != null) {
      if (execution != null) {
        execution.executionEnded(session.binding().definition(), request.response().getStatusCode(),
            System.nanoTime() - startNanos);
      }
      router.finish(session);
    }
  }
}
