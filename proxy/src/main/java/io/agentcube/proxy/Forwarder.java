package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.runtime.AuthMode;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.streams.Pipe;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * Forwards one exchange to its session's sandbox over the shared {@link HttpClient} (keep-alive
 * pool per sandbox address) and streams the answer back; WebSocket upgrades become a TCP tunnel.
 *
 * <p>Why not vertx-http-proxy: on the benchmark's one core it forwards 22.7 k req/s where this
 * shape of forwarder on the same client forwards 26.8 k (docs/benchmarks.md); it re-parses the
 * {@code Date} of every response for cache logic we do not use, allocates a map per request and
 * buffers HTTP/1.0 bodies without a bound. What it did for us is small and is all here:
 * hop-by-hop headers ({@link HopHeaders}), body framing, back-pressure, failures.
 *
 * <p>Body rules: a request body (Content-Length or chunked) streams to the sandbox with the same
 * framing; a response body streams back with its Content-Length, else chunked (HTTP/1.1 clients)
 * or delimited by closing the connection (HTTP/1.0 clients). Bodies are never buffered whole.
 * Failures: before the response head is written they become a JSON error (502/504, or 404/410
 * when the sandbox is gone); after it, the client's connection is closed, so a truncated body is
 * never passed off as complete. A client that leaves mid-exchange resets the upstream request,
 * so no half-read connection goes back into the pool.
 *
 * <p>Runs on the request's event loop; the client's callbacks run there too (the client request
 * is created from that context).
 */
final class Forwarder {

  private static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("x-forwarded-for");
  private static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("x-forwarded-host");
  private static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("x-forwarded-proto");
  private static final CharSequence SESSION_HEADER = HttpHeaders.createOptimized(InvocationHandler.SESSION_HEADER);
  private static final CharSequence HTTP = HttpHeaders.createOptimized("http");
  private static final CharSequence HTTPS = HttpHeaders.createOptimized("https");

  private final HttpClient client;
  private final UpstreamAffinity affinity; // null: every request leases from the pool
  private final SessionRouter sessions;
  private final ProxyMetrics metrics;
  private final long upstreamIdleTimeoutNanos;
  private final long connectTimeoutMs;

  Forwarder(HttpClient client, UpstreamAffinity affinity, SessionRouter sessions, ProxyMetrics metrics,
      long upstreamIdleTimeoutMs, long connectTimeoutMs) {
    this.client = client;
    this.affinity = affinity;
    this.sessions = sessions;
    this.metrics = metrics;
    this.upstreamIdleTimeoutNanos = upstreamIdleTimeoutMs * 1_000_000;
    this.connectTimeoutMs = connectTimeoutMs;
  }

  /** Forwards {@code exchange} (its session bound) as {@code uri} to port {@code portIndex} of its sandbox. */
  void forward(Exchange exchange, String uri, int portIndex) {
    HttpServerRequest req = exchange.request;
    SocketAddress address = exchange.session.binding().address(portIndex);
    // No per-request idle timer: upstream connections carry the idle timeout (see AgentCubeProxy),
    // and a connection closed by it under a request is reported as SANDBOX_TIMEOUT.
    RequestOptions options = new RequestOptions()
        .setServer(address)
        .setHost(address.host())
        .setPort(address.port())
        .setConnectTimeout(connectTimeoutMs)
        .setMethod(req.method())
        .setURI(uri);
    boolean webSocket = req.canUpgradeToWebSocket();
    Future<HttpClientRequest> pinned = affinity == null || webSocket
        ? null : affinity.request(exchange, req.connection(), address, options);
    (pinned != null ? pinned : client.request(options)).onComplete(ar -> {
      if (ar.failed()) {
        failed(exchange, ar.cause(), null);
      } else if (exchange.responseEnded()) {
        ar.result().reset(); // the client left while we connected
      } else {
        send(exchange, ar.result(), webSocket);
      }
    });
  }

  private void send(Exchange exchange, HttpClientRequest upstream, boolean webSocket) {
    HttpServerRequest req = exchange.request;
    MultiMap headers = upstream.headers();
    HopHeaders.copyRequest(req.headers(), headers);
    addProxyHeaders(exchange, req, headers);
    if (webSocket) {
      headers.set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
      headers.set(HttpHeaders.UPGRADE, req.getHeader(HttpHeaders.UPGRADE));
      upstream.connect().onComplete(ar -> {
        if (ar.failed()) {
          failed(exchange, ar.cause(), upstream);
        } else if (ar.result().statusCode() == 101) {
          tunnel(exchange, ar.result());
        } else {
          respond(exchange, upstream, ar.result());
        }
      });
      req.resume();
      return;
    }
    upstream.response().onComplete(ar -> {
      if (ar.failed()) {
        failed(exchange, ar.cause(), upstream);
      } else {
        respond(exchange, upstream, ar.result());
      }
    });
    String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    boolean chunked = length == null && req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
    if (length == null && !chunked || "0".equals(length)) {
      upstream.end();
      halfDone(exchange);
      req.resume(); // lets the (empty) request end, so the connection can take the next one
      return;
    }
    if (chunked) {
      upstream.setChunked(true);
    }
    exchange.uploading = true;
    stream(req, upstream).onComplete(ar -> {
      exchange.uploading = false;
      if (ar.succeeded()) {
        halfDone(exchange);
      } else if (!exchange.answered) {
        upstream.reset();
      }
      // else: the sandbox answered before the body was all sent (an early 413, say) and stopped
      // reading; its answer is being delivered, and respond() closes the client connection after it.
    });
  }

  private void addProxyHeaders(Exchange exchange, HttpServerRequest req, MultiMap headers) {
    headers.set(SESSION_HEADER, exchange.session.id());
    if (exchange.session.binding().definition().authMode() == AuthMode.PICOD) {
      headers.set(HttpHeaders.AUTHORIZATION, sessions.authorization(exchange.session));
    }
    SocketAddress remote = req.remoteAddress();
    if (remote != null) {
      String prior = headers.get(X_FORWARDED_FOR);
      headers.set(X_FORWARDED_FOR, prior == null ? remote.hostAddress() : prior + ", " + remote.hostAddress());
    }
    if (!headers.contains(X_FORWARDED_HOST) && req.authority() != null) {
      headers.set(X_FORWARDED_HOST, req.authority().toString());
    }
    if (!headers.contains(X_FORWARDED_PROTO)) {
      headers.set(X_FORWARDED_PROTO, req.isSSL() ? HTTPS : HTTP);
    }
  }

  private void respond(Exchange exchange, HttpClientRequest upstream, HttpClientResponse answer) {
    HttpServerRequest req = exchange.request;
    HttpServerResponse resp = req.response();
    if (exchange.responseEnded()) {
      upstream.reset();
      return;
    }
    int status = answer.statusCode();
    if (status < 100 || status > 599) {
      failed(exchange, AgentCubeException.stackless(ErrorCode.SANDBOX_PROTOCOL_ERROR,
          "the sandbox answered with an invalid status code " + status), upstream);
      return;
    }
    exchange.answered = true;
    // An answer before the whole request body was sent: the rest of the body is not read, so
    // the client connection cannot carry another request.
    boolean early = exchange.uploading;
    resp.setStatusCode(status);
    if (answer.statusMessage() != null) {
      resp.setStatusMessage(answer.statusMessage());
    }
    HopHeaders.copyResponse(answer.headers(), resp.headers());
    resp.headers().set(SESSION_HEADER, exchange.session.id());
    if (early) {
      resp.headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    if (req.method() == HttpMethod.HEAD || status == 204 || status == 304) {
      resp.end();
      answer.end().onSuccess(v -> halfDone(exchange));
      return;
    }
    boolean unknownLength = !resp.headers().contains(HttpHeaders.CONTENT_LENGTH);
    // No chunking in HTTP/1.0: there the body ends where the connection does.
    boolean close = unknownLength && req.version() == HttpVersion.HTTP_1_0 || early;
    if (unknownLength && !close) {
      resp.setChunked(true);
    }
    stream(answer, resp).onComplete(ar -> {
      if (ar.failed()) {
        // Either side broke mid-body: close both, so the client never takes a cut body as whole
        // and the half-read upstream connection is not reused.
        upstream.reset();
        resp.reset();
      } else {
        halfDone(exchange);
        if (close) {
          req.connection().close();
        }
      }
    });
  }

  /**
   * One half of the upstream exchange (request sent, response received) completed normally; after
   * both, a pinned connection is free for the client connection's next request.
   */
  private static void halfDone(Exchange exchange) {
    if (++exchange.upstreamHalvesDone == 2 && exchange.pin != null) {
      UpstreamAffinity.release(exchange.pin);
      exchange.pin = null;
    }
  }

  /** Copies a stream with back-pressure; ends the destination only when the source ended normally. */
  private static Future<Void> stream(ReadStream<Buffer> from, WriteStream<Buffer> to) {
    Pipe<Buffer> pipe = from.pipe();
    pipe.endOnFailure(false);
    return pipe.to(to);
  }

  /** Joins the client's connection and the sandbox's as raw sockets after a 101. */
  private void tunnel(Exchange exchange, HttpClientResponse answer) {
    HttpServerRequest req = exchange.request;
    HttpServerResponse resp = req.response();
    if (exchange.responseEnded()) {
      answer.netSocket().close();
      return;
    }
    exchange.tunnelled();
    resp.setStatusCode(101);
    HopHeaders.copyResponse(answer.headers(), resp.headers());
    resp.headers().set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
    resp.headers().set(HttpHeaders.UPGRADE, answer.getHeader(HttpHeaders.UPGRADE));
    resp.headers().set(SESSION_HEADER, exchange.session.id());
    NetSocket sandboxSide = answer.netSocket();
    req.toNetSocket().onComplete(ar -> {
      if (ar.failed()) {
        sandboxSide.close();
        exchange.tunnelClosed();
        return;
      }
      NetSocket clientSide = ar.result();
      clientSide.closeHandler(v -> {
        sandboxSide.close();
        exchange.tunnelClosed();
      });
      sandboxSide.closeHandler(v -> clientSide.close());
      stream(clientSide, sandboxSide);
      stream(sandboxSide, clientSide);
    });
  }

  /** A failure before the response head: the upstream request reset, then {@link #fail}. */
  private void failed(Exchange exchange, Throwable failure, HttpClientRequest upstream) {
    if (upstream != null) {
      upstream.reset();
    }
    fail(exchange, failure);
  }

  /**
   * The data plane's one failure path: any failure of an exchange before its response head (its
   * caller unauthenticated, its session unknown or not startable, its sandbox unreachable, slow,
   * broken or dead) becomes the client's answer here: status and code ({@link ApiErrors#dataPlane}),
   * the session header when the exchange reached its session (or the client's id when that
   * session was lost), the upstream-error metric, and the session ended when its sandbox died.
   */
  void fail(Exchange exchange, Throwable failure) {
    HttpServerRequest req = exchange.request;
    req.resume(); // discard whatever is left of the request body; the connection stays usable
    if (exchange.responseEnded()) {
      return;
    }
    Session<Sandbox> session = exchange.session;
    ApiErrors.DataPlaneError mapped = ApiErrors.dataPlane(failure, session != null,
        session == null || session.binding().alive(), System.nanoTime() - exchange.startNanos,
        upstreamIdleTimeoutNanos);
    AgentCubeException error = mapped.error();
    if (mapped.lost()) {
      sessions.lost(session.binding());
      error = sessions.notFound(session.id());
    }
    if (mapped.upstreamReason() != null && metrics != null) {
      metrics.upstreamError(mapped.upstreamReason());
    }
    String id = session != null ? session.id()
        : error.code() == ErrorCode.SANDBOX_LOST ? req.getHeader(SESSION_HEADER) : null;
    if (id != null) {
      // Like every answer within a session, the error names it.
      req.response().headers().set(SESSION_HEADER, id);
    }
    ApiErrors.send(req.response(), error);
  }
}
