package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentcube.jail.IsolationMode;
import io.agentcube.jail.Jail;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a jailed agent process can reach, asked from inside by a probe agent, through the proxy.
 * Runs where bubblewrap works; elsewhere it aborts naming why, and fails under
 * {@code AGENTCUBE_REQUIRE_ISOLATION=1} (.ci/run).
 */
class IsolationProcessIT {

  static Path tmp;
  static ProxyFixture f;

  @BeforeAll
  static void start() throws Exception {
    Jail jail = Jail.probe(IsolationMode.AUTO);
    if ("1".equals(System.getenv("AGENTCUBE_REQUIRE_ISOLATION"))) {
      assertThat(jail.enabled()).as("isolation required here: " + jail.describe()).isTrue();
    }
    assumeTrue(jail.enabled(), "cannot jail on this machine: " + jail.describe());
    // Under /tmp (world-traversable), so that as root each sandbox gets a uid of its own.
    tmp = Files.createTempDirectory(Path.of("/tmp"), "isolation-it",
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x")));
    Path agent = Path.of("src", "test", "resources", "probe_agent.py").toAbsolutePath();
    Path runtimes = Files.createDirectories(tmp.resolve("runtimes"));
    Files.copy(agent, runtimes.resolve("probe_agent.py"));
    TestRuntimes.write(runtimes, "probe.yaml", TestRuntimes.agent("probe", 0, "2m", "8h",
        List.of("python3", "-S", "-u", runtimes.resolve("probe_agent.py").toString())));
    f = ProxyFixture.start(runtimes, tmp.resolve("state"), true, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    if (f != null) {
      f.close();
    }
    if (tmp != null) {
      try (var walk = Files.walk(tmp)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private String newSession() throws Exception {
    return sessionId(f.get(ProxyFixture.invoke("probe", "/"), null));
  }

  private JsonObject ask(String session, String pathAndQuery) throws Exception {
    return json(f.get(ProxyFixture.invoke("probe", pathAndQuery), session), 200);
  }

  private static String q(Object v) {
    return URLEncoder.encode(String.valueOf(v), StandardCharsets.UTF_8);
  }

  /** Readiness says how sandboxes are isolated; with {@code isolation.mode: off}, loudly that they are not. */
  @Test
  void health_saysWhetherSandboxesAreJailed() throws Exception {
    JsonObject on = json(f.get("/health/ready", null), 200).getJsonObject("isolation");
    assertThat(on.getBoolean("isolated")).isTrue();
    assertThat(on.getString("detail")).startsWith("bwrap ");

    ProxyFixture off = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state-off"), true,
        Map.of("isolation.mode", "off"));
    try {
      JsonObject none = json(off.get("/health/ready", null), 200).getJsonObject("isolation");
      assertThat(none.getBoolean("isolated")).isFalse();
      assertThat(none.getString("detail")).startsWith("off");
    } finally {
      off.close();
    }
  }

  /**
   * As root every sandbox has a uid of its own, and its program is found where the jail looks
   * ({@code python3} is the system's even when this JVM's PATH starts with a pyenv under a
   * {@code 0700} home).
   */
  @Test
  void asRoot_eachSandboxRunsAsAUidOfItsOwn() throws Exception {
    assumeTrue(ProcessHandle.current().info().user().orElse("").equals("root"),
        "not root here: sandboxes share this user's uid (docs/isolation.md)");
    int a = ask(newSession(), "/uid").getInteger("uid");
    int b = ask(newSession(), "/uid").getInteger("uid");
    assertThat(a).isNotZero();
    assertThat(b).isNotZero().isNotEqualTo(a);
  }

  /** A program sandbox uids cannot reach fails the start with why, not bwrap's "Permission denied". */
  @Test
  void asRoot_programUnderAClosedDirectory_failsNamingIt() throws Exception {
    assumeTrue(ProcessHandle.current().info().user().orElse("").equals("root"),
        "not root here: no uid per sandbox, nothing to reach");
    Path closed = Files.createDirectories(tmp.resolve("closed").resolve("bin"));
    Files.setPosixFilePermissions(closed.getParent(),
        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    Path program = closed.resolve("agent");
    Files.writeString(program, "#!/bin/sh\nexec python3 -S -u " + tmp.resolve("runtimes").resolve("probe_agent.py") + "\n");
    Files.setPosixFilePermissions(program, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    TestRuntimes.write(tmp.resolve("runtimes"), "closed.yaml", TestRuntimes.agent("closed", 0, "2m", "8h",
        List.of(program.toString())));
    JsonObject err = org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
        .until(() -> new JsonObject(f.get(ProxyFixture.invoke("closed", "/"), null).body()),
            j -> !"RUNTIME_NOT_FOUND".equals(j.getString("code")));
    assertThat(err.getString("code")).isEqualTo("SANDBOX_UNREACHABLE");
    assertThat(err.getString("error")).contains("is not reachable by sandbox uids")
        .contains(closed.getParent().toString() + " is not traversable by others");
  }

  @Test
  void anotherSandboxsDirectory_isNeitherReadableNorWritable() throws Exception {
    String a = newSession();
    String b = newSession();
    String dirB = ask(b, "/env?name=AGENTCUBE_SANDBOX_DIR").getString("value");
    assertThat(ask(b, "/write?path=" + q(dirB + "/mine.txt")).getBoolean("ok")).isTrue();
    assertThat(ask(a, "/read?path=" + q(dirB + "/mine.txt")).getBoolean("ok")).isFalse();
    assertThat(ask(a, "/write?path=" + q(dirB + "/theirs.txt")).getBoolean("ok")).isFalse();
    assertThat(Files.exists(Path.of(dirB, "theirs.txt"))).isFalse();
  }

  @Test
  void stateDirectoryAndSigningKey_areInvisible() throws Exception {
    String a = newSession();
    Path key = tmp.resolve("state").resolve("picod-signing-key.pem");
    JsonObject read = ask(a, "/read?path=" + q(key));
    assertThat(read.getBoolean("ok")).as(read.encode()).isFalse();
    assertThat(read.getString("error")).contains("No such file");
    // Its own directory is bound at its real path; the marker and log beside it are not there.
    Path own = Path.of(ask(a, "/env?name=AGENTCUBE_SANDBOX_DIR").getString("value"));
    assertThat(ask(a, "/read?path=" + q(own.resolveSibling(".agentcube-sandbox"))).getString("error"))
        .contains("No such file");
    assertThat(ask(a, "/read?path=" + q(own.resolveSibling("sandbox.log"))).getString("error"))
        .contains("No such file");
  }

  @Test
  void proxyProcessAndEnvironment_areInvisible() throws Exception {
    String a = newSession();
    long proxyPid = ProcessHandle.current().pid();
    assertThat(ask(a, "/signal?pid=" + proxyPid).getBoolean("ok")).isFalse();
    assertThat(ask(a, "/procs").getInteger("count")).as("only its own processes").isLessThan(5);
    String proxyOnly = System.getenv().keySet().stream()
        .filter(k -> !List.of("PATH", "HOME", "LANG", "TMPDIR", "PORT").contains(k))
        .filter(k -> !k.startsWith("AGENTCUBE_")).findFirst().orElseThrow();
    assertThat(ask(a, "/env?name=" + q(proxyOnly)).getString("value"))
        .as("the proxy's %s", proxyOnly).isNull();
    assertThat(ask(a, "/env?name=PORT").getString("value")).isNotNull();
  }
}
