package io.agentcube.sandboxd;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole request path, top to bottom in one place:
 *
 * <ol>
 *   <li>{@code GET /health}: answered at once, no token needed.
 *   <li>Host admin API ({@code /host/v1/}, host mode only): an admin token
 *       ({@link TokenVerifier#verifyAdmin}), then {@link HostHandler}.
 *   <li>Authentication: every other request needs a valid session token
 *       ({@link TokenVerifier#verifySession}); skipped only under {@code --no-auth} (single mode).
 *       Checked before routing, so an unauthenticated caller learns nothing about which paths
 *       exist. An admin token is no session token, nor the reverse.
 *   <li>Workspace: the one of a single-mode daemon, or on a host the sandbox the token's
 *       {@code sandbox_id} names; its {@link SessionPin} admits the token's session or refuses it
 *       ({@link Workspaces#admit}). Everything after acts on that workspace only.
 *   <li>Body cap: a declared {@code Content-Length} above the cap is refused before reading; the
 *       body handed to a handler fails once it passes the cap ({@link BoundedInputStream}).
 *   <li>Route: execute, upload, list, download; 405 for a known path with the wrong method, 404
 *       for anything else.
 *   <li>Errors: every failure becomes {@code {"error", "code"}} with its status right here, and
 *       nowhere else. Unexpected exceptions are logged and sent as 500 INTERNAL.
 * </ol>
 *
 * <p>Runs on the HTTP server's handler threads, one exchange per thread; the handlers it calls
 * block. Stateless apart from the immutable collaborators, so thread-safe.
 */
final class RequestRouter implements HttpHandler {

  private static final Logger log = LoggerFactory.getLogger(RequestRouter.class);

  private final TokenVerifier verifier; // null under --no-auth
  private final Workspaces workspaces;
  private final HostHandler host; // null in single mode
  private final ExecuteHandler execute;
  private final FileHandler files;
  private final long maxBodyBytes;
  private final Clock clock;
  private final Instant startedAt;
  private final Supplier<Map<String, Object>> healthDetails;

  /**
   * @param healthDetails fields {@code /health} adds to PicoD's (mode, isolation, sandboxes);
   *     called on every health request
   */
  RequestRouter(
      TokenVerifier verifier,
      Workspaces workspaces,
      HostHandler host,
      ExecuteHandler execute,
      FileHandler files,
      long maxBodyBytes,
      Clock clock,
      Supplier<Map<String, Object>> healthDetails) {
    this.verifier = verifier;
    this.workspaces = workspaces;
    this.host = host;
    this.execute = execute;
    this.files = files;
    this.maxBodyBytes = maxBodyBytes;
    this.clock = clock;
    this.startedAt = clock.instant();
    this.healthDetails = healthDetails;
  }

  @Override
  public void handle(HttpExchange exchange) {
    long t0 = System.nanoTime();
    String method = exchange.getRequestMethod();
    String path = exchange.getRequestURI().getRawPath();
    try {
      route(exchange, method, path == null ? "" : path);
    } catch (SandboxdException e) {
      if (e.code() == ErrorCode.INTERNAL) {
        log.warn("request failed method={} path={} reason={}", method, path, e.getMessage(), e);
      }
      fail(exchange, e.code(), e.getMessage());
    } catch (BoundedInputStream.TooLargeException e) {
      fail(exchange, ErrorCode.PAYLOAD_TOO_LARGE,
          "request body exceeds the limit of " + e.limit() + " bytes");
    } catch (IOException e) {
      // Mostly the client going away mid-request; nothing useful can be sent then.
      log.debug("request i/o failed method={} path={} reason={}", method, path, e.toString());
      fail(exchange, ErrorCode.INTERNAL, "i/o error: " + e.getMessage());
    } catch (RuntimeException e) {
      log.warn("request failed method={} path={}", method, path, e);
      fail(exchange, ErrorCode.INTERNAL, "internal error");
    } finally {
      exchange.close();
      if (log.isDebugEnabled()) {
        log.debug("request method={} path={} status={} millis={}", method, path,
            exchange.getResponseCode(), (System.nanoTime() - t0) / 1_000_000);
      }
    }
  }

  private void route(HttpExchange exchange, String method, String path) throws IOException {
    if (path.equals("/health")) {
      requireMethod(method, "GET");
      health(exchange);
      return;
    }
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (host != null && path.startsWith(HostHandler.PREFIX)) {
      verifier.verifyAdmin(authorization); // a host always has a verifier
      host.handle(exchange, method, path, body(exchange));
      return;
    }
    TokenVerifier.Claims claims = verifier == null ? null : verifier.verifySession(authorization);
    Workspace workspace = workspaces.admit(claims);
    if (path.equals("/api/execute")) {
      requireMethod(method, "POST");
      execute.execute(exchange, body(exchange), workspace);
    } else if (path.equals("/api/files") || path.equals("/api/files/")) {
      if (method.equals("POST")) {
        files.upload(exchange, body(exchange), workspace);
      } else {
        requireMethod(method, "GET");
        files.list(exchange, UrlPaths.query(exchange.getRequestURI().getRawQuery()).get("path"),
            workspace);
      }
    } else if (path.startsWith(FileHandler.DOWNLOAD_PREFIX)) {
      requireMethod(method, "GET");
      files.download(exchange,
          UrlPaths.decodePath(path.substring(FileHandler.DOWNLOAD_PREFIX.length())), workspace);
    } else {
      throw SandboxdException.notFound("no such endpoint: " + method + " " + path);
    }
  }

  static void requireMethod(String method, String allowed) {
    if (!method.equals(allowed)) {
      throw SandboxdException.reject(ErrorCode.METHOD_NOT_ALLOWED,
          "method " + method + " not allowed here, use " + allowed);
    }
  }

  /** The request body behind the cap; a declared oversize length is refused before reading. */
  private InputStream body(HttpExchange exchange) {
    String declared = exchange.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.strip()) > maxBodyBytes) {
          throw SandboxdException.payloadTooLarge(maxBodyBytes);
        }
      } catch (NumberFormatException e) {
        throw SandboxdException.badRequest("invalid Content-Length");
      }
    }
    return new BoundedInputStream(exchange.getRequestBody(), maxBodyBytes);
  }

  private void health(HttpExchange exchange) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", "ok");
    body.put("service", "sandboxd");
    body.put("version", SandboxdServer.version());
    body.put("uptime", GoDuration.format(Duration.between(startedAt, clock.instant())));
    body.putAll(healthDetails.get());
    Responses.sendJson(exchange, 200, body);
  }

  private void fail(HttpExchange exchange, ErrorCode code, String message) {
    if (Responses.committed(exchange)) {
      return; // headers are out: closing the exchange is all that is left
    }
    drainQuietly(exchange);
    try {
      Responses.sendError(exchange, code, message);
    } catch (IOException e) {
      log.debug("cannot send error response reason={}", e.toString());
    }
  }

  /**
   * Reads and drops what is left of a refused request's body (up to twice the cap), so a client
   * that is still sending reads our error instead of a connection reset. Past the budget the
   * server closes the connection.
   */
  private void drainQuietly(HttpExchange exchange) {
    byte[] scratch = new byte[16384];
    long budget = 2 * maxBodyBytes + (1 << 20);
    try {
      InputStream in = exchange.getRequestBody();
      int n;
      while (budget > 0 && (n = in.read(scratch)) >= 0) {
        budget -= n;
      }
    } catch (IOException e) {
      // the connection is going away anyway
    }
  }
}
