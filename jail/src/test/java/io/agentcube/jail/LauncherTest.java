package io.agentcube.jail;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * agentcube-jail-exec, the hand-written launcher in front of bwrap: what it sets, and one test
 * per way to make it do something else. The module's build compiles it (gcc): a build without
 * it fails here instead of quietly testing the setpriv fallback.
 */
class LauncherTest {

  static String exe;

  @BeforeAll
  static void extract() {
    exe = Launcher.extract();
    assertThat(exe).as("agentcube-jail-exec: " + Launcher.missingReason()).isNotNull();
  }

  record Run(int exit, String out) {}

  static Run run(String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of(exe));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  @Test
  void setsEveryLimitAsSoftAndHard() throws Exception {
    Run r = run("--core=0", "--as=4294967296", "--cpu=60", "--fsize=1048576", "--nofile=64",
        "--", "/bin/cat", "/proc/self/limits");

    assertThat(r.exit()).isZero();
    assertThat(r.out()).containsPattern("Max cpu time\\s+60\\s+60")
        .containsPattern("Max file size\\s+1048576\\s+1048576")
        .containsPattern("Max core file size\\s+0\\s+0")
        .containsPattern("Max open files\\s+64\\s+64")
        .containsPattern("Max address space\\s+4294967296\\s+4294967296");
  }

  /**
   * A proxy started under {@code ulimit -n 1024} (FloodIT) could start no sandbox: their limit of
   * 4096 is above its own hard limit, which only CAP_SYS_RESOURCE may raise (this machine's root
   * lacks it). The sandbox gets the lower hard limit instead of no start.
   */
  @Test
  void limitAboveOwnHardLimit_getsTheHardLimit() throws Exception {
    Process p = new ProcessBuilder("prlimit", "--nofile=512:512", exe, "--nofile=4096", "--",
        "/bin/cat", "/proc/self/limits").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).containsPattern("Max open files\\s+(512|4096)\\s+(512|4096)");
  }

  @Test
  void asRoot_switchesToTheUidWithNoGroupsAndNoCapabilities() throws Exception {
    assertThat(System.getProperty("user.name")).as("this test needs root (as .ci/run has)")
        .isEqualTo("root");

    Run r = run("--uid=231007", "--nproc=50", "--", "/bin/cat", "/proc/self/status");

    assertThat(r.exit()).isZero();
    assertThat(r.out()).containsPattern("Uid:\\s+231007\\s+231007\\s+231007\\s+231007")
        .containsPattern("Gid:\\s+231007\\s+231007\\s+231007\\s+231007")
        .containsPattern("Groups:\\s*\\n")
        .contains("CapInh:\t0000000000000000").contains("CapPrm:\t0000000000000000")
        .contains("CapEff:\t0000000000000000").contains("CapAmb:\t0000000000000000");
  }

  @Test
  void rootUid_refused() throws Exception {
    assertRefused(run("--uid=0", "--", "/usr/bin/id"), "refusing uid");
  }

  @Test
  void minusOneUid_refused() throws Exception {
    assertRefused(run("--uid=4294967295", "--", "/usr/bin/id"), "refusing uid");
    assertRefused(run("--uid=-1", "--", "/usr/bin/id"), "not a number");
  }

  @Test
  void uidThatWrapsToRoot_refused() throws Exception {
    assertRefused(run("--uid=4294967296", "--", "/usr/bin/id"), "refusing uid");
  }

  @Test
  void numbersThatAreNotPlainDecimal_refused() throws Exception {
    for (String bad : List.of("--as=", "--as=+5", "--as= 5", "--as=5k", "--as=0x10", "--cpu=1e3",
        "--nofile=-1")) {
      assertRefused(run(bad, "--", "/bin/true"), "not a number");
    }
  }

  @Test
  void overflowingNumber_refused() throws Exception {
    assertRefused(run("--as=18446744073709551616", "--", "/bin/true"), "too large");
    assertRefused(run("--as=999999999999999999999", "--", "/bin/true"), "not a number");
  }

  @Test
  void unknownOrMisspelledOption_refused() throws Exception {
    assertRefused(run("--uidx=5", "--", "/bin/true"), "unknown option");
    assertRefused(run("--AS=5", "--", "/bin/true"), "unknown option");
    assertRefused(run("/bin/true"), "unknown option");
  }

  @Test
  void relativeProgram_refusedWithoutPathSearch() throws Exception {
    assertRefused(run("--", "true"), "absolute path");
  }

  @Test
  void missingProgram_refused() throws Exception {
    assertRefused(run("--core=0"), "usage");
    assertRefused(run("--core=0", "--"), "usage");
  }

  @Test
  void programThatCannotRun_is127Or126LikeAShell(@TempDir Path dir) throws Exception {
    Path notExecutable = Files.writeString(dir.resolve("script"), "#!/bin/sh\n");
    assertThat(run("--", "/nonexistent/program").exit()).isEqualTo(127);
    assertThat(run("--", notExecutable.toString()).exit()).isEqualTo(126);
  }

  @Test
  void argumentsAfterTheSeparator_passUnchanged() throws Exception {
    Run r = run("--", "/bin/echo", "--uid=0", "--", "a b");

    assertThat(r.exit()).isZero();
    assertThat(r.out()).isEqualTo("--uid=0 -- a b\n");
  }

  private static void assertRefused(Run r, String why) {
    assertThat(r.exit()).as(r.out()).isEqualTo(125);
    assertThat(r.out()).contains(why);
  }
}
