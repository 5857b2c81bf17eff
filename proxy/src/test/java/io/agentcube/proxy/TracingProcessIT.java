package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tracing.enabled: true} in the shipped jar: the OpenTelemetry SDK, its OTLP exporter and
 * the JDK sender survive shading (their service files merged), and spans reach an OTLP/HTTP
 * endpoint configured the standard way ({@code OTEL_EXPORTER_OTLP_ENDPOINT}). The endpoint here
 * is a loopback HTTP server that records what it is sent.
 */
class TracingProcessIT {

  private static final Path JAR = Path.of("target", "agentcube-proxy.jar").toAbsolutePath();
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");

  @TempDir
  Path tmp;
  private Process proxy;
  private HttpServer collector;

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.descendants().forEach(ProcessHandle::destroyForcibly);
      proxy.destroyForcibly();
    }
    if (collector != null) {
      collector.stop(0);
    }
  }

  record Export(String path, String contentType, byte[] body) {}

  @Test
  void tracingOn_shippedJar_exportsSpansOverOtlpHttp() throws Exception {
    List<Export> exports = new CopyOnWriteArrayList<>();
    collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      exchange.getRequestBody().transferTo(body);
      exports.add(new Export(exchange.getRequestURI().getPath(),
          exchange.getRequestHeaders().getFirst("content-type"), body.toByteArray()));
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();

    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    Path out = tmp.resolve("proxy.log");
    ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx128m", "-jar", JAR.toString(), "--server.port=0", "--tracing.enabled=true",
        "--runtimes.dirs=" + tmp.resolve("runtimes"), "--process.stateDir=" + tmp.resolve("state"))
        .redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().put("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getAddress().getPort());
    pb.environment().put("OTEL_BSP_SCHEDULE_DELAY", "100");
    proxy = pb.start();
    int[] port = new int[1];
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      if (!proxy.isAlive()) {
        throw new IllegalStateException("proxy exited: " + Files.readString(out));
      }
      Matcher m = LISTENING.matcher(Files.readString(out));
      if (m.find()) {
        port[0] = Integer.parseInt(m.group(1));
        return true;
      }
      return false;
    });

    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + port[0] + ProxyFixture.invoke("echo", "/traced")))
        .timeout(Duration.ofSeconds(60))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

    // Protobuf keeps strings as UTF-8 bytes: the service name and our span name are readable.
    await().atMost(Duration.ofSeconds(30)).until(() -> exports.stream()
        .anyMatch(e -> new String(e.body(), StandardCharsets.ISO_8859_1).contains("session start")));
    Export traces = exports.stream()
        .filter(e -> new String(e.body(), StandardCharsets.ISO_8859_1).contains("session start"))
        .findFirst().orElseThrow();
    assertThat(traces.path()).isEqualTo("/v1/traces");
    assertThat(traces.contentType()).isEqualTo("application/x-protobuf");
    assertThat(new String(traces.body(), StandardCharsets.ISO_8859_1)).contains("agentcube-proxy");
    assertThat(exports).as("traces only: no OpenTelemetry metrics or logs")
        .allSatisfy(e -> assertThat(e.path()).isEqualTo("/v1/traces"));

    proxy.destroy();
    assertThat(proxy.waitFor(60, TimeUnit.SECONDS)).isTrue();
    List<String> lines = new ArrayList<>(Files.readAllLines(out));
    assertThat(lines).noneMatch(l -> l.contains("Failed to export"));
  }
}
