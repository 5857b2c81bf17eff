package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
