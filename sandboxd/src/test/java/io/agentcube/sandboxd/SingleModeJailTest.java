package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.jail.IsolationMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single mode with the jail: PicoD's behaviour as a client sees it is unchanged (paths, exit
 * codes, env, working directory, timeout), while the command no longer sees the daemon's
 * processes, files or own variables, and nothing it starts outlives it. Aborts naming why where
 * bubblewrap does not work (fails under {@code AGENTCUBE_REQUIRE_ISOLATION=1}).
 */
class SingleModeJailTest {

  @TempDir static Path workspace;
  static TestServer server;
  static TestClient client;

  @BeforeAll
  static void start() {
    Isolation.requireJail();
    server = TestServer.start(workspace, o -> o.isolation(IsolationMode.REQUIRED));
    client = server.authorized();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  static String nonce() {
    return Long.toString(100_000_000L + ThreadLocalRandom.current().nextLong(800_000_000L));
  }

  @Test
  void execute_jailed_seesTheWorkspaceAtItsOwnPath() throws Exception {
    Files.createDirectories(workspace.resolve("sub"));
    Map<String, Object> req = cmd("bash", "-c", "pwd; echo hi > made.txt; echo $HOME");
    req.put("working_dir", "sub");

    Map<String, Object> body = client.execute(req).json();

    Path real = workspace.toRealPath();
    assertThat(body).containsEntry("exit_code", 0)
        .containsEntry("stdout", real.resolve("sub") + "\n" + real + "\n");
    assertThat(Files.readString(real.resolve("sub/made.txt"))).isEqualTo("hi\n");
    assertThat(client.get("/api/files/sub/made.txt").text()).isEqualTo("hi\n");
  }

  @Test
  void execute_jailed_daemonsEnvironmentProcessesAndFilesInvisible() {
    Map<String, Object> body = client.execute(cmd("bash", "-c",
        "echo ${SANDBOXD_TEST_CANARY:-no-canary}; ls /proc | grep -cE '^[0-9]+$';"
            + " test -e /work && echo sees-work; test -e " + SandboxdJarIT.JAR.toAbsolutePath()
            + " && echo sees-jar; kill -9 " + ProcessHandle.current().pid()
            + " 2>/dev/null && echo killed")).json();

    String[] lines = ((String) body.get("stdout")).split("\n");
    assertThat(lines[0]).isEqualTo("no-canary");
    assertThat(Integer.parseInt(lines[1])).isLessThanOrEqualTo(6);
    assertThat(lines).hasSize(2);
  }

  @Test
  void execute_daemonEnvironment_passedWithoutSandboxdsOwn(@TempDir Path ws) throws Exception {
    // A single-mode daemon gets its sandbox's environment as its own (a pod's env, a template's).
    SandboxdOptions options = new SandboxdOptions().workspace(ws).host("127.0.0.1").port(0)
        .noAuth(true).isolation(IsolationMode.REQUIRED);
    Map<String, String> daemonEnv = Map.of("TEMPLATE_VAR", "from the template",
        "PATH", "/opt/tool/bin:/usr/bin:/bin", "PICOD_AUTH_PUBLIC_KEY", "a key",
        "AGENTCUBE_SESSION_ID", "s-1", "PORT", "8080", "SANDBOXD_MAX_EXECUTIONS", "3",
        "HOME", "/root");
    try (SandboxdServer own = SandboxdServer.start(options, Clock.systemUTC(), daemonEnv)) {
      Map<String, Object> body = new TestClient(own.port()).execute(cmd("bash", "-c",
          "echo \"$TEMPLATE_VAR|$PATH|${PICOD_AUTH_PUBLIC_KEY-unset}|${AGENTCUBE_SESSION_ID-unset}"
              + "|${PORT-unset}|${SANDBOXD_MAX_EXECUTIONS-unset}|$HOME\"")).json();

      assertThat(body).containsEntry("stdout", "from the template|/opt/tool/bin:/usr/bin:/bin"
          + "|unset|unset|unset|unset|" + ws.toRealPath() + "\n");
    }
  }

  @Test
  void execute_timeout_leavesNoProcessAndReturns124() {
    String n = nonce();
    Map<String, Object> req = cmd("bash", "-c", "setsid sleep 1001." + n
        + " >/dev/null 2>&1 < /dev/null & (env -i /usr/bin/sleep 1002." + n
        + " >/dev/null 2>&1 &); sleep 1003." + n);
    req.put("timeout", "1s");

    Map<String, Object> body = client.execute(req).json();

    assertThat(body).containsEntry("exit_code", 124);
    assertThat((String) body.get("stderr")).contains("Command timed out after 1 seconds");
    await().atMost(Duration.ofSeconds(5)).until(() -> Isolation.withArgument(n).isEmpty());
  }

  @Test
  void execute_backgroundChild_doesNotOutliveTheCommand() {
    // The deliberate difference from PicoD and from the jail-off path: the command's PID
    // namespace ends with it.
    String n = nonce();

    Map<String, Object> body = client.execute(cmd("bash", "-c",
        "sleep 1001." + n + " >/dev/null 2>&1 & echo started")).json();

    assertThat(body).containsEntry("exit_code", 0).containsEntry("stdout", "started\n");
    await().atMost(Duration.ofSeconds(5)).until(() -> Isolation.withArgument(n).isEmpty());
  }

  @Test
  void execute_missingProgram_still127() {
    Map<String, Object> body = client.execute(cmd("no-such-program-xyz")).json();

    assertThat(body).containsEntry("exit_code", 127);
    assertThat((String) body.get("stderr")).contains("no-such-program-xyz");
  }

  @Test
  void health_saysSingleModeAndTheJail() {
    Map<String, Object> health = new TestClient(server.server.port()).get("/health").json();

    assertThat(health).containsEntry("mode", "single").doesNotContainKey("sandboxes");
    assertThat((String) health.get("isolation")).startsWith("bwrap");
  }
}
