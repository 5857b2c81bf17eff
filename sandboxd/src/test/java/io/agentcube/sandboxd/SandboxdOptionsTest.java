package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.jail.IsolationMode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SandboxdOptionsTest {

  @Test
  void parse_defaults() {
    SandboxdOptions o = SandboxdOptions.parse(new String[0], Map.of());

    assertThat(o.port()).isEqualTo(8080);
    assertThat(o.host()).isEqualTo("0.0.0.0");
    assertThat(o.workspace()).isEqualTo(Path.of("").toAbsolutePath());
    assertThat(o.noAuth()).isFalse();
    assertThat(o.maxOutputBytes()).isEqualTo(1 << 20);
    assertThat(o.maxBodyBytes()).isEqualTo(32 << 20);
    assertThat(o.defaultTimeout()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void parse_envThenFlagsWin() {
    Map<String, String> env = Map.of("PORT", "9000", "SANDBOXD_HOST", "10.0.0.1",
        "SANDBOXD_MAX_OUTPUT_BYTES", "100", "PICOD_AUTH_PUBLIC_KEY", "pem",
        "AGENTCUBE_SESSION_ID", " s-1 ");

    SandboxdOptions fromEnv = SandboxdOptions.parse(new String[0], env);
    SandboxdOptions flags = SandboxdOptions.parse(
        new String[] {"--port", "7000", "-host=127.0.0.1", "--workspace", "/tmp/x", "--no-auth",
            "--max-body-bytes=5", "--default-timeout", "2m"}, env);

    assertThat(fromEnv.port()).isEqualTo(9000);
    assertThat(fromEnv.host()).isEqualTo("10.0.0.1");
    assertThat(fromEnv.maxOutputBytes()).isEqualTo(100);
    assertThat(fromEnv.publicKeyPem()).isEqualTo("pem");
    assertThat(fromEnv.sessionId()).isEqualTo("s-1");
    assertThat(flags.port()).isEqualTo(7000);
    assertThat(flags.host()).isEqualTo("127.0.0.1");
    assertThat(flags.workspace()).isEqualTo(Path.of("/tmp/x"));
    assertThat(flags.noAuth()).isTrue();
    assertThat(flags.maxBodyBytes()).isEqualTo(5);
    assertThat(flags.defaultTimeout()).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void parse_badValues_nameTheSetting() {
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--port", "http"}, Map.of()))
        .hasMessageContaining("--port");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[0], Map.of("PORT", "70000")))
        .hasMessageContaining("PORT").hasMessageContaining("70000");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--frobnicate"}, Map.of()))
        .hasMessageContaining("--frobnicate");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--port"}, Map.of()))
        .hasMessageContaining("needs a value");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--default-timeout", "soon"},
        Map.of())).hasMessageContaining("--default-timeout");
  }

  @Test
  void parse_hostModeFlagsAndEnvironment() {
    Map<String, String> env = Map.of("SANDBOXD_MODE", "host", "SANDBOXD_WORKSPACES", "/srv/ws",
        "SANDBOXD_MAX_SANDBOXES", "10", "SANDBOXD_ISOLATION", "required",
        "SANDBOXD_EXIT_ON_STDIN_EOF", "true", "SANDBOXD_MAX_EXECUTIONS_PER_SANDBOX", "2",
        "SANDBOXD_UID_BASE", "300000");

    SandboxdOptions fromEnv = SandboxdOptions.parse(new String[0], env);
    SandboxdOptions flags = SandboxdOptions.parse(new String[] {"--mode", "host",
        "--workspaces=/var/ws", "--max-sandboxes", "7", "--exit-on-stdin-eof",
        "--isolation", "off", "--max-executions", "12"}, Map.of());
    SandboxdOptions defaults = SandboxdOptions.parse(new String[0], Map.of());

    assertThat(fromEnv.mode()).isEqualTo(SandboxdOptions.Mode.HOST);
    assertThat(fromEnv.workspaces()).isEqualTo(Path.of("/srv/ws"));
    assertThat(fromEnv.maxSandboxes()).isEqualTo(10);
    assertThat(fromEnv.isolation()).isEqualTo(IsolationMode.REQUIRED);
    assertThat(fromEnv.exitOnStdinEof()).isTrue();
    assertThat(fromEnv.maxExecutionsPerSandbox()).isEqualTo(2);
    assertThat(fromEnv.uidBase()).isEqualTo(300_000);
    assertThat(defaults.uidBase()).isEqualTo(200_000);
    assertThat(flags.workspaces()).isEqualTo(Path.of("/var/ws"));
    assertThat(flags.maxSandboxes()).isEqualTo(7);
    assertThat(flags.exitOnStdinEof()).isTrue();
    assertThat(flags.isolation()).isEqualTo(IsolationMode.OFF);
    assertThat(flags.maxExecutionsPerSandbox()).isEqualTo(8); // default, below --max-executions
    assertThat(defaults.mode()).isEqualTo(SandboxdOptions.Mode.SINGLE);
    assertThat(defaults.maxSandboxes()).isEqualTo(4096);
    assertThat(defaults.isolation()).isEqualTo(IsolationMode.AUTO);
    assertThat(defaults.exitOnStdinEof()).isFalse();
    assertThat(defaults.maxExecutionsPerSandbox()).isEqualTo(defaults.maxExecutions());
  }

  @Test
  void validate_hostModeMisconfigurations_nameTheSetting() {
    Map<String, String> key = Map.of("PICOD_AUTH_PUBLIC_KEY", "pem");

    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--mode", "host"}, key)
        .validate()).hasMessageContaining("--workspaces");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--mode", "host",
        "--workspaces", "/x", "--workspace", "/y"}, key).validate())
        .hasMessageContaining("--workspace ");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--mode", "host",
        "--workspaces", "/x", "--no-auth"}, Map.of()).validate())
        .hasMessageContaining("--no-auth");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--workspaces", "/x"}, key)
        .validate()).hasMessageContaining("--mode host");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--mode", "host",
        "--workspaces", "/x", "--max-executions", "2", "--max-executions-per-sandbox", "3"}, key)
        .validate()).hasMessageContaining("--max-executions-per-sandbox");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--mode", "host",
        "--workspaces", "/tmp/ws", "--read-only", "/tmp"}, key).validate())
        .hasMessageContaining("--read-only");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--mode", "pod"}, key))
        .hasMessageContaining("--mode");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--isolation", "maybe"}, key))
        .hasMessageContaining("--isolation");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[0],
        Map.of("SANDBOXD_EXIT_ON_STDIN_EOF", "sometimes"))).hasMessageContaining("SANDBOXD_EXIT_ON_STDIN_EOF");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--max-sandboxes", "0"}, key))
        .hasMessageContaining("--max-sandboxes");
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[] {"--uid-base", "0"}, key))
        .hasMessageContaining("--uid-base");
  }

  @Test
  void validate_noKeyWithoutNoAuth_refuses() {
    assertThatThrownBy(() -> SandboxdOptions.parse(new String[0], Map.of()).validate())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("PICOD_AUTH_PUBLIC_KEY").hasMessageContaining("--no-auth");
    SandboxdOptions.parse(new String[] {"--no-auth"}, Map.of()).validate();
  }

  @Test
  void main_noKeyWithoutNoAuth_exitsWithConfigError(@TempDir Path ws) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int status = SandboxdMain.run(new String[] {"--workspace", ws.toString(), "--port", "0"},
        Map.of(), new PrintStream(out), new PrintStream(err));

    assertThat(status).isEqualTo(SandboxdMain.EXIT_CONFIG);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("PICOD_AUTH_PUBLIC_KEY");
  }

  @Test
  void main_malformedKey_exitsWithConfigError(@TempDir Path ws) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int status = SandboxdMain.run(new String[] {"--workspace", ws.toString(), "--port", "0"},
        Map.of("PICOD_AUTH_PUBLIC_KEY", "garbage"), new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err));

    assertThat(status).isEqualTo(SandboxdMain.EXIT_CONFIG);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("PICOD_AUTH_PUBLIC_KEY");
  }
}
