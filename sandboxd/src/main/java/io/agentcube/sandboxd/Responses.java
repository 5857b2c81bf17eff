package io.agentcube.sandboxd;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes JSON responses onto an exchange. Every error body in sandboxd is built by
 * {@link #sendError}: {@code {"error": "<human text>", "code": "<STABLE_CODE>"}}.
 *
 * <p>Blocking (writes to the socket); call on the exchange's handler thread.
 */
final class Responses {

  private Responses() {}

  static void sendJson(HttpExchange exchange, int status, Object body) throws IOException {
    byte[] bytes = Json.write(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  static void sendError(HttpExchange exchange, ErrorCode code, String message) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", message);
    body.put("code", code.name());
    sendJson(exchange, code.status(), body);
  }

  /** True once a status line has been sent: an error can then only abort the exchange. */
  static boolean committed(HttpExchange exchange) {
    return exchange.getResponseCode() != -1;
  }
}
