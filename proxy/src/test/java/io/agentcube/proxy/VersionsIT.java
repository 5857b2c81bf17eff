package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runtime versions, endpoints and reloads against real sandboxes. */
class VersionsIT {

  @TempDir
  Path tmp;
  private ProxyFixture f;

  @AfterEach
  void stop() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  /** The echo runtime whose sandboxes say {@code TAG=tag}: each tag is its own template. */
  private static String echo(String tag) {
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentRuntime
        metadata:
          name: echo
        spec:
          targetPort: [{port: 8080, pathPrefix: /}]
          podTemplate:
            spec:
              containers:
                - name: echo
                  command: ["python3", "%s"]
                  env: [{name: TAG, value: "%s"}]
          warmPoolSize: 1
        """.formatted(TestRuntimes.ECHO_AGENT, tag);
  }

  private Path runtimes() {
    return tmp.resolve("runtimes");
  }

  private void start(String reload) throws Exception {
    TestRuntimes.write(runtimes(), "echo.yaml", echo("one"));
    f = ProxyFixture.start(runtimes(), tmp.resolve("state"), false, Map.of("runtimes.reloadInterval", reload));
  }

  private void reload() throws Exception {
    f.proxy.reloadRuntimes().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private String env(String name, String sessionId) throws Exception {
    return json(f.get(invoke("echo", "/env?name=" + name), sessionId), 200).getString("value");
  }

  private JsonObject runtimeStatus() throws Exception {
    return json(f.get("/v1/namespaces/default/runtimes", null), 200).getJsonArray("items").getJsonObject(0)
        .getJsonObject("status");
  }

  @Test
  void newTemplate_liveSessionKeepsItsVersion_newSessionsGetTheNewOne() throws Exception {
    start("0s");
    String old = sessionId(f.get(invoke("echo", "/"), null));
    assertThat(env("TAG", old)).isEqualTo("one");
    assertThat(env("AGENTCUBE_RUNTIME_VERSION", old)).isEqualTo("v1");

    TestRuntimes.write(runtimes(), "echo.yaml", echo("two"));
    reload();

    var fresh = f.get(invoke("echo", "/env?name=TAG"), null);
    assertThat(json(fresh, 200).getString("value")).isEqualTo("two");
    assertThat(env("AGENTCUBE_RUNTIME_VERSION", sessionId(fresh))).isEqualTo("v2");
    assertThat(env("TAG", old)).as("the live session stays on v1").isEqualTo("one");
    JsonObject status = runtimeStatus();
    assertThat(status.getString("defaultVersion")).isEqualTo("v2");
    assertThat(status.getJsonObject("versions").fieldNames()).containsExactly("v1", "v2");
    assertThat(status.getInteger("activeSessions")).isEqualTo(2);
    assertThat(json(f.get("/v1/sessions/" + old, null), 200).getString("version")).isEqualTo("v1");
  }

  @Test
  void endpoint_pinsAnOlderVersion_unknownEndpointIs404() throws Exception {
    start("0s");
    TestRuntimes.write(runtimes(), "echo.yaml", echo("two"));
    reload();
    Files.writeString(runtimes().resolve("endpoints.yaml"), """
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

    var pinned = f.get(invoke("echo", "/env?name=TAG&endpoint=stable"), null);
    assertThat(json(pinned, 200).getString("value")).isEqualTo("one");
    JsonObject echoed = json(f.get(invoke("echo", "/q?x=1&endpoint=stable&y=2"), null), 200);
    assertThat(echoed.getString("rawQuery")).as("the endpoint parameter is not forwarded").isEqualTo("x=1&y=2");
    assertThat(json(f.get(invoke("echo", "/env?name=TAG"), null), 200).getString("value")).isEqualTo("two");

    var notReady = f.get(invoke("echo", "/?endpoint=future"), null);
    assertThat(json(notReady, 404).getString("code")).isEqualTo("ENDPOINT_NOT_FOUND");
    assertThat(notReady.body()).contains("v7");
    assertThat(json(f.get(invoke("echo", "/?endpoint=nope"), null), 404).getString("code")).isEqualTo("ENDPOINT_NOT_FOUND");

    var endpoints = json(f.get("/v1/namespaces/default/endpoints", null), 200).getJsonArray("items");
    assertThat(endpoints.getJsonObject(0).getString("name")).isEqualTo("future");
    assertThat(endpoints.getJsonObject(0).getJsonObject("status").getBoolean("ready")).isFalse();
    assertThat(endpoints.getJsonObject(1).getJsonObject("status").getString("resolvedVersion")).isEqualTo("v1");
  }

  @Test
  void brokenFile_keepsServingItsLastGoodContentsAndSaysWhy() throws Exception {
    start("0s");
    Files.writeString(runtimes().resolve("echo.yaml"), "kind: AgentRuntime\nspec: [not: valid");
    reload();

    assertThat(json(f.get(invoke("echo", "/env?name=TAG"), null), 200).getString("value")).isEqualTo("one");
    var listing = json(f.get("/v1/namespaces/default/runtimes", null), 200);
    assertThat(listing.getJsonArray("errors").encode()).contains("echo.yaml").contains("last good");
  }

  @Test
  void runtimeDeleted_takesNoNewSessions_liveOnesFinish() throws Exception {
    start("0s");
    String live = sessionId(f.get(invoke("echo", "/"), null));
    Files.delete(runtimes().resolve("echo.yaml"));
    reload();

    assertThat(json(f.get(invoke("echo", "/"), null), 404).getString("code")).isEqualTo("RUNTIME_NOT_FOUND");
    assertThat(f.get(invoke("echo", "/still-here"), live).statusCode()).isEqualTo(200);
  }

  @Test
  void newRuntimeFile_isServedWithoutRestart() throws Exception {
    start("200ms");
    Files.writeString(runtimes().resolve("other.yaml"), echo("three").replace("name: echo\n", "name: other\n"));

    await().atMost(Duration.ofSeconds(20)).until(() ->
        f.get("/v1/namespaces/default/agent-runtimes/other/invocations/", null).statusCode() == 200);
  }
}
