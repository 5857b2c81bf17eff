package io.agentcube.runtime.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.runtime.Durations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * What the committed CRDs (equal to the generated ones, see {@link CrdDriftTest}) tell the API
 * server: names, scope, status subresource, printer columns, and the OpenAPI validation of
 * design.md §4 — required fields, enums, minimums, the duration pattern and the defaults.
 */
class CrdSchemaTest {

  private static final YAMLMapper YAML = YAMLMapper.builder().build();

  private static JsonNode crd(String plural) throws Exception {
    return YAML.readTree(Files.readString(CrdDriftTest.COMMITTED.resolve(plural + ".runtime.agentcube.volcano.sh.yaml")));
  }

  private static JsonNode version(JsonNode crd) {
    return crd.at("/spec/versions/0");
  }

  private static JsonNode spec(JsonNode crd) {
    return version(crd).at("/schema/openAPIV3Schema/properties/spec");
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asString()));
    return out;
  }

  private static Map<String, String> columns(JsonNode crd) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    version(crd).get("additionalPrinterColumns").forEach(c -> out.put(c.get("name").asString(), c.get("jsonPath").asString()));
    return out;
  }

  @Test
  void everyKind_namespacedV1alpha1WithStatusSubresourceAndShortName() throws Exception {
    Map<String, String> shortNames = Map.of("agentruntimes", "ar", "codeinterpreters", "ci",
        "agentendpoints", "aep", "codeinterpreterendpoints", "ciep");
    for (Map.Entry<String, String> e : shortNames.entrySet()) {
      JsonNode crd = crd(e.getKey());
      assertThat(crd.at("/apiVersion").asString()).isEqualTo("apiextensions.k8s.io/v1");
      assertThat(crd.at("/spec/group").asString()).isEqualTo("runtime.agentcube.volcano.sh");
      assertThat(crd.at("/spec/scope").asString()).isEqualTo("Namespaced");
      assertThat(strings(crd.at("/spec/names/shortNames"))).as(e.getKey()).containsExactly(e.getValue());
      assertThat(version(crd).get("name").asString()).isEqualTo("v1alpha1");
      assertThat(version(crd).at("/subresources/status").isObject()).as(e.getKey()).isTrue();
    }
  }

  @Test
  void runtimes_printReadyDefaultVersionWarmPoolSessionsAndAge() throws Exception {
    for (String plural : List.of("agentruntimes", "codeinterpreters")) {
      assertThat(columns(crd(plural))).as(plural).containsExactlyInAnyOrderEntriesOf(Map.of(
          "Ready", ".status.ready",
          "Default", ".status.defaultVersion",
          "Warm", ".status.warmPool.ready",
          "Desired", ".status.warmPool.desired",
          "Sessions", ".status.activeSessions",
          "Age", ".metadata.creationTimestamp"));
    }
  }

  @Test
  void endpoints_printTargetVersionReadyResolvedAndAge() throws Exception {
    for (String plural : List.of("agentendpoints", "codeinterpreterendpoints")) {
      assertThat(columns(crd(plural))).as(plural).containsExactlyInAnyOrderEntriesOf(Map.of(
          "Target", ".spec.target",
          "Version", ".spec.version",
          "Ready", ".status.conditions[?(@.type==\"Ready\")].status",
          "Resolved", ".status.resolvedVersion",
          "Age", ".metadata.creationTimestamp"));
    }
  }

  @Test
  void agentRuntimeSchema_requiredEnumsMinimumsPatternAndDefaults() throws Exception {
    JsonNode spec = spec(crd("agentruntimes"));

    assertThat(strings(spec.get("required"))).containsExactly("podTemplate");
    assertThat(strings(spec.at("/properties/podTemplate/required"))).containsExactly("spec");
    assertThat(spec.at("/properties/podTemplate/properties/spec/properties/containers/type").asString())
        .isEqualTo("array");
    assertPorts(spec.at("/properties/targetPort"));
    assertDurationsAndWarmPool(spec);
  }

  @Test
  void codeInterpreterSchema_requiredEnumsMinimumsPatternAndDefaults() throws Exception {
    JsonNode spec = spec(crd("codeinterpreters"));

    assertPorts(spec.at("/properties/ports"));
    assertDurationsAndWarmPool(spec);
    assertThat(strings(spec.at("/properties/authMode/enum"))).containsExactlyInAnyOrder("picod", "none");
    assertThat(spec.at("/properties/authMode/default").asString()).isEqualTo("picod");
    assertThat(spec.at("/properties/template/properties/imagePullPolicy/pattern").asString())
        .isEqualTo("^(Always|Never|IfNotPresent)$");
    assertThat(spec.at("/properties/template/properties/resources/properties/limits/type").asString())
        .isEqualTo("object");
    assertThat(spec.at("/properties/languages/items/type").asString()).isEqualTo("string");
  }

  @Test
  void endpointSchema_targetRequiredDnsLabel() throws Exception {
    for (String plural : List.of("agentendpoints", "codeinterpreterendpoints")) {
      JsonNode spec = spec(crd(plural));
      assertThat(strings(spec.get("required"))).as(plural).containsExactly("target");
      assertThat(spec.at("/properties/target/pattern").asString()).isEqualTo("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
      assertThat(spec.at("/properties/target/maxLength").asInt()).isEqualTo(63);
      assertThat(spec.at("/properties/version/type").asString()).isEqualTo("string");
    }
  }

  @Test
  void statusSchema_conditionsReadyVersionsWarmPoolActiveSessions() throws Exception {
    JsonNode status = version(crd("codeinterpreters")).at("/schema/openAPIV3Schema/properties/status/properties");

    assertThat(strings(status.at("/conditions/items/required"))).containsExactlyInAnyOrder("type", "status");
    assertThat(status.at("/conditions/items/properties/observedGeneration/type").asString()).isEqualTo("integer");
    assertThat(status.at("/ready/type").asString()).isEqualTo("boolean");
    assertThat(status.at("/defaultVersion/type").asString()).isEqualTo("string");
    assertThat(status.at("/versions/additionalProperties/type").asString()).isEqualTo("string");
    assertThat(status.at("/warmPool/properties/desired/type").asString()).isEqualTo("integer");
    assertThat(status.at("/warmPool/properties/ready/type").asString()).isEqualTo("integer");
    assertThat(status.at("/activeSessions/type").asString()).isEqualTo("integer");
    JsonNode endpointStatus = version(crd("agentendpoints")).at("/schema/openAPIV3Schema/properties/status/properties");
    assertThat(endpointStatus.at("/resolvedVersion/type").asString()).isEqualTo("string");
  }

  private static void assertPorts(JsonNode ports) {
    assertThat(ports.get("type").asString()).isEqualTo("array");
    JsonNode port = ports.get("items");
    assertThat(strings(port.get("required"))).containsExactly("port");
    assertThat(port.at("/properties/port/minimum").asDouble()).isEqualTo(1.0);
    assertThat(port.at("/properties/port/maximum").asDouble()).isEqualTo(65535.0);
    assertThat(strings(port.at("/properties/protocol/enum"))).containsExactly("HTTP", "HTTPS");
    assertThat(port.at("/properties/protocol/default").asString()).isEqualTo("HTTP");
    JsonNode dflt = ports.get("default");
    assertThat(dflt.size()).isEqualTo(1);
    assertThat(dflt.at("/0/port").asInt()).isEqualTo(8080);
    assertThat(dflt.at("/0/pathPrefix").asString()).isEqualTo("/");
  }

  private static void assertDurationsAndWarmPool(JsonNode spec) {
    assertThat(spec.at("/properties/sessionTimeout/pattern").asString()).isEqualTo(Durations.PATTERN);
    assertThat(spec.at("/properties/sessionTimeout/default").asString())
        .isEqualTo(AgentRuntimeSpec.DEFAULT_SESSION_TIMEOUT).isEqualTo("15m");
    assertThat(spec.at("/properties/maxSessionDuration/pattern").asString()).isEqualTo(Durations.PATTERN);
    assertThat(spec.at("/properties/maxSessionDuration/default").asString())
        .isEqualTo(AgentRuntimeSpec.DEFAULT_MAX_SESSION_DURATION).isEqualTo("8h");
    assertThat(spec.at("/properties/warmPoolSize/minimum").asDouble()).isEqualTo(0.0);
    assertThat(spec.at("/properties/warmPoolSize/default").asInt()).isZero();
  }
}
