package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.proxy.tracing.MemorySpanExporterProvider;
import io.agentcube.session.SessionIds;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 item 6, optional spans ({@code tracing.enabled: true}): a request's server span
 * continues the client's trace, a new session's start is a child span of it, and the forward to
 * the sandbox is a client span whose context the sandbox receives as its {@code traceparent}.
 * The SDK is configured from {@code otel.*} properties, as in production; its exporter here is an
 * in-memory one registered through the SDK's exporter SPI.
 */
class TracingIT {

  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String CLIENT_SPAN = "00f067aa0ba902b7";

  @TempDir
  Path tmp;

  @BeforeEach
  void exporter() {
    System.setProperty("otel.traces.exporter", MemorySpanExporterProvider.NAME);
    System.setProperty("otel.bsp.schedule.delay", "50");
  }

  @AfterEach
  void clear() {
    System.clearProperty("otel.traces.exporter");
    System.clearProperty("otel.bsp.schedule.delay");
  }

  @Test
  void tracingOn_requestSessionStartAndForward_oneTraceContinuingTheClients() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    String sandboxParent;
    String id;
    List<SpanData> spans;
    try (ProxyFixture f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false,
        Map.of("tracing.enabled", true))) {
      HttpResponse<String> r = f.http.send(HttpRequest.newBuilder(f.uri(invoke("echo", "/traced")))
          .timeout(Duration.ofSeconds(60))
          .header("traceparent", "00-" + TRACE_ID + "-" + CLIENT_SPAN + "-01")
          .build(), HttpResponse.BodyHandlers.ofString());
      sandboxParent = json(r, 200).getJsonObject("headers").getString("traceparent");
      id = sessionId(r);
      // Exported by the SDK's batch processor thread (every 50 ms here).
      await().atMost(Duration.ofSeconds(20)).until(() -> MemorySpanExporterProvider.latest.getFinishedSpanItems()
          .stream().map(SpanData::getKind).toList().containsAll(List.of(SpanKind.SERVER, SpanKind.CLIENT)));
      spans = MemorySpanExporterProvider.latest.getFinishedSpanItems();
    }

    assertThat(spans).as("spans: %s", spans).allSatisfy(s -> assertThat(s.getTraceId()).isEqualTo(TRACE_ID));
    String names = spans.stream().map(s -> s.getKind() + " " + s.getName() + " " + s.getSpanId()
        + " parent " + s.getParentSpanId()).toList().toString();
    SpanData server = spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst()
        .orElseThrow(() -> new AssertionError("no server span in " + names + "; sandbox saw " + sandboxParent));
    assertThat(server.getParentSpanId()).isEqualTo(CLIENT_SPAN);
    SpanData start = spans.stream().filter(s -> s.getName().equals("session start")).findFirst()
        .orElseThrow(() -> new AssertionError("no session start span in " + names));
    assertThat(start.getParentSpanId()).isEqualTo(server.getSpanId());
    assertThat(start.getAttributes().get(AttributeKey.stringKey("agentcube.session"))).isEqualTo(SessionIds.redact(id));
    assertThat(start.getAttributes().get(AttributeKey.stringKey("agentcube.runtime"))).contains("echo");
    SpanData forward = spans.stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst()
        .orElseThrow(() -> new AssertionError("no client span in " + names));
    assertThat(forward.getParentSpanId()).isEqualTo(server.getSpanId());
    assertThat(sandboxParent).as("the sandbox continues the forward's span")
        .isEqualTo("00-" + TRACE_ID + "-" + forward.getSpanId() + "-01");
    assertThat(spans.toString()).as("no full session id in a span").doesNotContain(id);
  }
}
