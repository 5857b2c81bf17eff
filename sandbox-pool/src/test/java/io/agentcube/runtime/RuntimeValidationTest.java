package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.agentcube.runtime.api.AgentEndpoint;
import io.agentcube.runtime.api.AgentRuntime;
import io.agentcube.runtime.api.AgentRuntimeSpec;
import io.agentcube.runtime.api.CodeInterpreter;
import io.agentcube.runtime.api.CodeInterpreterEndpoint;
import io.agentcube.runtime.api.CodeInterpreterSpec;
import io.agentcube.runtime.api.CodeInterpreterTemplate;
import io.agentcube.runtime.api.EndpointSpec;
import io.agentcube.runtime.api.PodTemplate;
import io.agentcube.runtime.api.TargetPortSpec;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Validation and conversion of typed objects, as the Kubernetes backend gets them from informers:
 * the same rules and the same definitions as {@link RuntimeParser#parse} gives for files.
 */
class RuntimeValidationTest {

  private static AgentRuntime agent(String name) {
    AgentRuntime r = new AgentRuntime();
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("team-a").withGeneration(2L).build());
    AgentRuntimeSpec spec = new AgentRuntimeSpec();
    PodTemplate template = new PodTemplate();
    template.setSpec(new PodSpecBuilder().addToContainers(new ContainerBuilder().withName("main")
        .withImage("python:3.12-slim").withCommand("python3", "app.py").addNewEnv().withName("A").withValue("1")
        .endEnv().build()).build());
    spec.setPodTemplate(template);
    r.setSpec(spec);
    return r;
  }

  private static CodeInterpreter interpreter() {
    CodeInterpreter ci = new CodeInterpreter();
    ci.setMetadata(new ObjectMetaBuilder().withName("python").build());
    CodeInterpreterSpec spec = new CodeInterpreterSpec();
    CodeInterpreterTemplate template = new CodeInterpreterTemplate();
    template.setImage("picod:1");
    spec.setTemplate(template);
    ci.setSpec(spec);
    return ci;
  }

  @Test
  void toDefinition_validAgentRuntimeFromInformer_appliesDefaults() {
    RuntimeDefinition d = RuntimeParser.toDefinition(agent("agent"));

    assertThat(d.ref()).isEqualTo(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "team-a", "agent"));
    assertThat(d.version()).isNull();
    assertThat(d.ports()).containsExactly(new TargetPort(null, 8080, TargetPort.Protocol.HTTP, "/"));
    assertThat(d.sessionTimeout()).isEqualTo(Duration.ofMinutes(15));
    assertThat(d.maxSessionDuration()).isEqualTo(Duration.ofHours(8));
    assertThat(d.warmPoolSize()).isZero();
    assertThat(d.template().command()).containsExactly("python3", "app.py");
    assertThat(d.template().env()).containsEntry("A", "1");
    assertThat(d.source()).isEqualTo("AgentRuntime team-a/agent");
  }

  @Test
  void toDefinition_objectWithApiServerDefaultsFilledIn_sameDefinitionAsWithout() {
    // The API server applies the CRD's defaults; the definition (and its hash) must not change.
    AgentRuntime bare = agent("agent");
    AgentRuntime defaulted = agent("agent");
    defaulted.getSpec().setTargetPort(List.of(new TargetPortSpec(null, 8080, TargetPortSpec.Protocol.HTTP, "/")));
    defaulted.getSpec().setSessionTimeout("15m");
    defaulted.getSpec().setMaxSessionDuration("8h");
    defaulted.getSpec().setWarmPoolSize(0);

    assertThat(RuntimeParser.toDefinition(defaulted)).isEqualTo(RuntimeParser.toDefinition(bare));
  }

  @Test
  void toDefinition_sameRuntimeAsFile_sameDefinitionExceptSource() {
    RuntimeDefinition fromFile = RuntimeParser.parse("""
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentRuntime
        metadata: {name: agent, namespace: team-a}
        spec:
          podTemplate:
            spec:
              containers:
                - command: [python3, app.py]
                  env: [{name: A, value: "1"}]
                  image: python:3.12-slim
                  name: main
        """, "agent.yaml").runtimes().get(0);

    RuntimeDefinition fromObject = RuntimeParser.toDefinition(agent("agent"), "agent.yaml");

    assertThat(fromObject).isEqualTo(fromFile);
  }

  @Test
  void toDefinition_codeInterpreterWithoutCommand_validAndPicodAuth() {
    RuntimeDefinition d = RuntimeParser.toDefinition(interpreter());

    assertThat(RuntimeValidation.validate(interpreter())).isEmpty();
    assertThat(d.authMode()).isEqualTo(AuthMode.PICOD);
    assertThat(d.template().command()).isEmpty();
    assertThat(d.ref().namespace()).isEqualTo("default");
  }

  @Test
  void validate_agentRuntimeBreakingSeveralRules_everyProblemNamesItsField() {
    AgentRuntime r = agent("Bad_Name");
    r.getSpec().getPodTemplate().getSpec().getContainers().get(0).setImage(null);
    r.getSpec().getPodTemplate().getSpec().getContainers().get(0).setCommand(List.of());
    List<TargetPortSpec> ports = new ArrayList<>();
    ports.add(new TargetPortSpec("http", 80, null, "/"));
    ports.add(new TargetPortSpec("http", 70000, null, "api"));
    ports.add(null);
    r.getSpec().setTargetPort(ports);
    r.getSpec().setSessionTimeout("soon");
    r.getSpec().setMaxSessionDuration("0s");
    r.getSpec().setWarmPoolSize(-1);

    assertThat(RuntimeValidation.validate(r)).containsExactly(
        "metadata.name: must be a DNS label (lower-case letters, digits, '-'; at most 63), was 'Bad_Name'",
        "spec.targetPort[1].name: duplicate port name 'http'",
        "spec.targetPort[1].port: must be a port number 1..65535, was 70000",
        "spec.targetPort[1].pathPrefix: must start with '/', was 'api'",
        "spec.targetPort[2]: must be a port ({port, name?, protocol?, pathPrefix?})",
        "spec.podTemplate.spec.containers[0]: needs an image or a command",
        "spec.sessionTimeout: not a duration: 'soon' (use e.g. 90s, 15m, 1h30m, 500ms)",
        "spec.maxSessionDuration: must be greater than 0",
        "spec.warmPoolSize: must be an integer >= 0, was -1");
  }

  @Test
  void toDefinition_invalidObject_throwsWithTheValidationProblems() {
    AgentRuntime r = agent("agent");
    r.getSpec().setWarmPoolSize(-2);

    RuntimeValidationException e = catchThrowableOfType(RuntimeValidationException.class,
        () -> RuntimeParser.toDefinition(r));

    assertThat(e.problems()).containsExactly("spec.warmPoolSize: must be an integer >= 0, was -2");
    assertThat(e.getMessage()).startsWith("AgentRuntime team-a/agent: ");
  }

  @Test
  void validate_missingSpec_specRequired() {
    CodeInterpreter ci = interpreter();
    ci.setSpec(null);

    assertThat(RuntimeValidation.validate(ci)).containsExactly("spec: required");
  }

  @Test
  void toEndpoint_endpointObjects_versionNullWhenEmptyAndGenerationKept() {
    AgentEndpoint agent = new AgentEndpoint();
    agent.setMetadata(new ObjectMetaBuilder().withName("stable").withNamespace("team-a").withGeneration(5L).build());
    agent.setSpec(new EndpointSpec("agent", "v2"));
    CodeInterpreterEndpoint interpreter = new CodeInterpreterEndpoint();
    interpreter.setMetadata(new ObjectMetaBuilder().withName("latest").build());
    interpreter.setSpec(new EndpointSpec("python", ""));

    assertThat(RuntimeParser.toEndpoint(agent)).isEqualTo(new EndpointDefinition(RuntimeKind.AGENT_RUNTIME,
        "team-a", "stable", "agent", "v2", 5, "AgentEndpoint team-a/stable"));
    assertThat(RuntimeParser.toEndpoint(interpreter)).isEqualTo(new EndpointDefinition(RuntimeKind.CODE_INTERPRETER,
        "default", "latest", "python", null, 1, "CodeInterpreterEndpoint default/latest"));
  }

  @Test
  void validate_endpointWithoutTarget_targetRequired() {
    CodeInterpreterEndpoint e = new CodeInterpreterEndpoint();
    e.setMetadata(new ObjectMetaBuilder().withName("ep").build());
    e.setSpec(new EndpointSpec(null, "v 1"));

    assertThat(RuntimeValidation.validate(e)).containsExactly(
        "spec.target: required (the name of a runtime in this namespace)",
        "spec.version: must be a version name (letters, digits, '-', '_', '.'; at most 63), was 'v 1'");
  }
}
