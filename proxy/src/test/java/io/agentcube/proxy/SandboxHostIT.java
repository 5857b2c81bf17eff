package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.sandbox.process.ProcessBackend;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sandbox host through the proxy: many sessions on one sandboxd, kept apart under concurrency;
 * a killed host ends its sessions with {@code 410 SANDBOX_LOST} and the next session gets a new
 * host; AgentCube's own Python SDK works unchanged.
 */
class SandboxHostIT {

  private static final Path SANDBOXD_JAR =
      Path.of("..", "sandboxd", "target", "agentcube-sandboxd.jar").toAbsolutePath().normalize();
  private static final String CI = "/v1/namespaces/default/code-interpreters/python/invocations";

  /** Under /tmp (world-traversable, like the default state dir): as root, a uid per sandbox. */
  private Path tmp;
  private ProxyFixture f;

  @BeforeEach
  void start() throws Exception {
    tmp = Files.createTempDirectory(Path.of("/tmp"), "sandbox-host-it",
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x")));
    TestRuntimes.write(tmp.resolve("runtimes"), "python.yaml", TestRuntimes.python(2));
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), true, Map.of(
        "process.sandboxdCommand", List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-jar", SANDBOXD_JAR.toString(), "--host", "127.0.0.1")));
  }

  @AfterEach
  void stop() throws Exception {
    f.close();
    try (var walk = Files.walk(tmp)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private ProcessHandle host() {
    return ((ProcessBackend) f.proxy.backend()).hostProcess();
  }

  private HttpResponse<String> execute(String sessionId, String... argv) throws Exception {
    return f.send("POST", CI + "/api/execute", new JsonObject()
        .put("command", new JsonArray(List.of((Object[]) argv))).put("timeout", "30s").encode(), sessionId);
  }

  private HttpResponse<String> upload(String sessionId, String path, String content) throws Exception {
    return f.send("POST", CI + "/api/files", new JsonObject().put("path", path)
        .put("content", Base64.getEncoder().encodeToString(content.getBytes(StandardCharsets.UTF_8)))
        .encode(), sessionId);
  }

  /** 16 sessions on one host write, run and read the same file names at once, 5 rounds each. */
  @Test
  void concurrentSessions_sameFileNames_stayApart() throws Exception {
    List<String> sessions = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      sessions.add(sessionId(execute(null, "true")));
    }
    assertThat(sessions).doesNotHaveDuplicates();
    long hostPid = host().pid();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<List<String>>> results = new ArrayList<>();
      for (String s : sessions) {
        results.add(pool.submit(() -> {
          List<String> wrong = new ArrayList<>();
          for (int round = 0; round < 5; round++) {
            String mine = s + "/" + round;
            json(upload(s, "same.txt", mine), 200);
            JsonObject ran = json(execute(s, "bash", "-c",
                "cat same.txt; echo \" $(ls | wc -l)\" >> count.txt"), 200);
            if (!ran.getString("stdout").equals(mine)) {
              wrong.add("execute saw " + ran.getString("stdout") + " instead of " + mine);
            }
            String down = f.get(CI + "/api/files/same.txt", s).body();
            if (!down.equals(mine)) {
              wrong.add("download saw " + down + " instead of " + mine);
            }
          }
          return wrong;
        }));
      }
      for (Future<List<String>> r : results) {
        assertThat(r.get(120, TimeUnit.SECONDS)).isEmpty();
      }
    } finally {
      pool.shutdownNow();
    }
    for (String s : sessions) {
      String counts = json(execute(s, "cat", "count.txt"), 200).getString("stdout");
      // Each round lists its own workspace before appending: same.txt, then count.txt as well.
      assertThat(counts.lines()).as("5 rounds of its own, no file of another session")
          .containsExactly(" 1", " 2", " 2", " 2", " 2");
    }
    assertThat(host().pid()).as("one host served them all").isEqualTo(hostPid);
  }

  /** Stopping a session kills what it left running and removes its workspace from the host. */
  @Test
  void deleteSession_removesItsWorkspaceAndProcesses() throws Exception {
    String marker = "86399." + System.nanoTime() % 100_000;
    HttpResponse<String> r = execute(null, "bash", "-c",
        "echo kept > file.txt; setsid sleep " + marker + " > /dev/null 2>&1 < /dev/null & echo started");
    assertThat(json(r, 200).getString("stdout")).isEqualTo("started\n");
    String id = sessionId(r);
    String sandbox = json(f.get("/v1/sessions/" + id, null), 200).getString("sandboxId");
    Path workspaces = tmp.resolve("state").resolve("host").resolve("workspaces");
    try (var dirs = Files.list(workspaces)) {
      assertThat(dirs.map(p -> p.getFileName().toString())).anyMatch(n -> n.contains(sandbox));
    }

    assertThat(f.send("DELETE", "/v1/sessions/" + id, null, null).statusCode()).isIn(200, 204);

    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (var all = ProcessHandle.allProcesses()) {
        return all.noneMatch(h -> h.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false));
      }
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (var dirs = Files.list(workspaces)) {
        return dirs.noneMatch(p -> p.getFileName().toString().contains(sandbox));
      }
    });
    assertThat(json(execute(id, "true"), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
  }

  /** A host killed under its sessions: each ends with 410 SANDBOX_LOST; new sessions get a new host. */
  @Test
  void killedHost_endsItsSessionsWith410_andIsRestarted() throws Exception {
    String a = sessionId(execute(null, "true"));
    String b = sessionId(execute(null, "true"));
    ProcessHandle first = host();
    assertThat(first.destroyForcibly()).isTrue();
    first.onExit().get(10, TimeUnit.SECONDS);

    for (String s : List.of(a, b)) {
      HttpResponse<String> lost = execute(s, "true");
      assertThat(json(lost, 410).getString("code")).isEqualTo("SANDBOX_LOST");
      assertThat(sessionId(lost)).isEqualTo(s);
    }

    HttpResponse<String> fresh = await().atMost(Duration.ofSeconds(60))
        .until(() -> execute(null, "python3", "-c", "print(6*7)"), x -> x.statusCode() == 200);
    assertThat(json(fresh, 200).getString("stdout")).isEqualTo("42\n");
    ProcessHandle second = host();
    assertThat(second.pid()).isNotEqualTo(first.pid());
    assertThat(second.isAlive()).isTrue();
  }

  /**
   * What code run through the proxy sees from inside its jail: its workspace only (not the state
   * directory, the runtimes or another workspace), no process but its own, no network (the
   * proxy's port on 127.0.0.1 unreachable), none of the proxy's environment.
   */
  @Test
  void execution_seesOnlyItsOwnJail() throws Exception {
    String other = sessionId(execute(null, "bash", "-c", "echo theirs > other.txt"));
    String otherSandbox = json(f.get("/v1/sessions/" + other, null), 200).getString("sandboxId");
    Path state = tmp.resolve("state");
    String probe = String.join("\n",
        "import os, socket, json",
        "def reach(port):",
        "    s = socket.socket(); s.settimeout(2)",
        "    try:",
        "        s.connect(('127.0.0.1', port)); return True",
        "    except OSError:",
        "        return False",
        "procs = [p for p in os.listdir('/proc') if p.isdigit()]",
        "print(json.dumps({",
        "  'state': os.path.exists(" + pyString(state.toString()) + "),",
        "  'runtimes': os.path.exists(" + pyString(tmp.resolve("runtimes").toString()) + "),",
        "  'otherWorkspace': os.path.exists(" + pyString(state.resolve("host").resolve("workspaces")
            .resolve(otherSandbox).toString()) + "),",
        "  'procs': len(procs),",
        "  'proxyPort': reach(" + f.proxy.port() + "),",
        "  'env': sorted(os.environ),",
        "  'uid': os.getuid()}))");
    JsonObject ran = json(execute(null, "python3", "-c", probe), 200);
    assertThat(ran.getInteger("exit_code")).as(ran.getString("stderr")).isZero();
    JsonObject seen = new JsonObject(ran.getString("stdout"));
    assertThat(seen.getBoolean("state")).as("the proxy's state directory").isFalse();
    assertThat(seen.getBoolean("runtimes")).as("the runtime files").isFalse();
    assertThat(seen.getBoolean("otherWorkspace")).as("another session's workspace").isFalse();
    assertThat(seen.getInteger("procs")).as("processes visible: its jail's only").isLessThanOrEqualTo(3);
    assertThat(seen.getBoolean("proxyPort")).as("network: the proxy on 127.0.0.1").isFalse();
    assertThat(seen.getJsonArray("env").getList()).as("an explicit environment")
        .doesNotContain("JAVA_HOME", "MAVEN_HOME", "MAVEN_OPTS", "PICOD_AUTH_PUBLIC_KEY", "AGENTCUBE_HOST_TOKEN_KEY", "AGENTCUBE_REQUIRE_ISOLATION")
        .contains("PATH", "HOME");
    if (ProcessHandle.current().info().user().orElse("").equals("root")) {
      assertThat(seen.getInteger("uid")).as("as root: a uid of its own, not root").isNotZero();
    }
  }

  private static String pyString(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  /** AgentCube's Python SDK from PyPI, unchanged, against this proxy and its sandbox host. */
  @Test
  void agentcubeSdk_flowsPassUnchanged() throws Exception {
    String python = sdkPython();
    Path script = Path.of(SandboxHostIT.class.getResource("/sdk_flows.py").toURI());
    Path work = Files.createDirectories(tmp.resolve("sdk"));
    Process p = new ProcessBuilder(python, script.toString(), "http://127.0.0.1:" + f.proxy.port(), work.toString())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("sdk.log").toFile()).start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new TimeoutException("the SDK flows did not finish in 180 s: " + Files.readString(tmp.resolve("sdk.log")));
    }
    String out = Files.readString(tmp.resolve("sdk.log"));
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("SDK-FLOWS-OK");
    String id = out.substring(out.indexOf("SDK-FLOWS-OK") + 13).trim();
    assertThat(json(f.get("/v1/sessions/" + id, null), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
  }

  /** The SDK's python: {@code AGENTCUBE_SDK_PYTHON}, else installed by proxy/src/test/sdk/install.sh. */
  private static String sdkPython() throws Exception {
    String given = System.getenv("AGENTCUBE_SDK_PYTHON");
    if (given != null && !given.isBlank()) {
      return given;
    }
    Path install = Path.of("src", "test", "sdk", "install.sh").toAbsolutePath();
    Process p = new ProcessBuilder(install.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("could not install agentcube-sdk from PyPI with " + install
          + " (set AGENTCUBE_SDK_PYTHON to a python that has it): exit " + p.exitValue());
    }
    return out;
  }
}
