package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.runtime.TargetPort.Protocol;
import io.agentcube.runtime.api.AgentEndpoint;
import io.agentcube.runtime.api.AgentRuntime;
import io.agentcube.runtime.api.CodeInterpreter;
import io.agentcube.runtime.api.CodeInterpreterEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The manifests in {@code k8s/examples}, written in AgentCube's shape, parse and validate
 * unchanged, and the typed model keeps every field they set (probes, resources, pull policy…).
 */
class ExampleManifestsTest {

  private static final Path EXAMPLES = Path.of("..", "k8s", "examples");
  private static final YAMLMapper YAML = YAMLMapper.builder().build();
  private static final Map<String, Class<?>> TYPES = Map.of(
      "AgentRuntime", AgentRuntime.class,
      "CodeInterpreter", CodeInterpreter.class,
      "AgentEndpoint", AgentEndpoint.class,
      "CodeInterpreterEndpoint", CodeInterpreterEndpoint.class);

  static Stream<Path> examples() throws IOException {
    try (Stream<Path> files = Files.list(EXAMPLES)) {
      List<Path> list = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
      assertThat(list).hasSizeGreaterThanOrEqualTo(4);
      return list.stream();
    }
  }

  private static RuntimeParser.Result parse(String file) throws IOException {
    Path path = EXAMPLES.resolve(file);
    return RuntimeParser.parse(Files.readString(path), path.toString());
  }

  @ParameterizedTest
  @MethodSource("examples")
  void parse_example_validAndNothingSkipped(Path file) throws IOException {
    RuntimeParser.Result r = RuntimeParser.parse(Files.readString(file), file.toString());

    assertThat(r.runtimes().size() + r.endpoints().size()).isEqualTo(1);
    assertThat(r.skipped()).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("examples")
  void readThenWrite_example_modelKeepsEveryField(Path file) throws IOException {
    JsonNode original = YAML.readTree(Files.readString(file));
    Object model = YAML.treeToValue(original, TYPES.get(original.get("kind").asString()));

    JsonNode written = YAML.readTree(YAML.writeValueAsString(model));
    assertThat(written).isEqualTo(original);
  }

  @Test
  void parse_codeInterpreterExample_imageArgsResourcesAndWarmPool() throws IOException {
    RuntimeDefinition d = parse("code-interpreter.yaml").runtimes().get(0);

    assertThat(d.ref()).isEqualTo(new RuntimeRef(RuntimeKind.CODE_INTERPRETER, "default", "python-interpreter"));
    assertThat(d.warmPoolSize()).isEqualTo(2);
    assertThat(d.template().image()).isEqualTo("ghcr.io/volcano-sh/picod:latest");
    assertThat(d.template().args()).containsExactly("--workspace=/workspace");
    assertThat(d.template().command()).isEmpty();
    assertThat(d.authMode()).isEqualTo(AuthMode.PICOD);
    assertThat(d.sessionTimeout()).isEqualTo(Duration.ofMinutes(10));
    assertThat(d.maxSessionDuration()).isEqualTo(Duration.ofHours(4));
    assertThat(d.ports()).containsExactly(new TargetPort(null, 8080, Protocol.HTTP, "/"));
    assertThat(d.languages()).containsExactly("python", "bash");
  }

  @Test
  void parse_agentRuntimeExample_fullPodTemplateAndPathPrefix() throws IOException {
    RuntimeDefinition d = parse("agent-runtime.yaml").runtimes().get(0);

    assertThat(d.ref()).isEqualTo(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "hello-agent"));
    assertThat(d.version()).isEqualTo("2024-06-a");
    assertThat(d.ports()).containsExactly(new TargetPort("api", 8000, Protocol.HTTP, "/api"));
    assertThat(d.template().image()).isEqualTo("python:3.12-slim");
    assertThat(d.template().command()).containsExactly("python3", "-u", "-m", "http.server", "8000");
    assertThat(d.template().workingDir()).isEqualTo("/srv");
    assertThat(d.template().env()).containsExactly(Map.entry("LOG_LEVEL", "info"), Map.entry("MODEL_API_KEY", ""));
    assertThat(d.authMode()).isEqualTo(AuthMode.NONE);
  }

  @Test
  void parse_endpointExamples_targetTheExampleRuntimes() throws IOException {
    EndpointDefinition agent = parse("agent-endpoint.yaml").endpoints().get(0);
    EndpointDefinition interpreter = parse("code-interpreter-endpoint.yaml").endpoints().get(0);

    assertThat(agent.targetRef()).isEqualTo(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "hello-agent"));
    assertThat(agent.version()).isEqualTo("2024-06-a");
    assertThat(interpreter.targetRef())
        .isEqualTo(new RuntimeRef(RuntimeKind.CODE_INTERPRETER, "default", "python-interpreter"));
    assertThat(interpreter.version()).isNull();
  }
}
