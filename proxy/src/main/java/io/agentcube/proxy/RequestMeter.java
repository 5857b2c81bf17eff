package io.agentcube.proxy;

import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.proxy.metrics.Route;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerResponse;

/**
 * The per-request metric: counted in flight from construction, recorded once (route, status,
 * duration) at {@link #record}. As a response's end handler it records when the response ends or
 * its connection closes first (Vert.x calls an end handler for either). {@link Exchange} extends
 * it, so that a data-plane request carries one object for its metric and its session.
 *
 * <p>Confined to the request's event loop.
 */
class RequestMeter implements Handler<Void> {

  final long startNanos = System.nanoTime();
  private final HttpServerResponse response;
  private final Route route;
  private final ProxyMetrics metrics; // null when per-request metrics are off
  private boolean recorded;

  RequestMeter(HttpServerResponse response, Route route, ProxyMetrics metrics) {
    this.response = response;
    this.route = route;
    this.metrics = metrics;
    if (metrics != null) {
      metrics.requestStarted();
    }
  }

  @Override
  public void handle(Void v) {
    record();
  }

  /** Records the request, the first time only. */
  final void record() {
    if (!recorded && metrics != null) {
      recorded = true;
      metrics.requestEnded(route, response.getStatusCode(), System.nanoTime() - startNanos);
    }
  }
}
