package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /api/execute} over real HTTP. */
class ExecuteApiTest {

  @TempDir static Path workspace;
  static TestServer server;
  static TestClient client;

  @BeforeAll
  static void start() {
    server = TestServer.start(workspace, o -> o.maxOutputBytes(64 * 1024));
    client = server.authorized();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Map<String, Object> cmd(Object... argv) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("command", List.of(argv));
    return m;
  }

  @Test
  void execute_exitZero_returnsStdoutAndTimes() {
    TestClient.Response r = client.execute(cmd("echo", "hello"));

    assertThat(r.status()).isEqualTo(200);
    Map<String, Object> body = r.json();
    assertThat(body).containsEntry("stdout", "hello\n").containsEntry("stderr", "")
        .containsEntry("exit_code", 0);
    assertThat(((Number) body.get("duration")).doubleValue()).isBetween(0.0, 10.0);
    Instant start = Instant.parse((String) body.get("start_time"));
    Instant end = Instant.parse((String) body.get("end_time"));
    assertThat(end).isAfterOrEqualTo(start);
  }

  @Test
  void execute_nonZeroExit_reportsExitCodeAndStderr() {
    TestClient.Response r = client.execute(cmd("bash", "-c", "echo out; echo oops >&2; exit 7"));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json()).containsEntry("exit_code", 7).containsEntry("stdout", "out\n")
        .containsEntry("stderr", "oops\n");
  }

  @Test
  void execute_argvWithShellCharacters_runsWithoutShell() {
    TestClient.Response r = client.execute(cmd("echo", "$HOME", ";", "&&", "`id`", "*"));

    assertThat(r.json()).containsEntry("stdout", "$HOME ; && `id` *\n");
  }

  @Test
  void execute_unknownProgram_returns127WithReason() {
    TestClient.Response r = client.execute(cmd("no-such-program-xyz"));

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json()).containsEntry("exit_code", 127);
    assertThat((String) r.json().get("stderr")).contains("no-such-program-xyz");
  }

  @Test
  void execute_timeout_killsTreeAndReturns124() {
    // Two background sleeps and a foreground one; all three must be gone afterwards.
    Map<String, Object> req = cmd("bash", "-c",
        "sleep 300 & echo $!; sleep 301 & echo $!; echo $$; sleep 302");
    req.put("timeout", "1s");

    TestClient.Response r = client.execute(req);

    assertThat(r.status()).isEqualTo(200);
    Map<String, Object> body = r.json();
    assertThat(body).containsEntry("exit_code", 124);
    assertThat((String) body.get("stderr")).contains("Command timed out after 1 seconds");
    assertThat(((Number) body.get("duration")).doubleValue()).isBetween(0.9, 10.0);
    List<Long> pids = pids((String) body.get("stdout"));
    assertThat(pids).hasSize(3);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(pids).allSatisfy(pid -> assertThat(alive(pid)).as("pid %d", pid).isFalse()));
  }

  @Test
  void execute_backgroundChildHoldsOutputPipe_returnsWhenRootExits() {
    // bash exits at once; its background child keeps stdout open. The command is over when bash
    // exits (PicoD would hang until the timeout); the child is left running.
    Map<String, Object> req = cmd("bash", "-c", "sleep 300 & echo $!");
    req.put("timeout", "20s");

    TestClient.Response r = client.execute(req);

    assertThat(r.json()).containsEntry("exit_code", 0);
    assertThat(((Number) r.json().get("duration")).doubleValue()).isLessThan(5.0);
    long pid = pids((String) r.json().get("stdout")).get(0);
    assertThat(alive(pid)).isTrue();
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Test
  void execute_timeoutAfterParentExited_killsOrphanedGrandchild() {
    // The middle bash exits at once, so the sleep is re-parented out of the tree; it is still
    // found (by the execution id in its environment) and killed on timeout.
    Map<String, Object> req = cmd("bash", "-c",
        "bash -c 'sleep 300 >/dev/null 2>&1 & echo $!'; sleep 300");
    req.put("timeout", "1s");

    TestClient.Response r = client.execute(req);

    assertThat(r.json()).containsEntry("exit_code", 124);
    List<Long> pids = pids((String) r.json().get("stdout"));
    assertThat(pids).hasSize(1);
    await().atMost(Duration.ofSeconds(10)).until(() -> !alive(pids.get(0)));
  }

  @Test
  void execute_detachedChildWithRedirectedOutput_survivesNormalExit() {
    // A background server that does not hold our pipes is left running (PicoD does the same).
    TestClient.Response r = client.execute(cmd("bash", "-c",
        "sleep 300 >/dev/null 2>&1 & echo $!"));

    assertThat(r.json()).containsEntry("exit_code", 0);
    long pid = pids((String) r.json().get("stdout")).get(0);
    assertThat(alive(pid)).isTrue();
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Test
  void execute_hugeOutput_truncatedWithMarkerAndDrained() {
    // 5 MB on stdout against a 64 KiB cap: the command must still finish normally.
    TestClient.Response r = client.execute(cmd("bash", "-c",
        "head -c 5000000 /dev/zero | tr '\\0' a; echo done >&2"));

    Map<String, Object> body = r.json();
    assertThat(body).containsEntry("exit_code", 0).containsEntry("stderr", "done\n");
    String stdout = (String) body.get("stdout");
    assertThat(stdout).startsWith("aaaa")
        .contains("[sandboxd: output truncated after 65536 bytes; 4934464 more bytes discarded]");
    assertThat(stdout.length()).isLessThan(65536 + 200);
  }

  @Test
  void execute_envAndWorkingDir_appliedRelativeToWorkspace() throws Exception {
    Files.createDirectories(workspace.resolve("sub/dir"));
    Map<String, Object> req = cmd("bash", "-c", "pwd; echo \"$GREETING $PATH_IS_KEPT\"");
    req.put("working_dir", "sub/dir");
    req.put("env", Map.of("GREETING", "hi", "PATH_IS_KEPT", "yes"));

    Map<String, Object> body = client.execute(req).json();

    String[] lines = ((String) body.get("stdout")).split("\n");
    assertThat(Path.of(lines[0])).isEqualTo(workspace.toRealPath().resolve("sub/dir"));
    assertThat(lines[1]).isEqualTo("hi yes");
  }

  @Test
  void execute_env_addedToTheSandboxEnvironmentNeverSandboxdsOwnVariables() {
    // SANDBOXD_TEST_CANARY is set on the test JVM (the daemon) by the pom: a SANDBOXD_* setting
    // is sandboxd's own, never a command's (SingleWorkspace says which variables those are).
    assertThat(System.getenv("SANDBOXD_TEST_CANARY")).as("canary set by the pom").isNotNull();
    Map<String, Object> req = cmd("bash", "-c",
        "echo \"$X_ADDED:${PATH:+path-set}:${SANDBOXD_TEST_CANARY:-none}\"");
    req.put("env", Map.of("X_ADDED", "1"));

    assertThat(client.execute(req).json()).containsEntry("stdout", "1:path-set:none\n");
  }

  @Test
  void execute_defaultWorkingDir_isWorkspaceRoot() throws Exception {
    assertThat(client.execute(cmd("pwd")).json())
        .containsEntry("stdout", workspace.toRealPath() + "\n");
  }

  @Test
  void execute_emptyOrMissingCommand_returns400() {
    assertError(client.execute(Map.of("command", List.of())), 400, "BAD_REQUEST");
    assertError(client.execute(Map.of("timeout", "1s")), 400, "BAD_REQUEST");
    assertError(client.execute(Map.of("command", "echo hi")), 400, "BAD_REQUEST");
    assertError(client.execute(Map.of("command", List.of(1, 2))), 400, "BAD_REQUEST");
  }

  @Test
  void execute_badTimeoutWorkingDirOrEnv_returns400() {
    Map<String, Object> badTimeout = cmd("true");
    badTimeout.put("timeout", "soon");
    Map<String, Object> outside = cmd("true");
    outside.put("working_dir", "../..");
    Map<String, Object> missingDir = cmd("true");
    missingDir.put("working_dir", "does/not/exist");
    Map<String, Object> badEnv = cmd("true");
    badEnv.put("env", Map.of("N", 1));

    assertError(client.execute(badTimeout), 400, "BAD_REQUEST");
    assertError(client.execute(outside), 400, "BAD_REQUEST");
    assertError(client.execute(missingDir), 400, "BAD_REQUEST");
    assertError(client.execute(badEnv), 400, "BAD_REQUEST");
  }

  @Test
  void execute_malformedJson_returns400() {
    TestClient.Response r = client.postBytes("/api/execute", "application/json",
        "{\"command\": [".getBytes());

    assertError(r, 400, "BAD_REQUEST");
  }

  @Test
  void execute_timeoutForms_acceptGoDurationsAndSeconds() {
    for (Object timeout : List.of("1m30s", "500ms", "2", 3, 1.5)) {
      Map<String, Object> req = cmd("true");
      req.put("timeout", timeout);
      assertThat(client.execute(req).json()).as("timeout %s", timeout).containsEntry("exit_code", 0);
    }
  }

  @Test
  void execute_wrongMethod_returns405() {
    assertError(client.get("/api/execute"), 405, "METHOD_NOT_ALLOWED");
  }

  static void assertError(TestClient.Response r, int status, String code) {
    assertThat(r.status()).as(r.text()).isEqualTo(status);
    assertThat(r.header("Content-Type")).startsWith("application/json");
    assertThat(r.json()).containsEntry("code", code).containsKey("error");
  }

  static List<Long> pids(String stdout) {
    List<Long> pids = new ArrayList<>();
    for (String line : stdout.split("\n")) {
      if (line.matches("\\d+")) {
        pids.add(Long.parseLong(line));
      }
    }
    return pids;
  }

  /** Alive and not a zombie: a killed process stays a zombie until init reaps it. */
  static boolean alive(long pid) {
    if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
