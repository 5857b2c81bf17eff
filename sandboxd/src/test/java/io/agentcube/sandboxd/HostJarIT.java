package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The real jar as a host process, for what only a process shows: dying with its launcher
 * ({@code --exit-on-stdin-eof}), start-up on a directory a previous host left, and refusing a
 * directory that is not a host's. Isolation auto: these hold with or without the jail.
 */
class HostJarIT {

  final List<HostProcess> hosts = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (HostProcess h : hosts) {
      h.close();
    }
  }

  static String nonce() {
    return Long.toString(100_000_000L + ThreadLocalRandom.current().nextLong(800_000_000L));
  }

  @Test
  void host_stdinReachesEof_exitsKillingCommandsAndRemovingWorkspaces() throws Exception {
    HostProcess host = HostProcess.start("--exit-on-stdin-eof");
    hosts.add(host);
    TestClient client = host.sandbox("eof", false);
    String n = nonce();
    Map<String, Object> req = cmd("bash", "-c", "sleep 600." + n + "; true");
    req.put("timeout", "10m");
    CompletableFuture.runAsync(() -> client.execute(req));
    await().until(() -> !Isolation.withArgument("600." + n).isEmpty());
    Path workspace = host.workspaces.resolve("eof");
    assertThat(workspace).isDirectory();

    host.process.getOutputStream().close(); // the launcher is gone

    assertThat(host.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(host.process.exitValue()).isZero();
    assertThat(workspace).doesNotExist();
    await().atMost(Duration.ofSeconds(5))
        .until(() -> Isolation.withArgument("600." + n).isEmpty());
  }

  @Test
  void host_startedWhereAPreviousHostWasKilled_removesItsWorkspaces() throws Exception {
    Path base = HostProcess.newBase();
    HostProcess first = HostProcess.startIn(base);
    TestClient client = first.sandbox("left-over", false);
    assertThat(client.execute(cmd("bash", "-c", "echo data > kept.txt")).json())
        .containsEntry("exit_code", 0);
    first.process.destroyForcibly(); // no clean-up: SIGKILL
    assertThat(first.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(base.resolve("workspaces/left-over/kept.txt")).exists();

    HostProcess second = HostProcess.startIn(base);
    hosts.add(second);

    assertThat(base.resolve("workspaces/left-over")).doesNotExist();
    assertThat(second.admin().get("/host/v1/sandboxes").json().get("sandboxes"))
        .isEqualTo(List.of());
    assertThat(second.sandbox("left-over", false).execute(cmd("ls", "-A")).json())
        .containsEntry("stdout", "");
  }

  @Test
  void host_workspacesDirectoryNotAHosts_refusesToStartAndTouchesNothing() throws Exception {
    Path base = HostProcess.newBase();
    Path workspaces = Files.createDirectories(base.resolve("workspaces"));
    Path precious = Files.createDirectories(workspaces.resolve("alice"));
    Files.writeString(precious.resolve("thesis.tex"), "years of work");

    Process p = HostProcess.command(workspaces)
        .redirectError(ProcessBuilder.Redirect.PIPE).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(SandboxdMain.EXIT_CONFIG);
    assertThat(err).contains("--workspaces").contains("not empty");
    assertThat(Files.readString(precious.resolve("thesis.tex"))).isEqualTo("years of work");
    Files.delete(precious.resolve("thesis.tex"));
    Files.delete(precious);
    Files.delete(workspaces);
    Files.delete(base);
  }
}
