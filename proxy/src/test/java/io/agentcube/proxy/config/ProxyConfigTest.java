package io.agentcube.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

class ProxyConfigTest {

  /** The shipped file; surefire runs with the module directory as the working directory. */
  private static final Path SHIPPED = Path.of("..", "conf", "agentcube.yaml");

  @TempDir
  Path dir;

  private Path yaml(String text) throws IOException {
    Path file = dir.resolve("agentcube.yaml");
    Files.writeString(file, text);
    return file;
  }

  private static ProxyConfig load(Path file, Map<String, String> env, String... args) {
    return ProxyConfig.load(file, env, List.of(args));
  }

  // ---- defaults and sources

  @Test
  void defaults_documentedValues() {
    ProxyConfig c = ProxyConfig.defaults();

    assertThat(c.string("server.host")).isEqualTo("127.0.0.1");
    assertThat(c.integer("server.port")).isEqualTo(8080);
    assertThat(c.string("backend")).isEqualTo("process");
    assertThat(c.list("runtimes.dirs")).containsExactly("conf/runtimes");
    assertThat(c.integer("pool.maxConcurrentStarts")).isEqualTo(4);
    assertThat(c.integer("pool.maxColdStartQueue")).isEqualTo(256);
    assertThat(c.duration("pool.startTimeout")).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.duration("pool.retryAfter")).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.duration("server.clientIdleTimeout")).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.list("process.sandboxdCommand")).contains("-jar", "$(AGENTCUBE_HOME)/sandboxd/target/agentcube-sandboxd.jar");
    assertThat(c.toJson().getString("pool.startTimeout")).isEqualTo("1m0s");
  }

  @Test
  void load_yamlFile_readsNestedKeysAndLists() throws IOException {
    Path file = yaml("""
        server:
          host: 0.0.0.0
          port: 9090
        pool:
          startTimeout: 45s
          maxConcurrentStarts: 8
        runtimes:
          dirs: [conf/runtimes, /etc/agentcube/runtimes]
        process:
          sandboxdCommand:
            - java
            - -jar
            - sandboxd.jar
        """);

    ProxyConfig c = load(file, Map.of());

    assertThat(c.string("server.host")).isEqualTo("0.0.0.0");
    assertThat(c.integer("server.port")).isEqualTo(9090);
    assertThat(c.duration("pool.startTimeout")).isEqualTo(Duration.ofSeconds(45));
    assertThat(c.integer("pool.maxConcurrentStarts")).isEqualTo(8);
    assertThat(c.list("runtimes.dirs")).containsExactly("conf/runtimes", "/etc/agentcube/runtimes");
    assertThat(c.list("process.sandboxdCommand")).containsExactly("java", "-jar", "sandboxd.jar");
    assertThat(c.integer("pool.maxColdStartQueue")).as("unset keys keep defaults").isEqualTo(256);
  }

  @Test
  void load_envVariable_overridesFile() throws IOException {
    Path file = yaml("pool:\n  startTimeout: 45s\n  maxConcurrentStarts: 8\n");

    ProxyConfig c = load(file, Map.of(
        "AGENTCUBE_POOL_START_TIMEOUT", "30s",
        "AGENTCUBE_RUNTIMES_DIRS", "a, b",
        "UNRELATED_VARIABLE", "ignored"));

    assertThat(c.duration("pool.startTimeout")).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.integer("pool.maxConcurrentStarts")).as("not overridden").isEqualTo(8);
    assertThat(c.list("runtimes.dirs")).containsExactly("a", "b");
  }

  @Test
  void load_flagsBothForms_overrideEnvAndFile() throws IOException {
    Path file = yaml("pool:\n  startTimeout: 45s\nserver:\n  port: 9090\n");

    ProxyConfig c = load(file, Map.of("AGENTCUBE_POOL_START_TIMEOUT", "30s",
            "AGENTCUBE_SERVER_PORT", "9091"),
        "--config", file.toString(), "--pool.startTimeout=10s", "--server.port", "9092");

    assertThat(c.duration("pool.startTimeout")).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.integer("server.port")).isEqualTo(9092);
  }

  @Test
  void load_envNames_upperSnakeCaseOfKey() {
    ProxyConfig c = load(null, Map.of(
        "AGENTCUBE_POOL_MAX_CONCURRENT_STARTS", "7",
        "AGENTCUBE_UPSTREAM_MAX_CONNECTIONS_PER_SANDBOX", "3",
        "AGENTCUBE_PROCESS_STATE_DIR", "/var/lib/agentcube"));

    assertThat(c.integer("pool.maxConcurrentStarts")).isEqualTo(7);
    assertThat(c.integer("upstream.maxConnectionsPerSandbox")).isEqualTo(3);
    assertThat(c.string("process.stateDir")).isEqualTo("/var/lib/agentcube");
  }

  // ---- errors name the key, the value and where it came from

  @Test
  void load_unknownKeyInFile_failsNamingKeyAndFile() throws IOException {
    Path file = yaml("pool:\n  startTimout: 30s\n");

    assertThatThrownBy(() -> load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("pool.startTimout").hasMessageContaining("unknown")
        .hasMessageContaining(file.toString());
  }

  @Test
  void load_unknownFlag_failsNamingIt() {
    assertThatThrownBy(() -> load(null, Map.of(), "--server.prot=1"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("server.prot").hasMessageContaining("unknown");
  }

  @Test
  void load_badDurationInEnv_failsNamingKeyValueAndVariable() {
    assertThatThrownBy(() -> load(null, Map.of("AGENTCUBE_POOL_START_TIMEOUT", "30 seconds")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("pool.startTimeout: ")
        .hasMessageContaining("'30 seconds'")
        .hasMessageContaining("env AGENTCUBE_POOL_START_TIMEOUT");
  }

  @Test
  void load_durationWrittenAsNumberInFile_failsNamingKeyAndFile() throws IOException {
    Path file = yaml("pool:\n  startTimeout: 30\n");

    assertThatThrownBy(() -> load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("pool.startTimeout: not a duration")
        .hasMessageContaining("'30'")
        .hasMessageContaining(file.toString());
  }

  @Test
  void load_badIntegerFlag_failsNamingKeyValueAndFlag() {
    assertThatThrownBy(() -> load(null, Map.of(), "--server.port", "eighty"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("server.port: ")
        .hasMessageContaining("'eighty'")
        .hasMessageContaining("flag --server.port");
  }

  @Test
  void load_integerOutOfRangeInFile_failsNamingBoundsValueAndFile() throws IOException {
    Path file = yaml("server:\n  port: 70000\n");

    assertThatThrownBy(() -> load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("server.port: must be between 0 and 65535")
        .hasMessageContaining("'70000'")
        .hasMessageContaining(file.toString());
  }

  @Test
  void load_fractionalInteger_failsAsNotWhole() throws IOException {
    Path file = yaml("pool:\n  maxConcurrentStarts: 2.5\n");

    assertThatThrownBy(() -> load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("pool.maxConcurrentStarts: must be a whole number");
  }

  /** Idle timeouts end up in int fields (seconds, milliseconds): out of range is an error, not a wrap. */
  @Test
  void load_idleTimeoutsBeyondADay_failInsteadOfOverflowing() {
    assertThatThrownBy(() -> load(null, Map.of(), "--server.clientIdleTimeout=1000000h"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("server.clientIdleTimeout: must be between 0s and 24h0m0s");
    assertThatThrownBy(() -> load(null, Map.of(), "--upstream.idleTimeout=720h"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("upstream.idleTimeout: must be between 1ms and 24h0m0s");
  }

  @Test
  void load_durationOutOfRange_failsNamingBounds() {
    assertThatThrownBy(() -> load(null, Map.of(), "--pool.retryAfter=500ms"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("pool.retryAfter: must be between 1s and 1h0m0s")
        .hasMessageContaining("'500ms'")
        .hasMessageContaining("flag --pool.retryAfter");
  }

  @Test
  void convert_badBoolean_failsNamingKeyValueAndOrigin() {
    ConfigKey key = ConfigKey.bool("auth.enabled", false);

    assertThat(key.convert("TRUE", "env AGENTCUBE_AUTH_ENABLED")).isEqualTo(true);
    assertThat(key.convert(false, "file")).isEqualTo(false);
    assertThatThrownBy(() -> key.convert("yes", "env AGENTCUBE_AUTH_ENABLED"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("auth.enabled: must be true or false")
        .hasMessageContaining("'yes'")
        .hasMessageContaining("env AGENTCUBE_AUTH_ENABLED");
  }

  @Test
  void load_flagWithoutValue_failsNamingFlag() {
    assertThatThrownBy(() -> load(null, Map.of(), "--server.port"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--server.port");
  }

  @Test
  void load_positionalArgument_fails() {
    assertThatThrownBy(() -> load(null, Map.of(), "serve"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'serve'");
  }

  @Test
  void load_unsupportedBackend_failsNamingKey() {
    assertThatThrownBy(() -> load(null, Map.of("AGENTCUBE_BACKEND", "docker")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("backend: ")
        .hasMessageContaining("'docker'");
  }

  @Test
  void load_unreadableYaml_failsNamingFile() throws IOException {
    Path file = yaml("server: [port: 1\n");

    assertThatThrownBy(() -> load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(file.toString());
  }

  // ---- the shipped file

  @Test
  void load_shippedFile_equalsDefaults() {
    ProxyConfig shipped = load(SHIPPED, Map.of());

    assertThat(shipped.toJson()).isEqualTo(ProxyConfig.defaults().toJson());
  }

  @Test
  void shippedFile_listsEveryKey() throws IOException {
    JsonNode tree = YAMLMapper.builder().build().readTree(Files.readString(SHIPPED));
    TreeSet<String> listed = new TreeSet<>();
    collectLeaves("", tree, listed);

    assertThat(listed).containsExactlyInAnyOrderElementsOf(
        ProxyConfig.KEYS.stream().map(ConfigKey::path).toList());
  }

  private static void collectLeaves(String prefix, JsonNode node, TreeSet<String> out) {
    if (node.isObject()) {
      node.properties().forEach(e ->
          collectLeaves(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out));
    } else {
      out.add(prefix);
    }
  }
}
