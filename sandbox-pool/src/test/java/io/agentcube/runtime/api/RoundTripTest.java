package io.agentcube.runtime.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/** YAML → model → YAML for every kind: nothing is lost, renamed or added on the way. */
class RoundTripTest {

  private static final YAMLMapper YAML = YAMLMapper.builder().build();

  static final String AGENT_RUNTIME = """
      apiVersion: runtime.agentcube.volcano.sh/v1alpha1
      kind: AgentRuntime
      metadata:
        name: agent
        namespace: team-a
        generation: 3
        labels: {team: a}
        annotations:
          runtime.agentcube.volcano.sh/version: canary
      spec:
        targetPort:
          - name: api
            port: 8000
            protocol: HTTPS
            pathPrefix: /api
          - port: 9000
        podTemplate:
          labels: {app: agent}
          annotations: {note: x}
          spec:
            runtimeClassName: kata
            containers:
              - name: main
                image: python:3.12-slim
                command: [python3, -u, app.py]
                args: [--port, "8000"]
                workingDir: /srv
                ports: [{containerPort: 8000, protocol: TCP}]
                env:
                  - {name: A, value: "1"}
                  - name: SECRET
                    valueFrom: {secretKeyRef: {name: s, key: k}}
                resources:
                  requests: {cpu: 100m, memory: 128Mi}
                  limits: {cpu: "1", memory: 1Gi}
                readinessProbe:
                  httpGet: {path: /healthz, port: 8000}
                  periodSeconds: 5
                livenessProbe:
                  tcpSocket: {port: api}
        sessionTimeout: 90s
        maxSessionDuration: 1h30m
        warmPoolSize: 1
      status:
        conditions:
          - type: Ready
            status: "True"
            reason: Serving
            message: 1 version, 1 warm
            observedGeneration: 3
            lastTransitionTime: "2026-11-27T10:00:00Z"
        ready: true
        defaultVersion: canary
        versions: {canary: 0123456789ab, v1: ba9876543210}
        warmPool: {desired: 1, ready: 1}
        activeSessions: 4
      """;

  static final String CODE_INTERPRETER = """
      apiVersion: runtime.agentcube.volcano.sh/v1alpha1
      kind: CodeInterpreter
      metadata:
        name: python
        namespace: default
      spec:
        ports:
          - {port: 8080, protocol: HTTP, pathPrefix: /}
        template:
          labels: {app: python}
          annotations: {note: x}
          runtimeClassName: gvisor
          image: ghcr.io/volcano-sh/picod:latest
          imagePullPolicy: IfNotPresent
          imagePullSecrets: [{name: registry}]
          environment:
            - {name: A, value: "1"}
          command: [picod]
          args: [--workspace=/root]
          resources:
            limits: {cpu: 500m, memory: 512Mi}
            requests: {cpu: 100m, memory: 128Mi}
          workingDir: /root
        sessionTimeout: 15m
        maxSessionDuration: 8h
        warmPoolSize: 2
        authMode: none
        languages: [python, bash]
      status:
        ready: false
        conditions:
          - {type: Ready, status: "False", reason: Starting, observedGeneration: 1}
        warmPool: {desired: 2, ready: 0}
        activeSessions: 0
      """;

  static final String AGENT_ENDPOINT = """
      apiVersion: runtime.agentcube.volcano.sh/v1alpha1
      kind: AgentEndpoint
      metadata: {name: agent-stable, namespace: team-a}
      spec: {target: agent, version: canary}
      status:
        conditions: [{type: Ready, status: "True", reason: Resolved}]
        resolvedVersion: canary
      """;

  static final String CODE_INTERPRETER_ENDPOINT = """
      apiVersion: runtime.agentcube.volcano.sh/v1alpha1
      kind: CodeInterpreterEndpoint
      metadata: {name: python}
      spec: {target: python}
      status:
        conditions: [{type: Ready, status: "False", reason: TargetNotFound, message: no CodeInterpreter default/python}]
      """;

  static Stream<Arguments> documents() {
    return Stream.of(
        Arguments.of(AGENT_RUNTIME, AgentRuntime.class),
        Arguments.of(CODE_INTERPRETER, CodeInterpreter.class),
        Arguments.of(AGENT_ENDPOINT, AgentEndpoint.class),
        Arguments.of(CODE_INTERPRETER_ENDPOINT, CodeInterpreterEndpoint.class));
  }

  @ParameterizedTest
  @MethodSource("documents")
  void readThenWrite_everyKind_sameDocument(String yaml, Class<? extends CustomResource<?, ?>> type) {
    CustomResource<?, ?> model = YAML.readValue(yaml, type);
    String written = YAML.writeValueAsString(model);

    assertThat(YAML.readTree(written)).isEqualTo(YAML.readTree(yaml));
    assertThat(YAML.readValue(written, type)).isEqualTo(model);
  }

  @ParameterizedTest
  @MethodSource("documents")
  void fabric8Serialization_everyKind_readsAndWritesSameDocument(String yaml, Class<? extends CustomResource<?, ?>> type) {
    // What the Kubernetes backend's client does with these classes.
    CustomResource<?, ?> model = Serialization.unmarshal(yaml, type);

    assertThat(YAML.readTree(Serialization.asYaml(model))).isEqualTo(YAML.readTree(yaml));
  }

  @Test
  void read_agentRuntime_typedFieldsHoldTheValues() {
    AgentRuntime r = YAML.readValue(AGENT_RUNTIME, AgentRuntime.class);

    assertThat(r.getApiVersion()).isEqualTo(RuntimeApi.API_VERSION);
    assertThat(r.getKind()).isEqualTo("AgentRuntime");
    assertThat(r.getSpec().getTargetPort()).containsExactly(
        new TargetPortSpec("api", 8000, TargetPortSpec.Protocol.HTTPS, "/api"),
        new TargetPortSpec(null, 9000, null, null));
    var container = r.getSpec().getPodTemplate().getSpec().getContainers().get(0);
    assertThat(container.getResources().getLimits()).containsEntry("memory", new Quantity("1Gi"));
    assertThat(container.getLivenessProbe().getTcpSocket().getPort().getStrVal()).isEqualTo("api");
    assertThat(r.getStatus().getVersions()).containsEntry("v1", "ba9876543210");
    assertThat(r.getStatus().getWarmPool()).isEqualTo(new WarmPoolStatus(1, 1));
    assertThat(r.getStatus().getConditions().get(0).getObservedGeneration()).isEqualTo(3L);
  }

  @Test
  void read_codeInterpreterAuthMode_lowerCaseOnTheWire() {
    CodeInterpreter ci = YAML.readValue(CODE_INTERPRETER, CodeInterpreter.class);

    assertThat(ci.getSpec().getAuthMode()).isEqualTo(CodeInterpreterSpec.AuthMode.NONE);
    assertThat(YAML.valueToTree(ci).at("/spec/authMode").asString()).isEqualTo("none");
  }

  @Test
  void read_seedSpellingsPortsAndTemplate_writtenAsTargetPortAndPodTemplate() {
    AgentRuntime r = YAML.readValue("""
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentRuntime
        metadata: {name: agent}
        spec:
          ports: [{port: 8080}]
          template: {spec: {containers: [{name: main, command: [run]}]}}
        """, AgentRuntime.class);

    assertThat(r.getSpec().getTargetPort()).containsExactly(new TargetPortSpec(null, 8080, null, null));
    assertThat(r.getSpec().getPodTemplate().getSpec().getContainers().get(0).getCommand()).containsExactly("run");
    JsonNode spec = YAML.valueToTree(r).get("spec");
    assertThat(spec.has("targetPort")).isTrue();
    assertThat(spec.has("podTemplate")).isTrue();
    assertThat(spec.has("ports")).isFalse();
    assertThat(spec.has("template")).isFalse();
  }

  @Test
  void read_leftOutFields_stayNullSoTheyAreNotWritten() {
    // Defaults are applied by the API server (CRD defaults) and by RuntimeParser, not by the beans:
    // a document without them writes back without them.
    CodeInterpreter ci = YAML.readValue("""
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata: {name: python}
        spec: {}
        """, CodeInterpreter.class);

    assertThat(ci.getSpec().getPorts()).isNull();
    assertThat(ci.getSpec().getSessionTimeout()).isNull();
    assertThat(ci.getSpec().getAuthMode()).isNull();
    assertThat(YAML.valueToTree(ci).get("spec").isEmpty()).isTrue();
  }

  @Test
  void customResourceNames_matchTheCrds() {
    assertThat(new AgentRuntime().getCRDName()).isEqualTo("agentruntimes.runtime.agentcube.volcano.sh");
    assertThat(new CodeInterpreter().getCRDName()).isEqualTo("codeinterpreters.runtime.agentcube.volcano.sh");
    assertThat(new AgentEndpoint().getCRDName()).isEqualTo("agentendpoints.runtime.agentcube.volcano.sh");
    assertThat(new CodeInterpreterEndpoint().getCRDName())
        .isEqualTo("codeinterpreterendpoints.runtime.agentcube.volcano.sh");
    assertThat(new CodeInterpreter().getScope()).isEqualTo("Namespaced");
    assertThat(CustomResource.getShortNames(CodeInterpreterEndpoint.class)).containsExactly("ciep");
  }
}
