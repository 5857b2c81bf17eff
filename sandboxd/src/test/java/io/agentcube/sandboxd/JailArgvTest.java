package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a jailed command's argv becomes: env in front unless the exec cannot fail (see inJail). */
class JailArgvTest {

  private static final String PATH = "/usr/local/bin:/usr/bin:/bin";

  @Test
  void inJail_systemProgramOnDefaultPath_runsWithoutEnv() {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/true")));
    assertThat(CommandRunner.inJail(List.of("true", "x"), PATH)).containsExactly("true", "x");
  }

  @Test
  void inJail_missingProgram_goesThroughEnvFor127() {
    assertThat(CommandRunner.inJail(List.of("no-such-program-xyz"), PATH))
        .containsExactly("/usr/bin/env", "--", "no-such-program-xyz");
  }

  @Test
  void inJail_programWithPath_goesThroughEnv() {
    assertThat(CommandRunner.inJail(List.of("/usr/bin/true"), PATH))
        .containsExactly("/usr/bin/env", "--", "/usr/bin/true");
    assertThat(CommandRunner.inJail(List.of("./run.sh"), PATH))
        .containsExactly("/usr/bin/env", "--", "./run.sh");
  }

  @Test
  void inJail_workspaceEntryBeforeTheMatch_goesThroughEnv() {
    // /workspace/bin/true would shadow /usr/bin/true inside the jail.
    assertThat(CommandRunner.inJail(List.of("true"), "/workspace/bin:" + PATH))
        .containsExactly("/usr/bin/env", "--", "true");
    assertThat(CommandRunner.inJail(List.of("true"), ":" + PATH))
        .containsExactly("/usr/bin/env", "--", "true");
  }

  @Test
  void inJail_assignmentLikeProgram_isLeftAlone() {
    assertThat(CommandRunner.inJail(List.of("A=b"), PATH)).containsExactly("A=b");
  }

  @Test
  void systemProgram_notExecutableByOthers_isFalse(@TempDir Path dir) throws Exception {
    // Not under /usr: never taken for a system program, whatever its mode.
    Path p = Files.writeString(dir.resolve("prog"), "#!/bin/sh\n");
    p.toFile().setExecutable(true, false);
    assertThat(CommandRunner.systemProgram("prog", dir.toString())).isFalse();
  }
}
