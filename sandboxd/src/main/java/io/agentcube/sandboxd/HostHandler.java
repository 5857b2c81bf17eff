package io.agentcube.sandboxd;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A host's admin API, under {@code /host/v1/} (the router's admin token, checked by
 * {@link RequestRouter}):
 *
 * <ul>
 *   <li>{@code POST /host/v1/sandboxes} {@code {"id", "env"?, "network"?}} → 201 {@code {"id",
 *       "workspace"}} (the workspace's path as commands see it: {@code /workspace} in the jail); 409 {@code SANDBOX_EXISTS}, 429 {@code SERVER_OVERLOADED} at
 *       {@code --max-sandboxes}, 400 for a bad id, env or body.
 *   <li>{@code DELETE /host/v1/sandboxes/{id}} → 204 once its commands are dead and its directory
 *       is gone; 404 {@code SANDBOX_NOT_FOUND}.
 *   <li>{@code GET /host/v1/sandboxes} → 200 {@code {"sandboxes": [{"id", "session", "executions"}]}}.
 * </ul>
 *
 * <p>Blocking (a delete waits for processes to die); runs on the exchange's handler thread.
 * Failures are {@link SandboxdException}s, mapped to responses by {@link RequestRouter}.
 */
final class HostHandler {

  static final String PREFIX = "/host/v1/";
  static final String SANDBOXES = "/host/v1/sandboxes";

  private final SandboxHost host;

  HostHandler(SandboxHost host) {
    this.host = host;
  }

  /** Routes one admin request; {@code body} is the capped request body. */
  void handle(HttpExchange exchange, String method, String path, InputStream body)
      throws IOException {
    if (path.equals(SANDBOXES) || path.equals(SANDBOXES + "/")) {
      if (method.equals("POST")) {
        create(exchange, body);
      } else {
        RequestRouter.requireMethod(method, "GET");
        list(exchange);
      }
    } else if (path.startsWith(SANDBOXES + "/") && path.indexOf('/', SANDBOXES.length() + 1) < 0) {
      RequestRouter.requireMethod(method, "DELETE");
      host.delete(UrlPaths.decodePath(path.substring(SANDBOXES.length() + 1)));
      exchange.sendResponseHeaders(204, -1);
    } else {
      throw SandboxdException.notFound("no such endpoint: " + method + " " + path);
    }
  }

  private void create(HttpExchange exchange, InputStream body) throws IOException {
    Map<String, Object> req = Json.readObject(body);
    Object id = req.get("id");
    if (!(id instanceof String)) {
      throw SandboxdException.badRequest("id must be a string");
    }
    Object network = req.get("network");
    if (network != null && !(network instanceof Boolean)) {
      throw SandboxdException.badRequest("network must be true or false");
    }
    Workspace ws = host.create((String) id, ExecuteHandler.env(req.get("env")),
        Boolean.TRUE.equals(network));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", ws.id());
    out.put("workspace", ws.paths().jailRoot().toString());
    Responses.sendJson(exchange, 201, out);
  }

  private void list(HttpExchange exchange) throws IOException {
    List<Object> sandboxes = new ArrayList<>();
    for (Workspace ws : host.list()) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("id", ws.id());
      s.put("session", ws.session().session());
      s.put("executions", ws.executions());
      sandboxes.add(s);
    }
    Responses.sendJson(exchange, 200, Map.of("sandboxes", sandboxes));
  }
}
