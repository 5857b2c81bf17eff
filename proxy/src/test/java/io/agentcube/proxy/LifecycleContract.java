package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.runtime.Durations;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.sandbox.SandboxPools;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Session lifecycle and error behaviour that every backend must show, written once and run per
 * backend ({@link LifecycleProcessIT}, {@link LifecycleKubeIT}). Each scenario starts its own
 * proxy with the runtimes it needs ({@link #serve}) and asserts what a client sees over HTTP;
 * what it checks beyond HTTP it checks from outside the proxy, through the backend's hooks (a
 * sandbox process or pod exists, how many there are, killing one).
 *
 * <p>Real time and Caffeine's real scheduler throughout: the reaper must end sessions by itself.
 * Waits for a reap poll only things that cannot end a session themselves (a sandbox's existence,
 * the metrics), never {@code GET /v1/sessions/{id}} or the store's {@code get}, which expire a
 * session found past its deadline.
 */
abstract class LifecycleContract {

  static final String SESSION = "x-agentcube-session-id";
  /** Bound for waits on the backend (a pod start or deletion on a loaded 2-core machine). */
  static final Duration BACKEND_WAIT = Duration.ofSeconds(30);
  static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(30);

  /** What the sandboxes of a test runtime run. */
  enum Program {
    /** The project's echo agent ({@code conf/runtimes/echo_agent.py}). */
    ECHO,
    /** A process that exits with code 3 at once: it never becomes ready. */
    EXITS_AT_ONCE,
    /** A process that runs but never listens on its port. */
    NEVER_LISTENS
  }

  /** An {@code AgentRuntime} of the test namespace with one HTTP target port 8080, path "/". */
  record TestRuntime(String name, int warmPoolSize, String sessionTimeout, String maxSessionDuration,
      Program program) {

    static TestRuntime echo(String name) {
      return new TestRuntime(name, 0, "2m", "8h", Program.ECHO);
    }

    TestRuntime warm(int size) {
      return new TestRuntime(name, size, sessionTimeout, maxSessionDuration, program);
    }

    TestRuntime timeouts(String idle, String max) {
      return new TestRuntime(name, warmPoolSize, idle, max, program);
    }

    TestRuntime running(Program p) {
      return new TestRuntime(name, warmPoolSize, sessionTimeout, maxSessionDuration, p);
    }
  }

  /** A running proxy and the namespace its test runtimes live in. */
  interface Served extends AutoCloseable {
    AgentCubeProxy proxy();

    String namespace();
  }

  /** A sandbox as seen from outside the proxy: a local process, a pod. */
  interface SandboxView {
    /** What the proxy calls it ({@code sandboxName} in the API). */
    String name();

    /** Whether it still exists: its process runs or its directory is left / the pod exists. */
    boolean exists() throws Exception;

    /** Kills it from outside, as a crash or an OOM kill would. */
    void kill() throws Exception;
  }

  /**
   * Starts a proxy on port 0 serving {@code runtimes} (created before it returns, so that the
   * first request finds them), whose cold starts wait at most {@code startTimeout}.
   */
  protected abstract Served serve(Duration startTimeout, TestRuntime... runtimes) throws Exception;

  /** The sandbox bound to live session {@code sessionId}, found from outside the proxy. */
  protected abstract SandboxView sandboxOf(String sessionId) throws Exception;

  /** A warm (unbound) sandbox, found from outside the proxy. */
  protected abstract SandboxView warmSandbox() throws Exception;

  /** Sandboxes of the served runtimes that exist now: warm, bound, starting or stopping. */
  protected abstract int sandboxCount() throws Exception;

  protected final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Served served;

  @AfterEach
  void stopProxy() throws Exception {
    if (served != null) {
      served.close();
      served = null;
    }
  }

  private Served start(TestRuntime... runtimes) throws Exception {
    return start(DEFAULT_START_TIMEOUT, runtimes);
  }

  private Served start(Duration startTimeout, TestRuntime... runtimes) throws Exception {
    served = serve(startTimeout, runtimes);
    return served;
  }

  // ---- scenarios: sessions and sandboxes -----------------------------------------------------

  @Test
  void newSession_poolEmpty_coldStartsOneSandboxAndAnswersWithItsSessionHeader() throws Exception {
    start(TestRuntime.echo("echo"));
    assertThat(sandboxCount()).as("warmPoolSize 0: nothing before the first request").isZero();

    HttpResponse<String> r = invoke("echo", "/hello?x=1", null);

    JsonObject echo = json(r, 200);
    String id = sessionId(r);
    assertThat(id).isNotBlank();
    assertThat(echo.getString("path")).as("forwarded path").isEqualTo("/hello");
    assertThat(echo.getString("rawQuery")).isEqualTo("x=1");
    assertThat(sandboxOf(id).exists()).isTrue();
    assertThat(sandboxCount()).isEqualTo(1);
    assertThat(metric("agentcube_sessions_launched_total{launch_type=\"cold\"}")).isEqualTo(1.0);
  }

  @Test
  void newSession_warmPoolReady_servedWarmAndThePoolRefills() throws Exception {
    start(TestRuntime.echo("echo").warm(1));
    await().atMost(BACKEND_WAIT).until(() -> warmReady("echo") == 1);

    HttpResponse<String> r = invoke("echo", "/hello", null);

    assertThat(json(r, 200).getString("path")).isEqualTo("/hello");
    assertThat(sessionId(r)).isNotBlank();
    assertThat(metric("agentcube_sessions_launched_total{launch_type=\"warm\"}")).isEqualTo(1.0);
    assertThat(metric("agentcube_sessions_launched_total{launch_type=\"cold\"}")).isEqualTo(0.0);
    await().atMost(BACKEND_WAIT).until(() -> warmReady("echo") == 1);
    await().atMost(BACKEND_WAIT).until(() -> sandboxCount() == 2);
    assertThat(sandboxCount()).as("1 bound + 1 warm, never more").isEqualTo(2);
  }

  @Test
  void session_manyRequestsWithItsId_allReachTheSameSandbox() throws Exception {
    start(TestRuntime.echo("echo"));
    HttpResponse<String> first = invoke("echo", "/a", null);
    String id = sessionId(first);
    JsonObject firstEcho = json(first, 200);

    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      calls.add(http.sendAsync(HttpRequest.newBuilder(uri(invokePath("echo", "/b/" + i)))
          .header(SESSION, id).timeout(Duration.ofSeconds(60))
          .POST(HttpRequest.BodyPublishers.ofString("n=" + i)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> c : calls) {
      HttpResponse<String> r = c.get(90, TimeUnit.SECONDS);
      JsonObject echo = json(r, 200);
      assertThat(sessionId(r)).isEqualTo(id);
      assertThat(sameSandbox(echo, firstEcho)).as("same sandbox: %s vs %s", echo, firstEcho).isTrue();
      assertThat(echo.getJsonObject("headers").getString(SESSION)).as("the sandbox sees its session id")
          .isEqualTo(id);
    }
    assertThat(sandboxCount()).isEqualTo(1);
  }

  @Test
  void getSession_live_showsRuntimeVersionSandboxAndDeadlines() throws Exception {
    Served s = start(TestRuntime.echo("echo").timeouts("90s", "1h"));
    String id = sessionId(invoke("echo", "/", null));

    JsonObject info = json(get("/v1/sessions/" + id), 200);

    assertThat(info.getString("sessionId")).isEqualTo(id);
    assertThat(info.getString("kind")).isEqualTo("AgentRuntime");
    assertThat(info.getString("namespace")).isEqualTo(s.namespace());
    assertThat(info.getString("name")).isEqualTo("echo");
    JsonObject runtime = runtimeStatus("echo");
    assertThat(info.getString("version")).as("the runtime's default version")
        .isNotBlank().isEqualTo(runtime.getString("defaultVersion"));
    assertThat(info.getString("sandboxName")).isEqualTo(sandboxOf(id).name());
    assertThat(info.getString("sandboxId")).isNotBlank();
    Instant created = Instant.parse(info.getString("createdAt"));
    Instant last = Instant.parse(info.getString("lastActivity"));
    assertThat(last).isAfterOrEqualTo(created);
    assertThat(Duration.between(last, Instant.parse(info.getString("idleDeadline"))))
        .as("idle deadline = last activity + sessionTimeout").isBetween(Duration.ofSeconds(89), Duration.ofSeconds(91));
    assertThat(Duration.between(created, Instant.parse(info.getString("hardDeadline"))))
        .as("hard deadline = created + maxSessionDuration").isBetween(Duration.ofMinutes(59), Duration.ofMinutes(61));
    assertThat(Durations.parse(info.getString("sessionTimeout"))).isEqualTo(Duration.ofSeconds(90));
    assertThat(info.getInteger("inFlight")).isZero();
    assertThat(info.getJsonArray("entryPoints")).hasSize(1);

    assertThat(json(get("/v1/sessions/doesNotExist123"), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(get("/v1/sessions/" + id), 200).getString("createdAt"))
        .as("a GET is not activity and ends nothing").isEqualTo(info.getString("createdAt"));
  }

  @Test
  void delete_liveSession_endsItStopsItsSandboxAndLaterRequestsAre404Deleted() throws Exception {
    start(TestRuntime.echo("echo"));
    String id = sessionId(invoke("echo", "/", null));
    SandboxView sandbox = sandboxOf(id);

    HttpResponse<String> deleted = send("DELETE", "/v1/sessions/" + id, null, null);

    assertThat(json(deleted, 200).getString("status")).isEqualTo("deleted");
    await().atMost(BACKEND_WAIT).until(() -> !sandbox.exists());
    HttpResponse<String> after = invoke("echo", "/", id);
    assertThat(json(after, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(after.body()).contains("(deleted)");
    assertThat(json(send("DELETE", "/v1/sessions/" + id, null, null), 404).getString("code"))
        .isEqualTo("SESSION_NOT_FOUND");
    assertThat(sandboxCount()).isZero();
    assertThat(metric("agentcube_sessions_ended_total{reason=\"deleted\"}")).isEqualTo(1.0);
  }

  @Test
  void keepalive_longerTimeout_keepsTheSessionPastItsIdleTimeout_neverPastMaxDuration() throws Exception {
    start(TestRuntime.echo("echo").timeouts("2s", "1m"));
    String id = sessionId(invoke("echo", "/", null));
    SandboxView sandbox = sandboxOf(id);

    Instant before = Instant.now();
    JsonObject kept = json(send("POST", "/v1/sessions/" + id + "/keepalive", "{\"timeout\":\"20s\"}", null), 200);
    assertThat(Duration.between(before, Instant.parse(kept.getString("idleDeadline"))))
        .isBetween(Duration.ofSeconds(19), Duration.ofSeconds(21));

    // Twice the 2 s sessionTimeout without a request: the reaper must leave it alone.
    await().pollInterval(Duration.ofMillis(250)).during(Duration.ofSeconds(4))
        .atMost(Duration.ofSeconds(8)).until(sandbox::exists);
    assertThat(json(invoke("echo", "/still-here", id), 200).getString("path")).isEqualTo("/still-here");

    JsonObject capped = json(send("POST", "/v1/sessions/" + id + "/keepalive", "{\"timeout\":\"2h\"}", null), 200);
    assertThat(capped.getString("idleDeadline")).as("never past maxSessionDuration")
        .isEqualTo(capped.getString("hardDeadline"));

    assertThat(json(send("POST", "/v1/sessions/" + id + "/keepalive", "{\"timeout\":\"soon\"}", null), 400)
        .getString("error")).contains("timeout");
    assertThat(json(send("POST", "/v1/sessions/doesNotExist123/keepalive", "{}", null), 404)
        .getString("code")).isEqualTo("SESSION_NOT_FOUND");

    // The body is optional (docs/api.md): none means the runtime's sessionTimeout. It was a 400
    // "body: must be a JSON object" (found by LogsProcessIT, issue 12).
    Instant again = Instant.now();
    JsonObject plain = json(send("POST", "/v1/sessions/" + id + "/keepalive", null, null), 200);
    assertThat(Duration.between(again, Instant.parse(plain.getString("idleDeadline"))))
        .isBetween(Duration.ofSeconds(1), Duration.ofSeconds(3));
  }

  @Test
  void reap_idlePastSessionTimeout_realScheduler_endsTheSessionAndStopsItsSandbox() throws Exception {
    start(TestRuntime.echo("echo").timeouts("2s", "1h"));
    long t0 = System.nanoTime();
    String id = sessionId(invoke("echo", "/", null));
    SandboxView sandbox = sandboxOf(id);

    // Polls the sandbox, not the session: looking the session up would expire it itself.
    await().pollInterval(Duration.ofMillis(100)).atMost(BACKEND_WAIT).until(() -> !sandbox.exists());
    Duration took = Duration.ofNanos(System.nanoTime() - t0);

    assertThat(took).as("not before the idle timeout").isGreaterThanOrEqualTo(Duration.ofSeconds(2));
    assertThat(took).as("promptly after it (sandbox stop included)").isLessThan(Duration.ofSeconds(6));
    assertThat(metric("agentcube_sessions_ended_total{reason=\"idle\"}")).isEqualTo(1.0);
    HttpResponse<String> after = invoke("echo", "/", id);
    assertThat(json(after, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(after.body()).contains("(idle)");
  }

  @Test
  void reap_requestsKeepComing_theSessionEndsAtMaxSessionDuration() throws Exception {
    start(TestRuntime.echo("echo").timeouts("1m", "4s"));
    long t0 = System.nanoTime();
    String id = sessionId(invoke("echo", "/", null));
    SandboxView sandbox = sandboxOf(id);

    // A request every 300 ms: never idle, yet the hard deadline ends it.
    List<Integer> statuses = new ArrayList<>();
    long[] endedAt = {0};
    await().pollInterval(Duration.ofMillis(300)).atMost(Duration.ofSeconds(20)).until(() -> {
      HttpResponse<String> r = invoke("echo", "/tick", id);
      statuses.add(r.statusCode());
      if (r.statusCode() == 200) {
        return false;
      }
      endedAt[0] = System.nanoTime();
      assertThat(json(r, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
      assertThat(r.body()).contains("(max_duration)");
      return true;
    });
    Duration lived = Duration.ofNanos(endedAt[0] - t0);

    assertThat(statuses.subList(0, statuses.size() - 1)).as("served until the end").containsOnly(200);
    assertThat(statuses.size()).as("requests kept coming").isGreaterThan(5);
    assertThat(lived).as("lived its maxSessionDuration").isGreaterThanOrEqualTo(Duration.ofSeconds(4));
    assertThat(lived).as("and not much longer").isLessThan(Duration.ofSeconds(7));
    await().atMost(BACKEND_WAIT).until(() -> !sandbox.exists());
    assertThat(metric("agentcube_sessions_ended_total{reason=\"max_duration\"}")).isEqualTo(1.0);
  }

  @Test
  void sandboxKilledFromOutside_410SandboxLostWithSessionHeader_otherSessionsUnaffected() throws Exception {
    start(TestRuntime.echo("echo"));
    HttpResponse<String> first = invoke("echo", "/", null);
    String victim = sessionId(first);
    HttpResponse<String> second = invoke("echo", "/", null);
    String other = sessionId(second);
    JsonObject otherEcho = json(second, 200);

    sandboxOf(victim).kill();

    // The backend notices by itself (process exit, pod status): no request needed to find out.
    await().atMost(BACKEND_WAIT).until(() ->
        metric("agentcube_sessions_ended_total{reason=\"sandbox_lost\"}") == 1.0);
    HttpResponse<String> lost = invoke("echo", "/", victim);
    assertThat(json(lost, 410).getString("code")).isEqualTo("SANDBOX_LOST");
    assertThat(sessionId(lost)).as("error responses of a session carry its id").isEqualTo(victim);
    assertThat(json(invoke("echo", "/", victim), 410).getString("code")).as("and stay so").isEqualTo("SANDBOX_LOST");

    HttpResponse<String> fine = invoke("echo", "/", other);
    assertThat(sameSandbox(json(fine, 200), otherEcho)).isTrue();
    assertThat(sessionId(fine)).isEqualTo(other);
    // The dead sandbox leaves nothing behind; the other one runs on.
    await().atMost(BACKEND_WAIT).until(() -> sandboxCount() == 1);
    assertThat(sandboxOf(other).exists()).isTrue();
  }

  @Test
  void warmSandboxKilledFromOutside_replacedInThePool_nothingLeftBehind() throws Exception {
    start(TestRuntime.echo("echo").warm(1));
    await().atMost(BACKEND_WAIT).until(() -> warmReady("echo") == 1);
    SandboxView dead = warmSandbox();

    dead.kill();

    await().atMost(BACKEND_WAIT).until(() -> !dead.exists());
    await().atMost(BACKEND_WAIT).until(() -> warmReady("echo") == 1 && sandboxCount() == 1);
    assertThat(warmSandbox().name()).as("a new one").isNotEqualTo(dead.name());
    HttpResponse<String> r = invoke("echo", "/", null);
    assertThat(json(r, 200).getString("path")).isEqualTo("/");
    assertThat(metric("agentcube_sessions_launched_total{launch_type=\"warm\"}")).isEqualTo(1.0);
  }

  // ---- scenarios: start failures -------------------------------------------------------------

  @Test
  void coldStart_sandboxExitsAtOnce_502AtOnce_noSessionNoSandboxLeft() throws Exception {
    Failed f = coldStartNeverReady(Program.EXITS_AT_ONCE);
    // The exit is the answer: no waiting for the start timeout.
    assertThat(f.response().statusCode()).isEqualTo(502);
    assertThat(new JsonObject(f.response().body()).getString("code")).isEqualTo("SANDBOX_UNREACHABLE");
    assertThat(f.took()).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void coldStart_sandboxNeverListens_504ColdStartTimeout_noSessionNoSandboxLeft() throws Exception {
    Failed f = coldStartNeverReady(Program.NEVER_LISTENS);
    assertThat(f.response().statusCode()).isEqualTo(504);
    assertThat(new JsonObject(f.response().body()).getString("code")).isEqualTo("COLD_START_TIMEOUT");
    assertThat(f.took()).as("after the start timeout").isGreaterThanOrEqualTo(Duration.ofSeconds(8));
  }

  /**
   * A cold start that can never become ready: answered with the start's failure (502) or 504
   * {@code COLD_START_TIMEOUT} within the start timeout, no session, and no sandbox left.
   */
  private Failed coldStartNeverReady(Program program) throws Exception {
    Duration startTimeout = Duration.ofSeconds(8);
    start(startTimeout, TestRuntime.echo("broken").running(program));
    long t0 = System.nanoTime();

    HttpResponse<String> r = invoke("broken", "/", null);

    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertThat(r.statusCode()).as(r.body()).isIn(502, 504);
    assertThat(new JsonObject(r.body()).getString("code")).isIn("SANDBOX_UNREACHABLE", "COLD_START_TIMEOUT");
    assertThat(sessionId(r)).as("no session was created").isNull();
    assertThat(took).as("within the start timeout").isLessThan(startTimeout.plusSeconds(3));
    await().atMost(BACKEND_WAIT).until(() -> sandboxCount() == 0);
    assertThat(served.proxy().sessions().size()).isZero();
    return new Failed(r, took);
  }

  /** A failed first request and how long it took. */
  private record Failed(HttpResponse<String> response, Duration took) {
  }

  // ---- scenarios: errors ---------------------------------------------------------------------

  @Test
  void errors_unknownRuntimeSessionEndpointOrBadInput_jsonCodes_noSessionHeader_noSandbox() throws Exception {
    Served s = start(TestRuntime.echo("echo"));

    HttpResponse<String> noRuntime = invoke("nope", "/", null);
    assertThat(json(noRuntime, 404).getString("code")).isEqualTo("RUNTIME_NOT_FOUND");
    assertThat(sessionId(noRuntime)).as("no session was created").isNull();

    HttpResponse<String> noSession = invoke("echo", "/", "doesNotExist123");
    assertThat(json(noSession, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");

    HttpResponse<String> malformed = invoke("echo", "/", "bad id!");
    assertThat(json(malformed, 400).getString("code")).isEqualTo("BAD_REQUEST");

    HttpResponse<String> noEndpoint = invoke("echo", "/?endpoint=nope", null);
    assertThat(json(noEndpoint, 404).getString("code")).isEqualTo("ENDPOINT_NOT_FOUND");
    assertThat(sessionId(noEndpoint)).isNull();

    assertThat(json(get("/v1/namespaces/" + s.namespace() + "/agent-runtimes/echo/invocationsX"), 404)
        .getString("code")).as("no such route").isEqualTo("NOT_FOUND");
    assertThat(json(send("POST", "/v1/agent-runtime", "{not json", null), 400).getString("code"))
        .isEqualTo("BAD_REQUEST");
    HttpResponse<String> createUnknown = send("POST", "/v1/agent-runtime",
        new JsonObject().put("namespace", s.namespace()).put("name", "nope").encode(), null);
    assertThat(json(createUnknown, 404).getString("code")).isEqualTo("RUNTIME_NOT_FOUND");
    assertThat(sessionId(createUnknown)).isNull();

    assertThat(s.proxy().sessions().size()).isZero();
    assertThat(sandboxCount()).as("no error started a sandbox").isZero();
  }

  @Test
  void sessionOfAnotherRuntime_404SessionNotFound_andItsOwnRuntimeStillServesIt() throws Exception {
    start(TestRuntime.echo("echo"), TestRuntime.echo("other"));
    HttpResponse<String> opened = invoke("echo", "/", null);
    String id = sessionId(opened);

    HttpResponse<String> wrong = invoke("other", "/", id);

    assertThat(json(wrong, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(wrong.body()).contains("not a session of");
    HttpResponse<String> right = invoke("echo", "/", id);
    assertThat(sameSandbox(json(right, 200), json(opened, 200))).isTrue();
    assertThat(sandboxCount()).as("the wrong request started nothing").isEqualTo(1);
  }

  // ---- scenarios: AgentCube's WorkloadManager API ---------------------------------------------

  @Test
  void controlPlane_createAgentRuntimeSession_noInvocation_entryPointsReachItsSandbox() throws Exception {
    Served s = start(TestRuntime.echo("echo"));

    HttpResponse<String> created = send("POST", "/v1/agent-runtime",
        new JsonObject().put("namespace", s.namespace()).put("name", "echo").put("extra", 1).encode(), null);

    JsonObject body = json(created, 200);
    String id = body.getString("sessionId");
    assertThat(sessionId(created)).isEqualTo(id);
    SandboxView sandbox = sandboxOf(id);
    assertThat(body.getString("sandboxName")).isEqualTo(sandbox.name());
    assertThat(body.getString("sandboxId")).isNotBlank();
    JsonArray entryPoints = body.getJsonArray("entryPoints");
    assertThat(entryPoints).hasSize(1);
    JsonObject entry = entryPoints.getJsonObject(0);
    assertThat(entry.getString("path")).isEqualTo("/");
    assertThat(entry.getString("protocol")).isEqualTo("HTTP");
    assertThat(json(get("/v1/sessions/" + id), 200).getInteger("inFlight")).as("nothing was invoked").isZero();

    // The entry point is the address the session's requests are forwarded to.
    JsonObject echo = json(invoke("echo", "/via-session", id), 200);
    assertThat(echo.getJsonObject("headers").getString("host")).isEqualTo(entry.getString("endpoint"));

    assertThat(json(send("DELETE", "/v1/agent-runtime/sessions/" + id, null, null), 200).getString("status"))
        .isEqualTo("deleted");
    await().atMost(BACKEND_WAIT).until(() -> !sandbox.exists());
    assertThat(json(get("/v1/sessions/" + id), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private String invokePath(String runtime, String rest) {
    return "/v1/namespaces/" + served.namespace() + "/agent-runtimes/" + runtime + "/invocations" + rest;
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + served.proxy().port() + path);
  }

  HttpResponse<String> invoke(String runtime, String rest, String sessionId) throws Exception {
    return send("GET", invokePath(runtime, rest), null, sessionId);
  }

  HttpResponse<String> get(String path) throws Exception {
    return send("GET", path, null, null);
  }

  HttpResponse<String> send(String method, String path, String body, String sessionId) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (sessionId != null) {
      r.header(SESSION, sessionId);
    }
    return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The JSON body, asserting the status first. */
  static JsonObject json(HttpResponse<String> r, int status) {
    assertThat(r.statusCode()).as("status of %s: %s", r.uri(), r.body()).isEqualTo(status);
    return new JsonObject(r.body());
  }

  static String sessionId(HttpResponse<?> r) {
    return r.headers().firstValue(SESSION).orElse(null);
  }

  /** Whether two echo answers came from one sandbox: the same process on the same address. */
  static boolean sameSandbox(JsonObject a, JsonObject b) {
    return a.getLong("pid").equals(b.getLong("pid"))
        && a.getJsonObject("headers").getString("host").equals(b.getJsonObject("headers").getString("host"));
  }

  /** Ready warm sandboxes of {@code runtime}'s current version, as its pool reports them. */
  private int warmReady(String runtime) {
    RuntimeDefinition d = served.proxy().runtimes().current(RuntimeKind.AGENT_RUNTIME, served.namespace(), runtime);
    SandboxPools.PoolView pool = d == null ? null : served.proxy().pools().pool(d);
    return pool == null ? 0 : pool.ready();
  }

  /** The status of {@code runtime} in the proxy's runtime listing. */
  private JsonObject runtimeStatus(String runtime) throws Exception {
    JsonArray items = json(get("/v1/namespaces/" + served.namespace() + "/runtimes"), 200).getJsonArray("items");
    for (int i = 0; i < items.size(); i++) {
      if (runtime.equals(items.getJsonObject(i).getString("name"))) {
        return items.getJsonObject(i).getJsonObject("status");
      }
    }
    throw new AssertionError("runtime " + runtime + " not listed: " + items);
  }

  /** The value of the Prometheus sample {@code sample} (name and labels), 0 when absent. */
  double metric(String sample) throws Exception {
    String body = get("/metrics").body();
    return body.lines().filter(l -> l.startsWith(sample + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(sample.length() + 1).trim())).orElse(0.0);
  }
}
