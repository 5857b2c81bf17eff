package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A runtime file written from the runtime API proposal (issue 14), served end to end: kind
 * {@code CodeInterpreterRuntime}, called through the proposal's
 * {@code /codeinterpreters/{name}/{path}?endpoint=} with real sandboxd sandboxes.
 */
class CodeInterpreterRuntimeIT {

  private static final Path SANDBOXD_JAR =
      Path.of("..", "sandboxd", "target", "agentcube-sandboxd.jar").toAbsolutePath().normalize();

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  /** A proposal-spelled code interpreter whose executions see {@code TAG}: each tag is a version. */
  private static String interpreter(String tag) {
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreterRuntime
        metadata:
          name: py
        spec:
          languages: [python, bash]
          template:
            environment: [{name: TAG, value: "%s"}]
        """.formatted(tag);
  }

  @BeforeAll
  static void start() throws Exception {
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "py.yaml", interpreter("one"));
    f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of(
        "runtimes.reloadInterval", "0s",
        "process.sandboxdCommand", List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-jar", SANDBOXD_JAR.toString(), "--host", "127.0.0.1")));
    TestRuntimes.write(runtimes, "py.yaml", interpreter("two"));
    TestRuntimes.write(runtimes, "endpoints.yaml", """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreterEndpoint
        metadata:
          name: stable
        spec:
          target: py
          version: v1
        """);
    f.proxy.reloadRuntimes().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  private static String execute(String path, String sessionId, String script) throws Exception {
    JsonObject body = new JsonObject().put("command", new JsonArray(List.of("bash", "-c", script)))
        .put("timeout", "30s");
    HttpResponse<String> r = f.send("POST", path, body.encode(), sessionId);
    JsonObject out = json(r, 200);
    assertThat(out.getInteger("exit_code")).as("exit code of %s: %s", script, out).isZero();
    return out.getString("stdout");
  }

  @Test
  void execute_proposalUrlWithEndpoint_runsInThePinnedOlderVersion() throws Exception {
    String path = "/v1/namespaces/default/codeinterpreters/py/api/execute";

    HttpResponse<String> pinned = f.send("POST", path + "?endpoint=stable", new JsonObject()
        .put("command", new JsonArray(List.of("bash", "-c", "echo $TAG $AGENTCUBE_RUNTIME_VERSION")))
        .put("timeout", "30s").encode(), null);

    assertThat(json(pinned, 200).getString("stdout")).isEqualTo("one v1\n");
    String id = sessionId(pinned);
    assertThat(id).isNotBlank();
    assertThat(execute(path, id, "echo $TAG; echo kept > f.txt; cat f.txt")).as("the session's own sandbox")
        .isEqualTo("one\nkept\n");
    assertThat(execute(path, null, "echo $TAG $AGENTCUBE_RUNTIME_VERSION")).as("no endpoint: the default version")
        .isEqualTo("two v2\n");
    assertThat(execute("/v1/namespaces/default/code-interpreters/py/invocations/api/execute", id, "cat f.txt"))
        .as("the same runtime and session through the canonical URL").isEqualTo("kept\n");
  }

  @Test
  void listing_proposalKind_showsTheCanonicalKindTheSpellingAndBothVersions() throws Exception {
    JsonObject runtime = json(f.get("/v1/namespaces/default/runtimes", null), 200)
        .getJsonArray("items").getJsonObject(0);

    assertThat(runtime.getString("kind")).isEqualTo("CodeInterpreter");
    assertThat(runtime.getString("declaredKind")).isEqualTo("CodeInterpreterRuntime");
    assertThat(runtime.getString("name")).isEqualTo("py");
    JsonObject status = runtime.getJsonObject("status");
    assertThat(status.getString("defaultVersion")).isEqualTo("v2");
    assertThat(status.getJsonObject("versions").fieldNames()).containsExactly("v1", "v2");
    assertThat(json(f.get("/v1/namespaces/default/endpoints", null), 200).getJsonArray("items")
        .getJsonObject(0).getJsonObject("status").getString("resolvedVersion")).isEqualTo("v1");
  }
}
