package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.pid;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.sandbox.WarmPool;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sessions end to end on the process backend: real proxy, real echo-agent processes, real HTTP,
 * with a fake ticker where deadlines matter. What every backend must show (new, warm and cold
 * sessions, delete, keepalive, reaping with the real scheduler, a sandbox lost, the errors) is in
 * {@link LifecycleContract}, run per backend; this class keeps what is particular to it.
 */
class SessionLifecycleIT {

  @TempDir
  Path tmp;
  private ProxyFixture f;

  @AfterEach
  void stop() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  private ProxyFixture start(int warm, String idle, String max, boolean realTime, Map<String, Object> overrides)
      throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", warm, idle, max));
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), realTime, overrides);
    return f;
  }

  private WarmPool pool() {
    RuntimeDefinition echo = f.proxy.runtimes().current(RuntimeKind.AGENT_RUNTIME, "default", "echo");
    return (WarmPool) f.proxy.pools().pool(echo);
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private String metric(String line) throws Exception {
    String body = f.get("/metrics", null).body();
    return body.lines().filter(l -> l.startsWith(line)).findFirst().orElse("");
  }

  @Test
  void burst_20ConcurrentNewSessionsPoolOf2_allSucceedWithOwnSandbox() throws Exception {
    start(2, "2m", "8h", false, Map.of());
    await().atMost(Duration.ofSeconds(20)).until(() -> pool().ready() == 2);

    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(f.http.sendAsync(HttpRequest.newBuilder(f.uri(invoke("echo", "/burst/" + i)))
          .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    Set<Long> pids = new HashSet<>();
    Set<String> sessions = new HashSet<>();
    for (var c : calls) {
      HttpResponse<String> r = c.get();
      pids.add(pid(r));
      sessions.add(sessionId(r));
    }
    assertThat(pids).as("every session its own sandbox").hasSize(20);
    assertThat(sessions).hasSize(20);
    assertThat(f.proxy.sessions().size()).isEqualTo(20);
    await().atMost(Duration.ofSeconds(20)).until(() -> pool().ready() == 2);
    assertThat(((io.agentcube.sandbox.process.ProcessBackend) f.proxy.backend()).size()).isEqualTo(22);
  }

  @Test
  void reap_idlePastTimeout_endsSessionAndStopsSandbox() throws Exception {
    start(0, "30s", "8h", false, Map.of());
    HttpResponse<String> r = f.get(invoke("echo", "/"), null);
    String id = sessionId(r);
    long sandboxPid = pid(r);

    f.advance(Duration.ofSeconds(29));
    assertThat(f.get(invoke("echo", "/still"), id).statusCode()).isEqualTo(200);

    f.advance(Duration.ofSeconds(31));
    HttpResponse<String> after = f.get(invoke("echo", "/gone"), id);
    assertThat(json(after, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(after.body()).contains("idle");
    await().atMost(Duration.ofSeconds(10)).until(() -> !alive(sandboxPid));
    assertThat(metric("agentcube_sessions_ended_total{reason=\"idle\"}")).endsWith(" 1.0");
  }

  @Test
  void reap_slowRequestInFlight_notReapedUntilItEnds() throws Exception {
    start(0, "30s", "8h", false, Map.of());
    String id = sessionId(f.get(invoke("echo", "/"), null));
    CompletableFuture<HttpResponse<String>> slow = f.http.sendAsync(
        HttpRequest.newBuilder(f.uri(invoke("echo", "/slow?seconds=1.5"))).header(ProxyFixture.SESSION, id).build(),
        HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> f.proxy.sessions().get(id).inFlight() == 1);

    f.ticker.advance(Duration.ofMinutes(5));
    f.proxy.reap();
    assertThat(f.proxy.sessions().get(id)).as("in flight: not idle").isNotNull();

    assertThat(slow.get().statusCode()).isEqualTo(200);
    f.advance(Duration.ofSeconds(20));
    assertThat(f.proxy.sessions().get(id)).as("idle clock restarted at the end").isNotNull();
    f.advance(Duration.ofSeconds(11));
    assertThat(f.proxy.sessions().get(id)).isNull();
  }

  @Test
  void reap_activeSessionPastMaxDuration_ends() throws Exception {
    start(0, "1m", "4m", false, Map.of());
    String id = sessionId(f.get(invoke("echo", "/"), null));
    for (int i = 0; i < 4; i++) {
      f.advance(Duration.ofSeconds(50));
      assertThat(f.get(invoke("echo", "/tick"), id).statusCode()).isEqualTo(200);
    }
    f.advance(Duration.ofSeconds(50));
    HttpResponse<String> r = f.get(invoke("echo", "/late"), id);
    assertThat(json(r, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(metric("agentcube_sessions_ended_total{reason=\"max_duration\"}")).endsWith(" 1.0");
  }

  @Test
  void controlPlane_agentCubeCreateAndDelete_roundTrip() throws Exception {
    start(1, "2m", "8h", false, Map.of());
    HttpResponse<String> created = f.send("POST", "/v1/agent-runtime",
        "{\"namespace\":\"default\",\"name\":\"echo\",\"extra\":1}", null);
    JsonObject body = json(created, 200);
    String id = body.getString("sessionId");
    assertThat(sessionId(created)).isEqualTo(id);
    assertThat(body.getString("sandboxId")).startsWith("sbx-");
    assertThat(body.getString("sandboxName")).startsWith("echo-v1-");
    JsonObject entry = body.getJsonArray("entryPoints").getJsonObject(0);
    assertThat(entry.getString("path")).isEqualTo("/");
    assertThat(entry.getString("protocol")).isEqualTo("HTTP");
    assertThat(entry.getString("endpoint")).startsWith("127.0.0.1:");

    JsonObject info = json(f.get("/v1/sessions/" + id, null), 200);
    assertThat(info.getString("name")).isEqualTo("echo");
    assertThat(info.getString("sandboxId")).isEqualTo(body.getString("sandboxId"));
    assertThat(f.get(invoke("echo", "/via-session"), id).statusCode()).isEqualTo(200);

    assertThat(f.send("DELETE", "/v1/agent-runtime/sessions/" + id, null, null).statusCode()).isEqualTo(200);
    assertThat(json(f.get("/v1/sessions/" + id, null), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
  }

  @Test
  void errors_unknownRuntimeSessionOrBadInput_jsonCodesWithoutSessionHeader() throws Exception {
    start(0, "2m", "8h", false, Map.of());

    HttpResponse<String> noRuntime = f.get(invoke("nope", "/"), null);
    assertThat(json(noRuntime, 404).getString("code")).isEqualTo("RUNTIME_NOT_FOUND");
    assertThat(sessionId(noRuntime)).as("no session was created").isNull();

    HttpResponse<String> noSession = f.get(invoke("echo", "/"), "doesNotExist123");
    assertThat(json(noSession, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");

    HttpResponse<String> malformed = f.get(invoke("echo", "/"), "bad id!");
    assertThat(json(malformed, 400).getString("code")).isEqualTo("BAD_REQUEST");

    assertThat(json(f.send("POST", "/v1/agent-runtime", "{not json", null), 400).getString("code"))
        .isEqualTo("BAD_REQUEST");
    assertThat(json(f.send("POST", "/v1/agent-runtime", "{\"name\":\"nope\"}", null), 404).getString("code"))
        .isEqualTo("RUNTIME_NOT_FOUND");
    assertThat(json(f.get("/v1/namespaces/default/agent-runtimes/echo/invocationsX", null), 404)
        .getString("code")).isEqualTo("NOT_FOUND");
    assertThat(json(f.get("/v1/sessions?limit=0", null), 400).getString("error")).contains("limit");
    assertThat(f.proxy.sessions().size()).isZero();
  }

  @Test
  void sandboxExitsDuringRequest_clientGetsErrorWithSessionHeader() throws Exception {
    start(0, "2m", "8h", false, Map.of());
    String id = sessionId(f.get(invoke("echo", "/"), null));

    // The agent answers, then exits: the next request finds the port closed.
    assertThat(f.send("POST", invoke("echo", "/exit?code=3"), "", id).statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> f.proxy.sessions().get(id) == null);
    HttpResponse<String> r = f.get(invoke("echo", "/"), id);
    assertThat(r.statusCode()).isEqualTo(410);
    assertThat(sessionId(r)).isEqualTo(id);
  }

  @Test
  void coldStartQueueFull_poolExhaustedWithRetryAfter() throws Exception {
    start(0, "2m", "8h", false, Map.of("pool.maxColdStartQueue", 0));
    HttpResponse<String> r = f.get(invoke("echo", "/"), null);
    assertThat(json(r, 503).getString("code")).isEqualTo("POOL_EXHAUSTED");
    assertThat(r.headers().firstValue("retry-after")).hasValue("1");
    assertThat(sessionId(r)).isNull();
  }

  @Test
  void listSessions_pagesWithContinueToken() throws Exception {
    start(0, "2m", "8h", false, Map.of());
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      ids.add(sessionId(f.get(invoke("echo", "/"), null)));
    }
    JsonObject page1 = json(f.get("/v1/sessions?limit=2&namespace=default&runtime=echo", null), 200);
    assertThat(page1.getJsonArray("items")).hasSize(2);
    String token = page1.getString("continue");
    assertThat(token).isNotNull();
    JsonObject page2 = json(f.get("/v1/sessions?limit=2&continue=" + token, null), 200);
    assertThat(page2.getJsonArray("items")).hasSize(1);
    assertThat(page2.getString("continue")).isNull();
    Set<String> seen = new HashSet<>();
    page1.getJsonArray("items").forEach(o -> seen.add(((JsonObject) o).getString("sessionId")));
    page2.getJsonArray("items").forEach(o -> seen.add(((JsonObject) o).getString("sessionId")));
    assertThat(seen).isEqualTo(ids);
  }
}
