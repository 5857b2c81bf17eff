package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the jail guarantees a host's sandboxes, checked against the real jar run as a host with
 * {@code --isolation required}, from inside (what a command can do) and from outside (which
 * processes are left, as {@code /proc} sees them). Where bubblewrap does not work the suite aborts
 * naming why, or fails under {@code AGENTCUBE_REQUIRE_ISOLATION=1}.
 */
class HostIsolationIT {

  static HostProcess host;

  @BeforeAll
  static void start() throws Exception {
    Isolation.requireJail();
    host = HostProcess.start("--isolation", "required");
  }

  @AfterAll
  static void stop() throws Exception {
    if (host != null) {
      host.close();
    }
  }

  static String id(String prefix) {
    return prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
  }

  /** A number unlikely to appear in any other command line: a marker for `sleep`. */
  static String nonce() {
    return Long.toString(100_000_000L + ThreadLocalRandom.current().nextLong(800_000_000L));
  }

  static Map<String, Object> sh(String script) {
    return cmd("bash", "-c", script);
  }

  static Map<String, Object> run(TestClient client, String script) {
    TestClient.Response r = client.execute(sh(script));
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json();
  }

  @Test
  void execute_otherWorkspace_unreachableByRelativeAbsoluteOrProcPath() throws Exception {
    String a = id("iso-a");
    String b = id("iso-b");
    TestClient mine = host.sandbox(a, false);
    TestClient theirs = host.sandbox(b, false);
    assertThat(run(theirs, "echo b-secret > secret.txt; echo $$")).containsEntry("exit_code", 0);
    Path other = host.workspaces.resolve(b).toRealPath();

    Map<String, Object> read = run(mine, String.join("; ",
        "cat ../" + b + "/secret.txt",
        "cat " + other + "/secret.txt",
        "cat /proc/1/root" + other + "/secret.txt",
        "cat /proc/*/root/workspace/../" + b + "/secret.txt",
        "grep -rls b-secret / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr",
        "echo done"));
    Map<String, Object> write = run(mine, String.join("; ",
        "echo pwn > ../" + b + "/pwn.txt",
        "echo pwn > " + other + "/pwn.txt",
        "mkdir -p " + other,
        "echo done"));

    assertThat((String) read.get("stdout")).doesNotContain("b-secret").endsWith("done\n");
    assertThat((String) write.get("stdout")).isEqualTo("done\n");
    try (var entries = Files.list(other)) {
      assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("secret.txt");
    }
    assertThat(Files.readString(other.resolve("secret.txt"))).isEqualTo("b-secret\n");
  }

  @Test
  void execute_proxyFilesAndWorkspacesRoot_doNotExistInside() throws Exception {
    TestClient client = host.sandbox(id("paths"), false);
    List<String> hostPaths = List.of(host.workspaces.toRealPath().toString(),
        host.base.toString(), "/work", SandboxdJarIT.JAR.toAbsolutePath().toString(),
        "/root", "/home", "/var/lib", Path.of("").toAbsolutePath().toString());
    StringBuilder script = new StringBuilder();
    for (String p : hostPaths) {
      script.append("test -e '").append(p).append("' && echo \"visible: ").append(p)
          .append("\"; ");
    }
    script.append("pwd; ls /");

    Map<String, Object> r = run(client, script.toString());

    String out = (String) r.get("stdout");
    assertThat(out).doesNotContain("visible:");
    assertThat(out).startsWith("/workspace\n");
    List<String> root = List.of(out.substring(out.indexOf('\n') + 1).strip().split("\n"));
    assertThat(root).doesNotContain("work", "root", "home", "srv", "opt", "mnt", "media")
        .contains("workspace", "usr", "tmp", "proc");
  }

  @Test
  void execute_processes_onlyItsOwnVisibleAndNothingOutsideSignalable() {
    TestClient client = host.sandbox(id("procs"), false);
    long sandboxd = host.process.pid();

    Map<String, Object> r = run(client, "ls /proc | grep -E '^[0-9]+$' | wc -l;"
        + " ps -e -o comm= | sort -u | tr '\\n' ' '; echo;"
        + " kill -9 " + sandboxd + " 2>/dev/null && echo killed-sandboxd;"
        + " kill -9 -1 2>/dev/null; echo after");

    String[] lines = ((String) r.get("stdout")).split("\n");
    assertThat(Integer.parseInt(lines[0].strip())).as("pids visible").isLessThanOrEqualTo(6);
    assertThat(lines[1]).doesNotContain("java", "sandboxd", "systemd", "init ");
    assertThat((String) r.get("stdout")).doesNotContain("killed-sandboxd");
    assertThat(host.process.isAlive()).isTrue();
    assertThat(new TestClient(host.port).get("/health").status()).isEqualTo(200);
  }

  @Test
  void execute_network_offByDefault_onWhenCreatedWithNetwork() {
    TestClient offline = host.sandbox(id("net-off"), false);
    TestClient online = host.sandbox(id("net-on"), true);
    String probe = "curl -s -m 5 http://127.0.0.1:" + host.port + "/health; echo \" exit=$?\"";

    String off = (String) run(offline, probe).get("stdout");
    String on = (String) run(online, probe).get("stdout");

    assertThat(off).doesNotContain("\"status\"").doesNotContain("exit=0");
    assertThat(on).contains("\"status\":\"ok\"").contains("exit=0");
  }

  @Test
  void execute_timeout_leavesNoProcessBehind() throws Exception {
    String sid = id("timeout");
    TestClient client = host.sandbox(sid, false);
    int uid = host.uid(sid);
    String n = nonce();
    // A daemon (setsid), a double fork whose parent exits (re-parented), an env -i child that
    // carries no marker variable, and a foreground sleep the timeout interrupts.
    Map<String, Object> req = sh("setsid sleep 1001." + n + " >/dev/null 2>&1 < /dev/null &"
        + " (sleep 1002." + n + " >/dev/null 2>&1 &) ;"
        + " env -i /usr/bin/sleep 1003." + n + " >/dev/null 2>&1 &"
        + " sleep 1004." + n);
    req.put("timeout", "2s");
    CompletableFuture<TestClient.Response> r = CompletableFuture.supplyAsync(() ->
        client.execute(req));
    await().until(() -> Isolation.withArgument(n).size() >= 4 || r.isDone());
    assertThat(Isolation.withArgument(n)).as("started").hasSizeGreaterThanOrEqualTo(4);
    assertThat(Isolation.ofUid(uid)).as("processes of the sandbox uid while running").isNotEmpty();

    Map<String, Object> body = r.get().json();

    assertThat(body).containsEntry("exit_code", 124);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(Isolation.withArgument(n)).as("left after the timeout").isEmpty();
      assertThat(Isolation.ofUid(uid)).as("processes of uid %d", uid).isEmpty();
    });
  }

  @Test
  void execute_normalExit_backgroundProcessesDoNotOutliveIt() throws Exception {
    String sid = id("bg");
    TestClient client = host.sandbox(sid, false);
    int uid = host.uid(sid);
    String n = nonce();

    Map<String, Object> body = run(client, "setsid sleep 1001." + n + " >/dev/null 2>&1 &"
        + " (env -i /usr/bin/sleep 1002." + n + " >/dev/null 2>&1 &) ; echo started");

    assertThat(body).containsEntry("exit_code", 0).containsEntry("stdout", "started\n");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(Isolation.withArgument(n)).isEmpty();
      assertThat(Isolation.ofUid(uid)).isEmpty();
    });
  }

  @Test
  void delete_sandboxWithDetachedProcesses_leavesNothingOfItsUid() throws Exception {
    String sid = id("del");
    TestClient client = host.sandbox(sid, false);
    int uid = host.uid(sid);
    String n = nonce();
    Map<String, Object> req = sh("setsid sleep 1001." + n + " >/dev/null 2>&1 < /dev/null &"
        + " (env -i /usr/bin/sleep 1002." + n + " >/dev/null 2>&1 &) ; sleep 1003." + n);
    req.put("timeout", "5m");
    CompletableFuture<TestClient.Response> running =
        CompletableFuture.supplyAsync(() -> client.execute(req));
    await().until(() -> Isolation.withArgument(n).size() >= 3);

    TestClient.Response deleted = host.admin().delete("/host/v1/sandboxes/" + sid);

    assertThat(deleted.status()).isEqualTo(204);
    assertThat(host.workspaces.resolve(sid)).doesNotExist();
    assertThat(running.get().json()).containsEntry("exit_code", 137);
    await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
      assertThat(Isolation.withArgument(n)).isEmpty();
      assertThat(Isolation.ofUid(uid)).isEmpty();
    });
  }

  @Test
  void execute_daemonEnvironment_invisible() {
    TestClient client = host.sandbox(id("env"), false);

    Map<String, Object> r = run(client, "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n';"
        + " echo end");

    String out = (String) r.get("stdout");
    assertThat(out).endsWith("end\n").contains("HOME=/workspace").contains("PATH=");
    assertThat(out).doesNotContain("PICOD_AUTH_PUBLIC_KEY").doesNotContain("BEGIN PUBLIC KEY")
        .doesNotContain(HostProcess.CANARY).doesNotContain(HostProcess.CANARY_VALUE)
        .doesNotContain("SANDBOXD_TEST_CANARY");
  }

  @Test
  void files_uploadedFilesBelongToTheSandboxAndItsCommandsMayChangeThem() throws Exception {
    String sid = id("owner");
    TestClient client = host.sandbox(sid, false);
    int uid = host.uid(sid);
    Map<String, Object> upload = Map.of("path", "up/deeper/f.txt",
        "content", Base64.getEncoder().encodeToString("one\n".getBytes()), "mode", "0644");
    assertThat(client.postJson("/api/files", upload).status()).isEqualTo(200);

    Map<String, Object> r = run(client,
        "echo two >> up/deeper/f.txt && mkdir up/deeper/sub && rm -r up/deeper/sub && id -u");

    assertThat(uid).isGreaterThanOrEqualTo(HostProcess.UID_BASE);
    assertThat(r).containsEntry("exit_code", 0).containsEntry("stdout", uid + "\n");
    Path ws = host.workspaces.resolve(sid);
    for (Path p : List.of(ws, ws.resolve("up"), ws.resolve("up/deeper"), ws.resolve("up/deeper/f.txt"))) {
      assertThat(Files.getAttribute(p, "unix:uid")).as(p.toString()).isEqualTo(uid);
      assertThat(Files.getAttribute(p, "unix:gid")).as(p.toString()).isEqualTo(uid);
    }
    assertThat(client.get("/api/files/up/deeper/f.txt").text()).isEqualTo("one\ntwo\n");
    assertThat(Files.getPosixFilePermissions(host.workspaces))
        .as("workspaces root: passable, not listable")
        .containsExactlyInAnyOrderElementsOf(java.nio.file.attribute.PosixFilePermissions
            .fromString("rwx--x--x"));
  }

  @Test
  void execute_missingOrNonExecutableProgram_keepsShellExitCodes() {
    TestClient client = host.sandbox(id("codes"), false);
    assertThat(client.postJson("/api/files", Map.of("path", "plain.txt", "content", "",
        "mode", "0644")).status()).isEqualTo(200);

    Map<String, Object> missing = client.execute(cmd("no-such-program-xyz")).json();
    Map<String, Object> notExecutable = client.execute(cmd("./plain.txt")).json();
    Map<String, Object> signalled = client.execute(cmd("bash", "-c", "kill -9 $$")).json();

    assertThat(missing).containsEntry("exit_code", 127);
    assertThat((String) missing.get("stderr")).contains("no-such-program-xyz");
    assertThat(notExecutable).containsEntry("exit_code", 126);
    assertThat(signalled).containsEntry("exit_code", 137);
  }
}
