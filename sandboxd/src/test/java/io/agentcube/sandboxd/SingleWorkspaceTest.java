package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which of a single-mode daemon's variables its commands get. */
class SingleWorkspaceTest {

  static final Map<String, String> DAEMON = Map.of("TEMPLATE_VAR", "v", "PATH", "/opt/x:/usr/bin",
      "HOME", "/root", "TMPDIR", "/var/tmp", "PICOD_AUTH_PUBLIC_KEY", "key",
      "AGENTCUBE_SESSION_ID", "s", "PORT", "8080", "SANDBOXD_WORKSPACE", "/w",
      "AGENTCUBE_RUNTIME_VERSION", "v2");

  @Test
  void open_unjailed_passesAllButSandboxdsOwn(@TempDir Path ws) throws Exception {
    Workspace w = SingleWorkspace.open(new SandboxdOptions().workspace(ws), DAEMON, false)
        .workspace();

    assertThat(w.env()).containsOnlyKeys("TEMPLATE_VAR", "PATH", "HOME", "TMPDIR",
        "AGENTCUBE_RUNTIME_VERSION");
  }

  @Test
  void open_jailed_alsoKeepsTheJailsHomeAndTmpdir(@TempDir Path ws) throws Exception {
    Workspace w = SingleWorkspace.open(new SandboxdOptions().workspace(ws), DAEMON, true)
        .workspace();

    assertThat(w.env()).containsOnlyKeys("TEMPLATE_VAR", "PATH", "AGENTCUBE_RUNTIME_VERSION");
  }
}
