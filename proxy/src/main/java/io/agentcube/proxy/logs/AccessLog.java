package io.agentcube.proxy.logs;

import io.agentcube.session.SessionIds;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log ({@code log.access: true}): one INFO line per request on logger
 * {@code io.agentcube.access}, when its response has been written or its connection closed first:
 * method, path (without the query), status, duration, response body bytes, request id, session id
 * (redacted), runtime. As text: {@code request method=GET path=/v1/... status=200 durationMs=1.234
 * bytes=17 requestId=... session=AbCdEf… runtime=default/echo}; as JSON the same fields, typed.
 *
 * <p>What it never writes, so that a line at INFO is no credential: a full session id (the
 * {@code x-agentcube-session-id} of the request or, for a new session, of the response, is shown
 * as {@link SessionIds#redact}; a path segment after {@code sessions} is redacted the same way),
 * the query string, any header value (bearer tokens included) but a well-formed
 * {@code x-request-id}.
 *
 * <p>The request id is the client's {@code x-request-id} (what nginx, Envoy and most ingresses
 * set; the proxy forwards it to the sandbox unchanged) when it is 1 to 128 characters of
 * {@code [A-Za-z0-9._:/+=@-]}, else one made here, unique within the process. Not a metric label.
 *
 * <p>Why not vertx-web's {@code LoggerHandler}: it is a router handler, and invocations are
 * dispatched before the router; and it logs the URI with its query and knows nothing of sessions.
 *
 * <p>Uses the response's {@code bodyEndHandler}, {@code closeHandler} and
 * {@code headersEndHandler} (the {@code endHandler} belongs to the request's metric); runs on the
 * request's event loop. A WebSocket's line is written at its {@code 101}: status 101, the time to
 * the upgrade, 0 bytes; the tunnel's own life is not in the access log.
 */
public final class AccessLog {

  static final String LOGGER = "io.agentcube.access";
  private static final Logger log = LoggerFactory.getLogger(LOGGER);
  private static final String SESSION_HEADER = "x-agentcube-session-id";
  private static final String REQUEST_ID_HEADER = "x-request-id";
  private static final int MAX_REQUEST_ID = 128;

  private final String idPrefix = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
  private final AtomicLong sequence = new AtomicLong();

  /**
   * Writes {@code request}'s line when it ends.
   *
   * @param runtime {@code namespace/name} of an invocation's runtime, else {@code null}
   */
  public void observe(HttpServerRequest request, String runtime) {
    Line line = new Line(request, runtime, System.nanoTime());
    HttpServerResponse response = request.response();
    response.bodyEndHandler(line);
    response.closeHandler(line);
    // A WebSocket upgrade becomes a raw tunnel, which ends neither body nor response: its line is
    // written as its 101 head goes out (duration to the upgrade, 0 bytes).
    response.headersEndHandler(v -> {
      if (response.getStatusCode() == 101) {
        line.handle(null);
      }
    });
  }

  private final class Line implements Handler<Void> {
    private final HttpServerRequest request;
    private final String runtime;
    private final long startNanos;
    private boolean written;

    Line(HttpServerRequest request, String runtime, long startNanos) {
      this.request = request;
      this.runtime = runtime;
      this.startNanos = startNanos;
    }

    @Override
    public void handle(Void v) {
      if (written) {
        return;
      }
      written = true;
      write(request, runtime, System.nanoTime() - startNanos);
    }
  }

  private void write(HttpServerRequest request, String runtime, long nanos) {
    HttpServerResponse response = request.response();
    String session = request.getHeader(SESSION_HEADER);
    if (session == null) {
      session = response.headers().get(SESSION_HEADER);
    }
    write(request.method().name(), request.path(), response.getStatusCode(), nanos, response.bytesWritten(),
        request.getHeader(REQUEST_ID_HEADER), session, runtime);
  }

  /**
   * Writes one line for a request the relay served (invocations do not reach Vert.x's request
   * objects): the same fields as for every other request.
   *
   * @param path without the query
   * @param requestIdHeader the client's {@code x-request-id}, or null
   * @param session the session's full id (redacted here), or null
   */
  public void write(String method, String rawPath, int status, long nanos, long bytes, String requestIdHeader,
      String session, String runtime) {
    String path = printable(redactPath(rawPath));
    double durationMs = Math.round(nanos / 1_000.0) / 1_000.0;
    String requestId = requestId(requestIdHeader);
    String shown = session == null ? null : SessionIds.redact(session);
    log.atInfo()
        .addKeyValue("method", method)
        .addKeyValue("path", path)
        .addKeyValue("status", status)
        .addKeyValue("durationMs", durationMs)
        .addKeyValue("bytes", bytes)
        .addKeyValue("requestId", requestId)
        .addKeyValue("session", shown)
        .addKeyValue("runtime", runtime)
        .log("request method={} path={} status={} durationMs={} bytes={} requestId={} session={} runtime={}",
            method, path, status, durationMs, bytes, requestId, shown == null ? "-" : shown,
            runtime == null ? "-" : runtime);
  }

  /** The client's id when it is well-formed, else a new one. */
  String requestId(String fromClient) {
    if (fromClient != null && !fromClient.isEmpty() && fromClient.length() <= MAX_REQUEST_ID) {
      boolean ok = true;
      for (int i = 0; i < fromClient.length() && ok; i++) {
        char c = fromClient.charAt(i);
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || ".:_/+=@-".indexOf(c) >= 0;
      }
      if (ok) {
        return fromClient;
      }
    }
    return idPrefix + "-" + Long.toHexString(sequence.incrementAndGet());
  }

  /**
   * {@code path} with every character outside visible ASCII as {@code ?}: a refused request's
   * target may hold control characters, which must not reach a text log line. (The redaction's
   * {@code …} is the one exception, added after.)
   */
  static String printable(String path) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if ((c < 0x21 || c > 0x7e) && c != '…') {
        StringBuilder out = new StringBuilder(path.length());
        for (int j = 0; j < path.length(); j++) {
          char d = path.charAt(j);
          out.append((d < 0x21 || d > 0x7e) && d != '…' ? '?' : d);
        }
        return out.toString();
      }
    }
    return path;
  }

  /** {@code /v1/sessions/<id>/keepalive} → {@code /v1/sessions/AbCdEf…/keepalive}. */
  static String redactPath(String path) {
    int at = path.indexOf("/sessions/");
    if (at < 0) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length());
    int from = 0;
    while (at >= 0) {
      int idStart = at + "/sessions/".length();
      int idEnd = path.indexOf('/', idStart);
      if (idEnd < 0) {
        idEnd = path.length();
      }
      out.append(path, from, idStart);
      if (idEnd > idStart) {
        out.append(SessionIds.redact(path.substring(idStart, idEnd)));
      }
      from = idEnd;
      at = path.indexOf("/sessions/", idEnd);
    }
    return out.append(path, from, path.length()).toString();
  }
}
