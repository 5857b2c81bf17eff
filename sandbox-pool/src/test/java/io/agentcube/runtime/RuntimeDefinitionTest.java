package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.runtime.TargetPort.Protocol;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RuntimeDefinitionTest {

  private static RuntimeDefinition withPrefixes(String... prefixes) {
    List<TargetPort> ports = Arrays.stream(prefixes)
        .map(p -> new TargetPort(null, 8080, Protocol.HTTP, p)).toList();
    return new RuntimeDefinition(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "a"), "v1",
        "hash", ports, new SandboxTemplate(null, List.of("x"), List.of(), Map.of(), null),
        Duration.ofMinutes(15), Duration.ofHours(8), 0, AuthMode.NONE, List.of(), "test");
  }

  @ParameterizedTest
  @CsvSource({
      "/api/v2/items, 2",
      "/api/v2, 2",
      "/api/v1/items, 1",
      "/api, 1",
      "/, 0",
      "/other, 0",
      "'', 0"})
  void portIndexFor_path_picksLongestMatchingPrefix(String path, int expected) {
    // Deliberately out of order: the longest prefix wins, not the first match.
    RuntimeDefinition d = withPrefixes("/", "/api", "/api/v2", null);

    assertThat(d.portIndexFor(path)).isEqualTo(expected);
  }

  @Test
  void portIndexFor_noPrefixMatches_picksFirstPort() {
    RuntimeDefinition d = withPrefixes("/admin", null, "/metrics");

    assertThat(d.portIndexFor("/invoke")).isZero();
    assertThat(d.portIndexFor("/metrics/x")).isEqualTo(2);
  }

  @Test
  void portIndexFor_longerPrefixListedFirst_stillWins() {
    RuntimeDefinition d = withPrefixes("/a/b", "/a");

    assertThat(d.portIndexFor("/a/b/c")).isZero();
    assertThat(d.portIndexFor("/a/c")).isEqualTo(1);
  }

  @Test
  void create_noPorts_rejected() {
    assertThatThrownBy(RuntimeDefinitionTest::withPrefixes)
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one port");
  }
}
