package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Timeouts and size limits answer with JSON errors and stable codes. */
class LimitsIT {

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  @BeforeAll
  static void start() throws Exception {
    f = ProxyFixture.echo(tmp, Map.of(
        "upstream.idleTimeout", "1s", "server.maxHeaderSize", 2048, "server.maxControlBodySize", 1024,
        "sessions.maxSessions", 3));
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  @Test
  void slowSandbox_pastUpstreamIdleTimeout_504WithSessionHeader() throws Exception {
    String id = sessionId(f.get(invoke("echo", "/"), null));
    HttpResponse<String> r = f.get(invoke("echo", "/slow?seconds=3"), id);
    assertThat(json(r, 504).getString("code")).isEqualTo("SANDBOX_TIMEOUT");
    assertThat(sessionId(r)).isEqualTo(id);
    assertThat(f.get(invoke("echo", "/after"), id).statusCode()).as("the session goes on").isEqualTo(200);
  }

  @Test
  void headersOverLimit_431Json() throws Exception {
    try (Socket s = new Socket("127.0.0.1", f.proxy.port())) {
      OutputStream out = s.getOutputStream();
      out.write(("GET " + invoke("echo", "/") + " HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(4096)
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertThat(response).startsWith("HTTP/1.1 431").contains("\"code\":\"HEADERS_TOO_LARGE\"");
    }
  }

  @Test
  void controlBodyOverLimit_413Json() throws Exception {
    HttpResponse<String> r = f.send("POST", "/v1/agent-runtime", "{\"name\":\"" + "x".repeat(2000) + "\"}", null);
    assertThat(json(r, 413).getString("code")).isEqualTo("PAYLOAD_TOO_LARGE");
  }

  @Test
  void unknownRouteAndMethod_jsonErrors() throws Exception {
    assertThat(json(f.get("/nope", null), 404).getString("code")).isEqualTo("NOT_FOUND");
    assertThat(json(f.send("PUT", "/v1/sessions", "", null), 405).getString("code")).isEqualTo("METHOD_NOT_ALLOWED");
  }

  @Test
  void sessionLimit_429WithRetryAfterAndNoSessionHeader() throws Exception {
    while (f.proxy.sessions().size() < 3) {
      assertThat(f.get(invoke("echo", "/"), null).statusCode()).isEqualTo(200);
    }
    HttpResponse<String> r = f.get(invoke("echo", "/"), null);
    assertThat(json(r, 429).getString("code")).isEqualTo("SESSION_LIMIT");
    assertThat(r.headers().firstValue("retry-after")).isPresent();
    assertThat(sessionId(r)).isNull();
    f.proxy.sessions().list(s -> true).forEach(s -> f.proxy.sessions().delete(s.id()));
  }
}
