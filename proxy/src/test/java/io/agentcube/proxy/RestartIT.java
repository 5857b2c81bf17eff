package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.pid;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A proxy restarted on the same state directory keeps its sessions (process backend, sandboxes
 * kept by {@code process.keepSandboxesOnStop}); the crash case, with a real process killed by
 * SIGKILL, is in {@link ProxyProcessIT}.
 */
class RestartIT {

  private static final Path SANDBOXD_JAR =
      Path.of("..", "sandboxd", "target", "agentcube-sandboxd.jar").toAbsolutePath().normalize();

  @TempDir
  Path tmp;
  private final List<ProxyFixture> running = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (ProxyFixture f : List.copyOf(running)) {
      stop(f);
    }
    // Sandboxes a test kept on purpose: one more start adopts them, its stop (not keeping) ends them.
    List<ProcessHandle> before = ProcessHandle.current().children().toList();
    stop(start(false));
    await().atMost(Duration.ofSeconds(30)).until(() -> before.stream().noneMatch(ProcessHandle::isAlive));
  }

  private ProxyFixture start(boolean keep) throws Exception {
    return start(keep, true);
  }

  private ProxyFixture start(boolean keep, boolean sandboxHost) throws Exception {
    ProxyFixture f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), true, Map.of(
        "process.keepSandboxesOnStop", keep,
        "process.sandboxHost", sandboxHost,
        "sessions.activityFlushInterval", "200ms",
        "process.sandboxdCommand", List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-jar", SANDBOXD_JAR.toString(), "--host", "127.0.0.1")));
    running.add(f);
    return f;
  }

  private void stop(ProxyFixture f) throws Exception {
    running.remove(f);
    f.close();
  }

  @Test
  void restart_keepingSandboxes_sessionReachesTheSameSandboxWithItsTimes() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    ProxyFixture first = start(true);
    HttpResponse<String> opened = first.get(invoke("echo", "/hello"), null);
    String id = sessionId(opened);
    long sandboxPid = pid(opened);
    JsonObject before = json(first.get("/v1/sessions/" + id, null), 200);
    // Activity after creation, flushed to the marker before the stop.
    pid(first.get(invoke("echo", "/again"), id));
    Instant lastActivity = Instant.parse(json(first.get("/v1/sessions/" + id, null), 200)
        .getString("lastActivity"));
    stop(first);
    assertThat(ProcessHandle.of(sandboxPid).map(ProcessHandle::isAlive)).as("kept running").contains(true);

    ProxyFixture second = start(true);

    HttpResponse<String> again = second.get(invoke("echo", "/after-restart"), id);
    assertThat(pid(again)).as("the same sandbox process").isEqualTo(sandboxPid);
    assertThat(sessionId(again)).isEqualTo(id);
    JsonObject after = json(second.get("/v1/sessions/" + id, null), 200);
    assertThat(after.getString("createdAt")).isEqualTo(before.getString("createdAt"));
    assertThat(after.getString("hardDeadline")).isEqualTo(before.getString("hardDeadline"));
    assertThat(after.getString("sandboxId")).isEqualTo(before.getString("sandboxId"));
    assertThat(Instant.parse(after.getString("lastActivity"))).isAfterOrEqualTo(lastActivity);
  }

  @Test
  void restart_sandboxDiedWhileStopped_sessionAnswers410SandboxLost() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    ProxyFixture first = start(true);
    HttpResponse<String> opened = first.get(invoke("echo", "/"), null);
    String id = sessionId(opened);
    // The whole sandbox dies, jail included: the proxy's (this JVM's) child and all below it.
    List<ProcessHandle> sandbox = ProxyFixture.sandboxTree(ProcessHandle.current().pid(), pid(opened));
    stop(first);
    sandbox.forEach(ProcessHandle::destroyForcibly);
    await().atMost(Duration.ofSeconds(10)).until(() -> sandbox.stream().noneMatch(ProcessHandle::isAlive));

    ProxyFixture second = start(true);

    HttpResponse<String> r = second.get(invoke("echo", "/"), id);
    assertThat(json(r, 410).getString("code")).isEqualTo("SANDBOX_LOST");
    assertThat(sessionId(r)).as("the session header of the lost session").isEqualTo(id);
  }

  @Test
  void restart_withoutKeeping_stopsSandboxesAndForgetsSessions() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    ProxyFixture first = start(false);
    HttpResponse<String> opened = first.get(invoke("echo", "/"), null);
    long sandboxPid = pid(opened);
    stop(first);
    assertThat(ProcessHandle.of(sandboxPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();

    ProxyFixture second = start(false);
    HttpResponse<String> r = second.get(invoke("echo", "/"), sessionId(opened));
    assertThat(json(r, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
  }

  private static final String CI = "/v1/namespaces/default/code-interpreters/python/invocations";

  private void writePython() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "python.yaml", TestRuntimes.python(0));
  }

  /**
   * A code interpreter with a sandboxd process of its own ({@code process.sandboxHost: false})
   * across a restart: its workspace survives and calls are still signed with a key the sandbox
   * accepts (the generated key is kept in the state directory).
   */
  @Test
  void restart_ownProcessCodeInterpreter_workspaceAndSignedCallsSurvive() throws Exception {
    writePython();
    ProxyFixture first = start(true, false);
    HttpResponse<String> opened = first.send("POST", CI + "/api/execute", execute(
        "bash", "-c", "echo kept > note.txt"), null);
    json(opened, 200);
    String id = sessionId(opened);
    stop(first);

    ProxyFixture second = start(true, false);

    JsonObject out = json(second.send("POST", CI + "/api/execute", execute("cat", "note.txt"), id), 200);
    assertThat(out.getString("stdout")).isEqualTo("kept\n");
  }

  /**
   * A hosted code interpreter does not outlive the proxy, even with sandboxes kept
   * (docs/isolation.md): its session is unknown after the restart, its workspace gone, and new
   * sessions work on the new host.
   */
  @Test
  void restart_hostedCodeInterpreter_endsWithTheProxy() throws Exception {
    writePython();
    ProxyFixture first = start(true, true);
    HttpResponse<String> opened = first.send("POST", CI + "/api/execute", execute(
        "bash", "-c", "echo kept > note.txt"), null);
    json(opened, 200);
    String id = sessionId(opened);
    ProcessHandle host = ((io.agentcube.sandbox.process.ProcessBackend) first.proxy.backend()).hostProcess();
    assertThat(host).as("served by the sandbox host").isNotNull();
    stop(first);
    assertThat(host.isAlive()).as("the host stopped with the proxy").isFalse();

    ProxyFixture second = start(true, true);

    HttpResponse<String> old = second.send("POST", CI + "/api/execute", execute("cat", "note.txt"), id);
    assertThat(json(old, 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    JsonObject fresh = json(second.send("POST", CI + "/api/execute", execute("ls", "-A"), null), 200);
    assertThat(fresh.getString("stdout")).as("a new, empty workspace").isEmpty();
  }

  private static String execute(String... argv) {
    return new JsonObject().put("command", new JsonArray(List.of((Object[]) argv)))
        .put("timeout", "30s").encode();
  }
}
