package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Launches the real fat jar ({@code target/agentcube-sandboxd.jar}) as a process, the way the
 * process backend does, and talks to it over HTTP.
 */
class SandboxdJarIT {

  static final Path JAR = Path.of(System.getProperty("sandboxd.jar", "target/agentcube-sandboxd.jar"));

  @TempDir Path workspace;
  final List<Process> started = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (Process p : started) {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  Process launch(Map<String, String> env, String... args) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java"); // this test's JVM
    List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC", "-jar", JAR.toString(), "--host", "127.0.0.1", "--port", "0",
        "--workspace", workspace.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().remove("PICOD_AUTH_PUBLIC_KEY");
    pb.environment().remove("AGENTCUBE_SESSION_ID");
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p = pb.start();
    started.add(p);
    return p;
  }

  /** Reads stdout until the "listening" line (blocking; the JUnit timeout bounds it). */
  static int port(Process p) throws IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      if (line.startsWith("sandboxd listening on port ")) {
        return Integer.parseInt(line.substring("sandboxd listening on port ".length()).strip());
      }
    }
    throw new IllegalStateException("sandboxd exited before listening, status "
        + p.onExit().join().exitValue());
  }

  @Test
  void jar_withKey_servesAuthenticatedSessionWhoseFilesPersist() throws Exception {
    KeyPair keys = TestTokens.newKeyPair();
    Process p = launch(Map.of("PICOD_AUTH_PUBLIC_KEY", TestTokens.pem(keys.getPublic()),
        "AGENTCUBE_SESSION_ID", "it-session", "TEMPLATE_VAR", "from the pod"));
    int port = port(p);
    TestClient anonymous = new TestClient(port);
    TestClient client = new TestClient(port).token(TestTokens.token(keys.getPrivate(), "it-session"));
    TestClient otherSession = new TestClient(port)
        .token(TestTokens.token(keys.getPrivate(), "other-session"));

    assertThat(anonymous.get("/health").status()).isEqualTo(200);
    assertThat(anonymous.execute(Map.of("command", List.of("true"))).status()).isEqualTo(401);
    assertThat(otherSession.execute(Map.of("command", List.of("true"))).status()).isEqualTo(401);

    assertThat(client.postJson("/api/files", Map.of("path", "job/in.txt",
        "content", Base64.getEncoder().encodeToString("hello".getBytes()))).status()).isEqualTo(200);
    assertThat(client.postJson("/api/files", Map.of("path", "job/run.sh",
        "content", Base64.getEncoder().encodeToString(
            "tr a-z A-Z < in.txt > out.txt\n".getBytes()), "mode", "0755")).status())
        .isEqualTo(200);
    Map<String, Object> run = client.execute(Map.of("command", List.of("./run.sh"),
        "working_dir", "job", "timeout", "30s")).json();
    assertThat(run).containsEntry("exit_code", 0);
    assertThat(client.get("/api/files/job/out.txt").text()).isEqualTo("HELLO");
    // the pod's (the template's) environment reaches commands; sandboxd's own key does not
    assertThat(client.execute(Map.of("command", List.of("bash", "-c",
        "echo \"$TEMPLATE_VAR|${PICOD_AUTH_PUBLIC_KEY-unset}|${AGENTCUBE_SESSION_ID-unset}\""))).json())
        .containsEntry("stdout", "from the pod|unset|unset\n");
    assertThat(Files.readString(workspace.resolve("job/out.txt"))).isEqualTo("HELLO");
  }

  @Test
  void jar_withoutKeyOrNoAuth_refusesToStart() throws Exception {
    Process p = launch(Map.of());

    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(SandboxdMain.EXIT_CONFIG);
    assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void jar_noAuth_servesWithoutToken() throws Exception {
    Process p = launch(Map.of(), "--no-auth");
    TestClient client = new TestClient(port(p));

    assertThat(client.execute(Map.of("command", List.of("echo", "ok"))).json())
        .containsEntry("stdout", "ok\n");
  }

  @Test
  void jar_sigterm_killsRunningCommandTree() throws Exception {
    // Found from outside by a marker in argv, not by a pid the command reports: jailed (the
    // default where bubblewrap works) that pid would be one of its own PID namespace.
    Process p = launch(Map.of(), "--no-auth");
    int port = port(p);
    TestClient client = new TestClient(port);
    String marker = "300." + (100_000_000L + System.nanoTime() % 800_000_000L);
    Thread runner = new Thread(() -> client.execute(Map.of("command",
        List.of("bash", "-c", "touch started; sleep " + marker + "; true"), "timeout", "5m")));
    runner.setDaemon(true);
    runner.start();
    org.awaitility.Awaitility.await().until(() -> Files.exists(workspace.resolve("started"))
        && !Isolation.withArgument(marker).isEmpty());

    p.destroy(); // SIGTERM

    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    org.awaitility.Awaitility.await().until(() -> Isolation.withArgument(marker).isEmpty());
  }
}
