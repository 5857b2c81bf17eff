package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.pid;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The data plane's invocation, version, endpoint and error behaviour, run once per URL shape
 * (issue 14): every test expects the same answers from AgentCube's canonical
 * {@code /agent-runtimes/{name}/invocations/{path}} and the runtime API proposal's
 * {@code /agentruntimes/{name}/{path}}.
 *
 * <p>One proxy serves every test: runtime {@code echo} has versions v1 (sandboxes say
 * {@code TAG=one}) and v2 ({@code TAG=two}, the default); endpoint {@code stable} pins v1,
 * {@code future} pins a version that does not exist; runtime {@code other} is a second runtime.
 */
class InvocationShapesIT {

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  private static String echo(String name, String tag, int warmPoolSize) {
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentRuntime
        metadata:
          name: %s
        spec:
          targetPort: [{port: 8080, pathPrefix: /}]
          podTemplate:
            spec:
              containers:
                - name: echo
                  command: ["python3", "-S", "-u", "%s"]
                  env: [{name: TAG, value: "%s"}]
          warmPoolSize: %d
        """.formatted(name, TestRuntimes.ECHO_AGENT, tag, warmPoolSize);
  }

  @BeforeAll
  static void start() throws Exception {
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "echo.yaml", echo("echo", "one", 1));
    TestRuntimes.write(runtimes, "other.yaml", echo("other", "other", 0));
    f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of("runtimes.reloadInterval", "0s"));
    TestRuntimes.write(runtimes, "echo.yaml", echo("echo", "two", 1));
    reload();
    TestRuntimes.write(runtimes, "endpoints.yaml", """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentEndpoint
        metadata:
          name: stable
        spec:
          target: echo
          version: v1
        ---
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentEndpoint
        metadata:
          name: future
        spec:
          target: echo
          version: v7
        """);
    reload();
  }

  private static void reload() throws Exception {
    f.proxy.reloadRuntimes().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  private static String env(UrlShape shape, String name, String sessionId) throws Exception {
    return json(f.get(shape.agent("echo", "/env?name=" + name), sessionId), 200).getString("value");
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void invoke_newSessionThenItsHeader_pathQueryAndBodyReachTheSessionsSandbox(UrlShape shape) throws Exception {
    HttpResponse<String> first = f.get(shape.agent("echo", "/hello/world?x=1&y=2"), null);
    JsonObject echoed = json(first, 200);
    String id = sessionId(first);
    assertThat(id).as("a new session is announced").isNotBlank();
    assertThat(echoed.getString("path")).isEqualTo("/hello/world");
    assertThat(echoed.getString("rawQuery")).isEqualTo("x=1&y=2");

    HttpResponse<String> post = f.send("POST", shape.agent("echo", "/post"), "payload", id);
    JsonObject posted = json(post, 200);
    assertThat(posted.getString("method")).isEqualTo("POST");
    assertThat(posted.getString("body")).isEqualTo("payload");
    assertThat(posted.getInteger("port")).as("the session's own sandbox").isEqualTo(echoed.getInteger("port"));
    assertThat(sessionId(post)).isEqualTo(id);
    assertThat(posted.getJsonObject("headers").getString(ProxyFixture.SESSION)).isEqualTo(id);

    assertThat(json(f.get(shape.agent("echo", ""), id), 200).getString("path"))
        .as("nothing after the invocation prefix is /").isEqualTo("/");
    assertThat(json(f.get(shape.other().agent("echo", "/across"), id), 200).getInteger("port"))
        .as("a session goes on through the other shape").isEqualTo(echoed.getInteger("port"));
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void invoke_noEndpoint_newSessionGetsTheDefaultVersion(UrlShape shape) throws Exception {
    HttpResponse<String> r = f.get(shape.agent("echo", "/env?name=TAG"), null);

    assertThat(json(r, 200).getString("value")).isEqualTo("two");
    assertThat(env(shape, "AGENTCUBE_RUNTIME_VERSION", sessionId(r))).isEqualTo("v2");
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void endpoint_pinsAnOlderVersion_andIsNotForwarded(UrlShape shape) throws Exception {
    HttpResponse<String> pinned = f.get(shape.agent("echo", "/env?name=TAG&endpoint=stable"), null);
    assertThat(json(pinned, 200).getString("value")).isEqualTo("one");
    String id = sessionId(pinned);
    assertThat(env(shape, "AGENTCUBE_RUNTIME_VERSION", id)).isEqualTo("v1");
    assertThat(json(f.get("/v1/sessions/" + id, null), 200).getString("version")).isEqualTo("v1");

    JsonObject echoed = json(f.get(shape.agent("echo", "/q?x=1&endpoint=stable&y=2"), null), 200);
    assertThat(echoed.getString("rawQuery")).as("the endpoint parameter is not forwarded").isEqualTo("x=1&y=2");
    assertThat(json(f.get(shape.agent("echo", "/env?name=TAG&endpoint=stable"), id), 200).getString("value"))
        .as("a live session keeps its version").isEqualTo("one");
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void errors_noSuchRuntimeEndpointOrSession_sameCodesAndNoSessionHeader(UrlShape shape) throws Exception {
    int sessions = liveSessions();

    HttpResponse<String> noRuntime = f.get(shape.agent("nope", "/"), null);
    assertThat(json(noRuntime, 404).getString("code")).isEqualTo("RUNTIME_NOT_FOUND");
    assertThat(sessionId(noRuntime)).as("no session was created").isNull();

    HttpResponse<String> noEndpoint = f.get(shape.agent("echo", "/?endpoint=nope"), null);
    assertThat(json(noEndpoint, 404).getString("code")).isEqualTo("ENDPOINT_NOT_FOUND");
    assertThat(sessionId(noEndpoint)).isNull();
    HttpResponse<String> notReady = f.get(shape.agent("echo", "/?endpoint=future"), null);
    assertThat(json(notReady, 404).getString("code")).isEqualTo("ENDPOINT_NOT_FOUND");
    assertThat(notReady.body()).contains("v7");
    HttpResponse<String> otherTarget = f.get(shape.agent("other", "/?endpoint=stable"), null);
    assertThat(json(otherTarget, 404).getString("code")).isEqualTo("ENDPOINT_NOT_FOUND");
    assertThat(otherTarget.body()).contains("targets 'echo'");

    HttpResponse<String> noSession = f.get(shape.agent("echo", "/"), "doesNotExist123");
    assertThat(json(noSession, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(f.get(shape.agent("echo", "/"), "bad id!"), 400).getString("code")).isEqualTo("BAD_REQUEST");
    assertThat(liveSessions()).as("no failed request opened a session").isEqualTo(sessions);
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void errors_sessionOfAnotherRuntime_isNotFoundThere(UrlShape shape) throws Exception {
    String id = sessionId(f.get(shape.agent("echo", "/"), null));

    HttpResponse<String> elsewhere = f.get(shape.agent("other", "/"), id);

    assertThat(json(elsewhere, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(elsewhere.body()).contains("default/other");
    assertThat(f.get(shape.agent("echo", "/still"), id).statusCode()).as("the session itself goes on").isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void errors_sandboxKilled_nextRequestGetsSandboxLostWithSessionHeader(UrlShape shape) throws Exception {
    HttpResponse<String> r = f.get(shape.agent("echo", "/"), null);
    String id = sessionId(r);
    ProcessHandle.of(pid(r)).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).until(() -> f.get("/v1/sessions/" + id, null).statusCode() != 200);

    HttpResponse<String> lost = f.get(shape.agent("echo", "/"), id);

    assertThat(json(lost, 410).getString("code")).isEqualTo("SANDBOX_LOST");
    assertThat(sessionId(lost)).as("error responses of a session carry its id").isEqualTo(id);
  }

  @ParameterizedTest
  @EnumSource(UrlShape.class)
  void metrics_eitherShape_countedUnderTheCanonicalRoute(UrlShape shape) throws Exception {
    String ok = "agentcube_requests_total{code=\"200\",route=\"invoke_agent_runtime\"}";
    String notFound = "agentcube_requests_total{code=\"404\",route=\"invoke_agent_runtime\"}";
    // A response reaches its client a moment before it is counted: let earlier tests' requests land.
    await().atMost(Duration.ofSeconds(10)).until(() -> counter("agentcube_requests_in_flight") == 1.0); // this scrape
    double okBefore = counter(ok);
    double notFoundBefore = counter(notFound);

    String id = sessionId(f.get(shape.agent("echo", "/m"), null));
    f.get(shape.agent("echo", "/m"), id);
    f.get(shape.agent("nope", "/m"), null);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(counter(ok) - okBefore).isEqualTo(2.0);
      assertThat(counter(notFound) - notFoundBefore).isEqualTo(1.0);
    });
    assertThat(f.get("/metrics", null).body().lines().filter(l -> l.startsWith("agentcube_requests_total{"))
        .map(l -> l.replaceAll(".*route=\"([^\"]*)\".*", "$1")))
        .as("no new route label values")
        .allMatch(route -> route.matches("invoke_agent_runtime|invoke_code_interpreter|create_session"
            + "|delete_session|sessions|runtimes|health|metrics|other"));
  }

  /** Live sessions, as the session listing counts them. */
  private static int liveSessions() throws Exception {
    return json(f.get("/v1/sessions?limit=1000", null), 200).getJsonArray("items").size();
  }

  /** The value of one sample line of {@code /metrics}, 0 when it is not there yet. */
  private static double counter(String series) throws Exception {
    return f.get("/metrics", null).body().lines().filter(l -> l.startsWith(series + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(series.length() + 1))).orElse(0.0);
  }
}
