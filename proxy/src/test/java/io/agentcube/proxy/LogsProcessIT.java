package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.session.SessionIds;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 item 5, on the shipped jar as a real process with its own logback configuration:
 * {@code log.format: json} makes every line of standard output one JSON object;
 * {@code log.access: true} writes exactly one line per request with the documented fields; no
 * full session id, bearer token or query string appears at INFO, and neither the session id nor
 * the request id is a metric label. With the defaults there is no access log and no JSON.
 */
class LogsProcessIT {

  private static final Path JAR = Path.of("target", "agentcube-proxy.jar").toAbsolutePath();
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");
  private static final String TOKEN = "tok-Zq8sW3cretValue";
  private static final String REQUEST_ID = "ingress-req-7f3a";

  @TempDir
  Path tmp;
  private final List<Process> started = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void killLeftovers() {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  record Running(Process process, int port, Path out) {}

  private Running start(List<String> flags) throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx128m", "-jar", JAR.toString(), "--server.port=0",
        "--runtimes.dirs=" + tmp.resolve("runtimes"), "--process.stateDir=" + tmp.resolve("state")));
    cmd.addAll(flags);
    Path out = Files.createTempFile(tmp, "stdout", ".log");
    // Standard output alone: that is where logback writes; the JVM's own warnings go to stderr.
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile())
        .redirectError(Files.createTempFile(tmp, "stderr", ".log").toFile()).start();
    started.add(p);
    int[] port = new int[1];
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      if (!p.isAlive()) {
        throw new IllegalStateException("proxy exited: " + Files.readString(out));
      }
      Matcher m = LISTENING.matcher(Files.readString(out));
      if (m.find()) {
        port[0] = Integer.parseInt(m.group(1));
        return true;
      }
      return false;
    });
    return new Running(p, port[0], out);
  }

  /** Stops the proxy (SIGTERM: a graceful stop) and answers its whole standard output. */
  private static List<String> stop(Running r) throws Exception {
    r.process().destroy();
    assertThat(r.process().waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s").isTrue();
    return Files.readAllLines(r.out()).stream().filter(l -> !l.isBlank()).toList();
  }

  private HttpResponse<String> call(Running r, String method, String path, String session,
      boolean token, String requestId) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.port() + path))
        .timeout(Duration.ofSeconds(60)).method(method, HttpRequest.BodyPublishers.noBody());
    if (session != null) {
      b.header(ProxyFixture.SESSION, session);
    }
    if (token) {
      b.header("authorization", "Bearer " + TOKEN);
    }
    if (requestId != null) {
      b.header("x-request-id", requestId);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void jsonWithAccessLog_everyLineParses_oneAccessLinePerRequest_noCredentialAtInfo() throws Exception {
    Path tokens = Files.writeString(tmp.resolve("tokens"), TOKEN + " alice\n");
    Running r = start(List.of("--log.format=json", "--log.access=true", "--auth.mode=static",
        "--auth.tokensFile=" + tokens));
    String invoke = ProxyFixture.invoke("echo", "/hello");

    HttpResponse<String> first = call(r, "GET", invoke + "?q=querySecret42", null, true, REQUEST_ID);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    String id = ProxyFixture.sessionId(first);
    assertThat(call(r, "GET", ProxyFixture.invoke("echo", "/again"), id, true, null).statusCode()).isEqualTo(200);
    assertThat(call(r, "GET", "/v1/sessions/" + id, null, true, null).statusCode()).isEqualTo(200);
    HttpResponse<String> keepalive = call(r, "POST", "/v1/sessions/" + id + "/keepalive", null, true, null);
    assertThat(keepalive.statusCode()).as(keepalive.body()).isEqualTo(200);
    HttpResponse<String> metrics = call(r, "GET", "/metrics", null, false, "metrics-req-1");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(call(r, "GET", "/v1/nosuch", null, true, null).statusCode()).isEqualTo(404);
    assertThat(call(r, "GET", invoke, null, false, null).statusCode()).isEqualTo(401);
    // A WebSocket of the session: one line too, when the tunnel closes.
    java.util.concurrent.CompletableFuture<String> echoed = new java.util.concurrent.CompletableFuture<>();
    java.net.http.WebSocket ws = http.newWebSocketBuilder()
        .header(ProxyFixture.SESSION, id).header("authorization", "Bearer " + TOKEN)
        .buildAsync(URI.create("ws://127.0.0.1:" + r.port() + ProxyFixture.invoke("echo", "/ws")),
            new java.net.http.WebSocket.Listener() {
              @Override
              public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket socket,
                  CharSequence data, boolean last) {
                echoed.complete(data.toString());
                return null;
              }
            })
        .get(10, TimeUnit.SECONDS);
    ws.sendText("ping", true);
    assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("ping");
    ws.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(r.out()).contains("\"status\":101"));
    assertThat(call(r, "DELETE", "/v1/sessions/" + id, null, true, null).statusCode()).isEqualTo(200);
    assertThat(call(r, "GET", "/health/live", null, false, null).statusCode()).isEqualTo(200);
    int requests = 10;

    // Never metric labels: neither the session id nor a request id is in the exposition.
    assertThat(metrics.body()).doesNotContain(id, SessionIds.redact(id), REQUEST_ID, "metrics-req-1");

    List<String> lines = stop(r);
    List<JsonObject> events = new ArrayList<>();
    for (String line : lines) {
      try {
        events.add(new JsonObject(line));
      } catch (DecodeException e) {
        throw new AssertionError("not a JSON object: " + line, e);
      }
    }
    assertThat(events).allSatisfy(e -> assertThat(e.fieldNames()).contains("time", "level", "logger", "thread", "message"));
    assertThat(events).anyMatch(e -> e.getString("message").startsWith("agentcube-proxy listening on"));
    assertThat(events).filteredOn(e -> e.getString("message").startsWith("session created"))
        .singleElement().satisfies(e -> {
          assertThat(e.getString("session")).isEqualTo(SessionIds.redact(id));
          assertThat(e.getString("runtime")).contains("echo");
        });

    List<JsonObject> access = events.stream().filter(e -> e.getString("logger").equals("io.agentcube.access")).toList();
    assertThat(access).as("one access line per request").hasSize(requests);
    assertThat(access).allSatisfy(e -> {
      assertThat(e.getString("level")).isEqualTo("INFO");
      assertThat(e.fieldNames()).contains("method", "path", "status", "durationMs", "bytes", "requestId", "session", "runtime");
      assertThat(e.getValue("status")).isInstanceOf(Integer.class);
      assertThat(e.getValue("durationMs")).isInstanceOf(Number.class);
      assertThat(e.getString("requestId")).isNotEmpty();
    });
    JsonObject opened = access.stream().filter(e -> REQUEST_ID.equals(e.getString("requestId"))).findFirst().orElseThrow();
    assertThat(opened.getString("method")).isEqualTo("GET");
    assertThat(opened.getString("path")).isEqualTo(invoke);
    assertThat(opened.getInteger("status")).isEqualTo(200);
    assertThat(opened.getLong("bytes")).isEqualTo(first.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    assertThat(opened.getString("session")).as("a new session's id, from the response").isEqualTo(SessionIds.redact(id));
    assertThat(opened.getString("runtime")).isEqualTo("default/echo");
    assertThat(access).filteredOn(e -> e.getString("method").equals("DELETE")).singleElement()
        .satisfies(e -> assertThat(e.getString("path")).isEqualTo("/v1/sessions/" + SessionIds.redact(id)));
    assertThat(access).filteredOn(e -> e.getInteger("status") == 401).singleElement()
        .satisfies(e -> assertThat(e.getValue("session")).isNull());
    assertThat(access).filteredOn(e -> e.getString("path").equals("/metrics")).singleElement()
        .satisfies(e -> {
          assertThat(e.getString("requestId")).isEqualTo("metrics-req-1");
          assertThat(e.getValue("runtime")).isNull();
        });
    assertThat(access).filteredOn(e -> e.getInteger("status") == 101).singleElement().satisfies(e -> {
      assertThat(e.getString("session")).isEqualTo(SessionIds.redact(id));
      assertThat(e.getString("runtime")).isEqualTo("default/echo");
    });
    // Request ids made here are unique.
    assertThat(access.stream().map(e -> e.getString("requestId")).distinct().count()).isEqualTo(requests);

    String all = String.join("\n", lines);
    assertThat(all).as("a full session id at INFO").doesNotContain(id);
    assertThat(all).as("a bearer token").doesNotContain(TOKEN);
    assertThat(all).as("a query string").doesNotContain("querySecret42");
  }

  @Test
  void defaults_textLines_noAccessLog() throws Exception {
    Running r = start(List.of());
    HttpResponse<String> first = call(r, "GET", ProxyFixture.invoke("echo", "/hello"), null, false, REQUEST_ID);
    assertThat(first.statusCode()).isEqualTo(200);
    String id = ProxyFixture.sessionId(first);

    List<String> lines = stop(r);

    assertThat(lines).anyMatch(l -> l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO .*session created session="
        + Pattern.quote(SessionIds.redact(id)) + ".*"));
    assertThat(lines).noneMatch(l -> l.startsWith("{"));
    assertThat(lines).noneMatch(l -> l.contains("request method=") || l.contains(REQUEST_ID));
    assertThat(String.join("\n", lines)).doesNotContain(id);
  }
}
