package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 item 6: W3C Trace Context ({@code traceparent}, {@code tracestate}) and W3C Baggage
 * reach the sandbox exactly as the client sent them, on a new session's first request and on
 * later ones (which may go over a pinned upstream connection or the pool), so an agent's own
 * tracing continues the caller's trace. The echo agent reflects the headers it received.
 */
class TracePropagationIT {

  private static final String PARENT_1 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  private static final String PARENT_2 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

  @TempDir
  Path tmp;

  @Test
  void invoke_traceContextHeaders_reachTheSandboxUnchanged() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    try (ProxyFixture f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false, Map.of())) {
      // Two tracestate lines: a recipient may combine them, in order, and must not reorder.
      HttpResponse<String> first = f.http.send(HttpRequest.newBuilder(f.uri(invoke("echo", "/traced")))
          .timeout(Duration.ofSeconds(60))
          .header("traceparent", PARENT_1)
          .header("tracestate", "congo=t61rcWkgMzE")
          .header("tracestate", "rojo=00f067aa0ba902b7")
          .header("baggage", "userId=alice,serverNode=DF%2028")
          .build(), HttpResponse.BodyHandlers.ofString());
      JsonObject seen = json(first, 200).getJsonObject("headers");
      assertThat(seen.getString("traceparent")).isEqualTo(PARENT_1);
      assertThat(seen.getString("tracestate")).isEqualTo("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7");
      assertThat(seen.getString("baggage")).isEqualTo("userId=alice,serverNode=DF%2028");
      String session = sessionId(first);

      // The same session, another trace: passed per request, nothing remembered from the first.
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> next = f.http.send(HttpRequest.newBuilder(f.uri(invoke("echo", "/traced")))
            .timeout(Duration.ofSeconds(60))
            .header(ProxyFixture.SESSION, session)
            .header("traceparent", PARENT_2)
            .header("tracestate", "vendor=" + i)
            .build(), HttpResponse.BodyHandlers.ofString());
        JsonObject again = json(next, 200).getJsonObject("headers");
        assertThat(again.getString("traceparent")).isEqualTo(PARENT_2);
        assertThat(again.getString("tracestate")).isEqualTo("vendor=" + i);
        assertThat(again.containsKey("baggage")).isFalse();
      }

      // No trace context from the client: the proxy adds none (it starts no trace of its own).
      JsonObject plain = json(f.get(invoke("echo", "/plain"), session), 200).getJsonObject("headers");
      assertThat(plain.fieldNames()).doesNotContain("traceparent", "tracestate");
    }
  }
}
