package io.agentcube.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real jails on this machine. Where bubblewrap does not work the tests abort with the reason
 * (and fail when {@code AGENTCUBE_REQUIRE_ISOLATION=1}, as {@code .ci/run} sets).
 */
class JailTest {

  static Jail jail;

  @BeforeAll
  static void probe() {
    jail = Jail.probe(IsolationMode.AUTO);
    if ("1".equals(System.getenv("AGENTCUBE_REQUIRE_ISOLATION"))) {
      assertThat(jail.enabled()).as("isolation required here: " + jail.describe()).isTrue();
    }
    assumeTrue(jail.enabled(), "cannot jail on this machine: " + jail.describe());
  }

  record Run(int exit, String out) {}

  static Run run(JailSpec spec, String script) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(jail.command(spec, List.of("sh", "-c", script)))
        .redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(Jail.baseEnvironment("/workspace"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  JailSpec.Builder workspace(Path dir) throws IOException {
    JailSpec.Builder b = JailSpec.builder().bind(dir, "/workspace", true).workdir("/workspace");
    if (jail.separateUids()) {
      Files.setAttribute(dir, "unix:uid", 231_001);
      Files.setAttribute(dir, "unix:gid", 231_001);
      b.uid(231_001);
    }
    return b;
  }

  @Test
  void writesItsWorkspaceAndNothingElse(@TempDir Path ws, @TempDir Path other) throws Exception {
    Files.writeString(other.resolve("secret.txt"), "other");
    Run r = run(workspace(ws).build(), "echo hi > out.txt && cat out.txt;"
        + " cat " + other + "/secret.txt; touch /usr/x; touch /etc/x; echo tmp > /tmp/t && cat /tmp/t");
    assertThat(Files.readString(ws.resolve("out.txt"))).isEqualTo("hi\n");
    assertThat(r.out()).contains("hi").contains("tmp").doesNotContain("other")
        .contains("No such file").contains("Read-only file system");
    assertThat(other.resolve("x")).doesNotExist();
  }

  @Test
  void seesOnlyItsOwnProcessesAndNoEnvironment() throws Exception {
    Path ws = Files.createTempDirectory("jail-ws");
    Run r = run(workspace(ws).build(),
        "ls /proc | grep -c '^[0-9]'; kill -0 " + ProcessHandle.current().pid() + " && echo SIGNALLED;"
            + " env | sort; ls " + System.getProperty("user.dir"));
    assertThat(r.out()).doesNotContain("SIGNALLED").contains("PATH=/usr/local/bin:/usr/bin:/bin")
        .doesNotContain("JAVA_HOME").doesNotContain("MAVEN");
    // sh, ls/grep and the jail's init: a handful, not the machine's hundreds
    int processes = Integer.parseInt(r.out().lines().findFirst().orElseThrow().strip());
    assertThat(processes).isLessThan(8);
  }

  @Test
  void hasNoNetworkUnlessAllowed() throws Exception {
    Path ws = Files.createTempDirectory("jail-ws");
    try (ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      String probe = "python3 -S -c \"import socket; socket.create_connection(('127.0.0.1', "
          + server.getLocalPort() + "), 2); print('CONNECTED')\"";
      assertThat(run(workspace(ws).build(), probe).out()).doesNotContain("CONNECTED");
      assertThat(run(workspace(ws).network(true).build(), probe).out()).contains("CONNECTED");
    }
  }

  @Test
  void killingTheJailEndsDetachedChildren() throws Exception {
    Path ws = Files.createTempDirectory("jail-ws");
    String marker = "jail-test-" + System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder(jail.command(workspace(ws).build(), List.of("sh", "-c",
        "setsid sh -c 'sleep 300 " + marker + "' >/dev/null 2>&1 & (env -i sleep 301 &) ; echo up; sleep 302")))
        .redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(Jail.baseEnvironment("/workspace"));
    Process p = pb.start();
    assertThat(new String(p.getInputStream().readNBytes(3), StandardCharsets.UTF_8)).isEqualTo("up\n");
    List<ProcessHandle> inside = p.descendants().toList();
    assertThat(inside).isNotEmpty();
    p.destroyForcibly();
    java.util.concurrent.CompletableFuture.allOf(inside.stream().map(ProcessHandle::onExit)
        .toArray(java.util.concurrent.CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    assertThat(inside).noneMatch(ProcessHandle::isAlive);
  }

  @Test
  void limitsApply() throws Exception {
    Path ws = Files.createTempDirectory("jail-ws");
    Limits tight = new Limits(1L << 30, 64, 0, 1 << 20, 64);
    Run r = run(workspace(ws).limits(tight).build(),
        "head -c 2000000 /dev/zero > big; ls -l big | awk '{print $5}'; ulimit -n");
    assertThat(r.out()).contains("1048576").contains("64");
  }

  @Test
  void modesParse() {
    assertThat(IsolationMode.parse("Required")).isEqualTo(IsolationMode.REQUIRED);
    assertThatThrownBy(() -> IsolationMode.parse("maybe")).hasMessageContaining("auto, required, off");
    assertThat(Jail.probe(IsolationMode.OFF).enabled()).isFalse();
    assertThat(Jail.disabled("x").command(JailSpec.builder().build(), List.of("true")))
        .containsExactly("true");
  }

  @Test
  void uidPoolIsBoundedAndReusable() {
    UidPool pool = new UidPool(300_000, 2);
    int a = pool.acquire();
    int b = pool.acquire();
    assertThat(a).isNotEqualTo(b);
    assertThatThrownBy(pool::acquire).hasMessageContaining("in use");
    pool.release(a);
    assertThat(pool.acquire()).isEqualTo(a);
    assertThat(pool.claim(b)).isFalse();
  }

  /** Two hosts on one machine never share uids: the second takes the next free blocks. */
  @Test
  void uidPool_reserve_givesEachPoolItsOwnBlocksUntilClosed(@org.junit.jupiter.api.io.TempDir Path locks) {
    try (UidPool first = UidPool.reserve(700_000, 1500, locks)) {
      UidPool second = UidPool.reserve(700_000, 1500, locks);
      assertThat(first.base()).isEqualTo(700_000);
      assertThat(second.base()).as("past the first pool's two blocks").isEqualTo(702_048);
      second.close();
      try (UidPool third = UidPool.reserve(700_000, 1024, locks)) {
        assertThat(third.base()).as("the block after the first pool's, freed by close")
            .isEqualTo(702_048);
      }
    }
    try (UidPool again = UidPool.reserve(700_000, 1500, locks)) {
      assertThat(again.base()).as("all freed").isEqualTo(700_000);
    }
  }

  /** A freed uid comes back only after every other free one was handed out (round robin). */
  @Test
  void uidPool_freedUidIsReusedLast() {
    UidPool pool = new UidPool(300_000, 3);
    int a = pool.acquire();
    pool.release(a);
    int b = pool.acquire();
    assertThat(b).as("not the uid just freed").isNotEqualTo(a);
    pool.release(b);
    int c = pool.acquire();
    assertThat(c).isNotIn(a, b);
    pool.release(c);
    assertThat(pool.acquire()).as("wrapped around").isEqualTo(a);
  }
}
