package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inbound authentication with static tokens ({@code auth.mode: static}), and what every mode
 * shares: 401 with a Bearer challenge, ownership (another subject's session is 404 on every
 * route), admins, {@code auth.requiredRole}, the client's token never reaching a sandbox, open
 * health and metrics, and the secure default for {@code auth.mode: none}.
 */
class AuthIT {

  static final String ALICE = "alice-0123456789abcdef";
  static final String BOB = "bob-0123456789abcdef01";
  static final String ROOT = "root-0123456789abcdef0";
  static final String PLAIN = "plain-0123456789abcdef";

  @TempDir
  static Path tmp;
  private static ProxyFixture f;
  private static ProxyFixture strict;

  @BeforeAll
  static void start() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 1, "2m", "8h"));
    Path tokens = Files.writeString(tmp.resolve("tokens"), String.join("\n",
        "# token                 subject  roles",
        ALICE + "  alice  user",
        BOB + "    bob    user,extra",
        "",
        ROOT + "   root   admin",
        PLAIN + "  plain") + "\n");
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false, Map.of(
        "auth.mode", "static", "auth.tokensFile", tokens.toString()));
    strict = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state2"), false, Map.of(
        "auth.mode", "static", "auth.tokensFile", tokens.toString(), "auth.requiredRole", "user",
        "auth.invocations", "sessionId"));
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
    strict.close();
  }

  static HttpResponse<String> call(ProxyFixture p, String method, String path, String authorization,
      String sessionId, String body) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(p.uri(path)).timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      r.header("Authorization", authorization);
    }
    if (sessionId != null) {
      r.header(ProxyFixture.SESSION, sessionId);
    }
    return p.http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> as(String token, String method, String path) throws Exception {
    return call(f, method, path, "Bearer " + token, null, null);
  }

  /** A new session of {@code echo} created through the control plane by {@code token}'s subject. */
  static String create(ProxyFixture p, String token) throws Exception {
    return json(call(p, "POST", "/v1/agent-runtime", "Bearer " + token, null,
        "{\"namespace\":\"default\",\"name\":\"echo\"}"), 200).getString("sessionId");
  }

  static void assertUnauthenticated(HttpResponse<String> r) {
    assertThat(json(r, 401).getString("code")).isEqualTo("UNAUTHENTICATED");
    assertThat(r.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
  }

  @Test
  void noToken_controlAndDataPlane_401WithBearerChallenge() throws Exception {
    assertUnauthenticated(call(f, "GET", "/v1/sessions", null, null, null));
    assertUnauthenticated(call(f, "POST", "/v1/agent-runtime", null, null, "{\"name\":\"echo\"}"));
    assertUnauthenticated(call(f, "GET", "/v1/namespaces/default/runtimes", null, null, null));
    assertUnauthenticated(call(f, "GET", ProxyFixture.invoke("echo", "/"), null, null, null));
    assertThat(f.proxy.sessions().size()).as("no session opened").isZero();
  }

  @Test
  void wrongScheme_401() throws Exception {
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Basic " + ALICE, null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", ALICE, null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer", null, null));
  }

  @Test
  void malformedToken_401() throws Exception {
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer " + ALICE + " extra", null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer  ", null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer a.b.c", null, null));
  }

  @Test
  void nearMissStaticToken_401() throws Exception {
    String last = ALICE.substring(ALICE.length() - 1);
    String near = ALICE.substring(0, ALICE.length() - 1) + (last.equals("f") ? "e" : "f");
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer " + near, null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer " + ALICE.toUpperCase(), null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer " + ALICE + "0", null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Bearer " + ALICE.substring(1), null, null));
    assertThat(json(as(ALICE, "GET", "/v1/sessions"), 200).getJsonArray("items")).isNotNull();
  }

  @Test
  void healthAndMetrics_needNoToken() throws Exception {
    assertThat(call(f, "GET", "/health/live", null, null, null).statusCode()).isEqualTo(200);
    assertThat(call(f, "GET", "/health/ready", null, null, null).statusCode()).isEqualTo(200);
    assertThat(call(f, "GET", "/metrics", null, null, null).statusCode()).isEqualTo(200);
  }

  @Test
  void anotherSubjectsSession_is404OnEveryRoute_likeAnUnknownId() throws Exception {
    String id = create(f, ALICE);
    JsonObject mine = json(as(ALICE, "GET", "/v1/sessions/" + id), 200);
    assertThat(mine.getString("owner")).isEqualTo("alice");

    String unknown = io.agentcube.session.SessionIds.generate();
    JsonObject never = json(as(BOB, "GET", "/v1/sessions/" + unknown), 404);
    JsonObject theirs = json(as(BOB, "GET", "/v1/sessions/" + id), 404);
    assertThat(theirs.getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(theirs.getString("error")).isEqualTo(never.getString("error").replace(unknown, id));

    assertThat(json(as(BOB, "DELETE", "/v1/sessions/" + id), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(as(BOB, "DELETE", "/v1/agent-runtime/sessions/" + id), 404).getString("code"))
        .isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(call(f, "POST", "/v1/sessions/" + id + "/keepalive", "Bearer " + BOB, null, "{}"), 404)
        .getString("code")).isEqualTo("SESSION_NOT_FOUND");
    HttpResponse<String> invoked = call(f, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + BOB, id, null);
    assertThat(json(invoked, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(ids(as(BOB, "GET", "/v1/sessions"))).doesNotContain(id);

    // Still alive and Alice's: nothing Bob did ended or touched it.
    assertThat(ids(as(ALICE, "GET", "/v1/sessions"))).contains(id);
    HttpResponse<String> echoed = call(f, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + ALICE, id, null);
    assertThat(sessionId(echoed)).isEqualTo(id);
    assertThat(json(as(ALICE, "DELETE", "/v1/sessions/" + id), 200).getString("status")).isEqualTo("deleted");
  }

  @Test
  void admin_seesAndEndsEverySession() throws Exception {
    String alices = create(f, ALICE);
    String bobs = create(f, BOB);
    assertThat(ids(as(ROOT, "GET", "/v1/sessions"))).contains(alices, bobs);
    assertThat(ids(as(ALICE, "GET", "/v1/sessions"))).contains(alices).doesNotContain(bobs);
    assertThat(json(as(ROOT, "GET", "/v1/sessions/" + bobs), 200).getString("owner")).isEqualTo("bob");
    assertThat(json(as(ROOT, "DELETE", "/v1/sessions/" + bobs), 200).getString("status")).isEqualTo("deleted");
    assertThat(json(as(ROOT, "DELETE", "/v1/agent-runtime/sessions/" + alices), 200).getString("status"))
        .isEqualTo("deleted");
  }

  @Test
  void invocation_opensASessionOwnedByTheCaller_andTheTokenNeverReachesTheSandbox() throws Exception {
    HttpResponse<String> r = call(f, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + BOB, null, null);
    JsonObject seen = json(r, 200).getJsonObject("headers");
    assertThat(seen.getString("authorization")).as("the client's credential is the proxy's").isNull();
    String id = sessionId(r);
    assertThat(json(as(BOB, "GET", "/v1/sessions/" + id), 200).getString("owner")).isEqualTo("bob");
    assertThat(json(as(ALICE, "GET", "/v1/sessions/" + id), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    as(BOB, "DELETE", "/v1/sessions/" + id);
  }

  @Test
  void invocation_tokenMode_needsATokenEvenWithTheSessionId() throws Exception {
    String id = create(f, ALICE);
    assertUnauthenticated(call(f, "GET", ProxyFixture.invoke("echo", "/"), null, id, null));
    as(ALICE, "DELETE", "/v1/sessions/" + id);
  }

  @Test
  void requiredRole_missing_403() throws Exception {
    HttpResponse<String> r = call(strict, "GET", "/v1/sessions", "Bearer " + PLAIN, null, null);
    assertThat(json(r, 403).getString("code")).isEqualTo("FORBIDDEN");
    assertThat(call(strict, "GET", "/v1/sessions", "Bearer " + ALICE, null, null).statusCode()).isEqualTo(200);
    assertThat(call(strict, "GET", "/v1/sessions", "Bearer " + ROOT, null, null).statusCode())
        .as("an admin needs no other role").isEqualTo(200);
  }

  @Test
  void sessionIdMode_dataPlaneWithoutToken_servesTheNamedSession_controlPlaneStillNeedsOne() throws Exception {
    String id = create(strict, ALICE);
    HttpResponse<String> r = call(strict, "GET", ProxyFixture.invoke("echo", "/"), null, id, null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(sessionId(r)).isEqualTo(id);
    // A token that is presented is still checked, and a wrong one refused.
    assertUnauthenticated(call(strict, "GET", ProxyFixture.invoke("echo", "/"), "Bearer nope-nope-nope-nope", id, null));
    // The proxy's token never reaches the sandbox in this mode either.
    JsonObject seen = json(call(strict, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + ALICE, id, null), 200)
        .getJsonObject("headers");
    assertThat(seen.getString("authorization")).isNull();
    assertUnauthenticated(call(strict, "GET", "/v1/sessions/" + id, null, null, null));
    call(strict, "DELETE", "/v1/sessions/" + id, "Bearer " + ALICE, null, null);
  }

  @Test
  void none_onNonLoopbackHost_refusesToStart() {
    ProxyConfig config = ProxyConfig.builder().set("server.host", "0.0.0.0").set("server.port", 0)
        .set("runtimes.dirs", tmp.resolve("runtimes").toString())
        .set("process.stateDir", tmp.resolve("state-none").toString()).build();
    assertThatThrownBy(() -> AgentCubeProxy.start(config).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ConfigException.class)
        .hasMessageContaining("auth.mode: none on server.host 0.0.0.0");
  }

  /** The real command: exit code 2 and a message naming the key, at once (no hang). */
  @Test
  void none_onNonLoopbackHost_mainExits2() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "io.agentcube.proxy.Main", "--server.host=0.0.0.0", "--server.port=0",
        "--runtimes.dirs=" + tmp.resolve("runtimes"), "--process.stateDir=" + tmp.resolve("state-main"))
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exits instead of hanging").isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isEqualTo(2);
    assertThat(out).contains("configuration error: auth.mode: none on server.host 0.0.0.0");
  }

  @Test
  void none_onNonLoopbackHost_allowedExplicitly_serves() throws Exception {
    try (ProxyFixture open = ProxyFixture.start(tmp.resolve("empty-runtimes"), tmp.resolve("state-open"), false,
        Map.of("server.host", "0.0.0.0", "auth.allowUnauthenticated", true))) {
      assertThat(call(open, "GET", "/v1/sessions", null, null, null).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void staticTokensFile_missingOrBad_failsStartNamingTheKey() throws Exception {
    Path bad = Files.writeString(tmp.resolve("bad-tokens"), "short alice\n");
    for (Object file : List.of(tmp.resolve("absent").toString(), bad.toString())) {
      ProxyConfig config = ProxyConfig.builder().set("server.port", 0)
          .set("runtimes.dirs", tmp.resolve("runtimes").toString())
          .set("process.stateDir", tmp.resolve("state-bad").toString())
          .set("auth.mode", "static").set("auth.tokensFile", file).build();
      assertThatThrownBy(() -> AgentCubeProxy.start(config).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS))
          .hasCauseInstanceOf(ConfigException.class)
          .hasMessageContaining("auth.tokensFile");
    }
  }

  static List<String> ids(HttpResponse<String> listing) {
    JsonArray items = json(listing, 200).getJsonArray("items");
    List<String> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      out.add(items.getJsonObject(i).getString("sessionId"));
    }
    return out;
  }
}
