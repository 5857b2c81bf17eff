package io.agentcube.sandbox.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeParser;
import io.agentcube.sandbox.DefinitionCodec;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pod a runtime version becomes: the template as declared, plus the proxy's bookkeeping. */
class PodFactoryTest {

  private static RuntimeDefinition only(String yaml) {
    return RuntimeParser.parse(yaml, "test.yaml").runtimes().get(0).withVersion("v3");
  }

  private static final RuntimeDefinition AGENT = only("""
      apiVersion: runtime.agentcube.volcano.sh/v1alpha1
      kind: AgentRuntime
      metadata: {name: agent-one, namespace: team-a}
      spec:
        targetPort: [{name: http, port: 8000, pathPrefix: /}]
        podTemplate:
          labels: {team: a}
          annotations: {note: kept}
          spec:
            runtimeClassName: gvisor
            imagePullSecrets: [{name: regcred}]
            securityContext: {runAsNonRoot: true}
            volumes: [{name: cache, emptyDir: {}}]
            containers:
              - name: agent
                image: example/agent:1
                env:
                  - {name: PLAIN, value: "1"}
                  - name: FROM_SECRET
                    valueFrom: {secretKeyRef: {name: model, key: token}}
                resources: {limits: {cpu: "1", memory: 1Gi}}
                volumeMounts: [{name: cache, mountPath: /cache}]
      """);

  private static final RuntimeDefinition INTERPRETER = only("""
      apiVersion: runtime.agentcube.volcano.sh/v1alpha1
      kind: CodeInterpreter
      metadata: {name: py, namespace: team-a}
      spec:
        template:
          image: ghcr.io/volcano-sh/picod:latest
          imagePullPolicy: IfNotPresent
          runtimeClassName: kata
          args: [--workspace=/workspace]
          environment: [{name: PYTHONUNBUFFERED, value: "1"}]
          resources: {requests: {cpu: 250m}}
      """);

  @Test
  void build_agentRuntime_keepsTheWholeTemplateAndAddsOurLabels() {
    Pod pod = PodFactory.build(AGENT, null, Map.of(), null, null);

    assertThat(pod.getMetadata().getNamespace()).isEqualTo("team-a");
    assertThat(pod.getMetadata().getName()).matches("agent-one-v3-[a-z0-9]{10}");
    assertThat(pod.getMetadata().getLabels()).containsEntry("team", "a")
        .containsEntry("app.kubernetes.io/managed-by", "agentcube-proxy")
        .containsEntry("runtime.agentcube.volcano.sh/kind", "AgentRuntime")
        .containsEntry("runtime.agentcube.volcano.sh/runtime", "agent-one")
        .containsEntry("runtime.agentcube.volcano.sh/version", "v3")
        .containsEntry("runtime.agentcube.volcano.sh/template-hash", AGENT.templateHash())
        .containsEntry("runtime.agentcube.volcano.sh/state", "warm")
        .doesNotContainKey("runtime.agentcube.volcano.sh/session-id");
    assertThat(pod.getMetadata().getAnnotations()).containsEntry("note", "kept");
    var spec = pod.getSpec();
    assertThat(spec.getRuntimeClassName()).isEqualTo("gvisor");
    assertThat(spec.getImagePullSecrets()).singleElement().satisfies(s -> assertThat(s.getName()).isEqualTo("regcred"));
    assertThat(spec.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(spec.getVolumes()).singleElement().satisfies(v -> assertThat(v.getName()).isEqualTo("cache"));
    assertThat(spec.getContainers().get(0).getEnv()).extracting(EnvVar::getName).containsExactly("PLAIN", "FROM_SECRET");
    assertThat(spec.getContainers().get(0).getEnv().get(1).getValueFrom().getSecretKeyRef().getKey()).isEqualTo("token");
    assertThat(spec.getContainers().get(0).getResources().getLimits()).containsKeys("cpu", "memory");
    assertThat(spec.getRestartPolicy()).as("a dead sandbox is a lost session").isEqualTo("Never");
    assertThat(spec.getAutomountServiceAccountToken()).as("no API token in sandboxes").isFalse();
  }

  @Test
  void build_definitionAnnotation_readsBackAsTheSameServingDefinition() {
    Pod pod = PodFactory.build(AGENT, null, Map.of(), null, null);
    RuntimeDefinition back = DefinitionCodec.decode(new JsonObject(
        pod.getMetadata().getAnnotations().get(Labels.DEFINITION)));
    assertThat(back.ref()).isEqualTo(AGENT.ref());
    assertThat(back.version()).isEqualTo("v3");
    assertThat(back.ports()).isEqualTo(AGENT.ports());
    assertThat(back.sessionTimeout()).isEqualTo(AGENT.sessionTimeout());
  }

  @Test
  void build_codeInterpreter_oneContainerFromTheFlatTemplate_withThePublicKey() {
    Pod pod = PodFactory.build(INTERPRETER, new OwnerReferenceBuilder().withKind("CodeInterpreter")
        .withName("py").withUid("u-1").withApiVersion("runtime.agentcube.volcano.sh/v1alpha1").build(),
        Map.of("PICOD_AUTH_PUBLIC_KEY", "PEM"), "sess-1", Instant.parse("2026-12-03T10:00:00Z"));

    var c = pod.getSpec().getContainers().get(0);
    assertThat(c.getName()).isEqualTo("sandbox");
    assertThat(c.getImage()).isEqualTo("ghcr.io/volcano-sh/picod:latest");
    assertThat(c.getImagePullPolicy()).isEqualTo("IfNotPresent");
    assertThat(c.getArgs()).containsExactly("--workspace=/workspace");
    assertThat(c.getPorts()).singleElement().satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(8080));
    assertThat(c.getEnv()).extracting(EnvVar::getName).containsExactly("PYTHONUNBUFFERED", "PICOD_AUTH_PUBLIC_KEY");
    assertThat(pod.getSpec().getRuntimeClassName()).isEqualTo("kata");
    assertThat(pod.getMetadata().getOwnerReferences()).singleElement()
        .satisfies(o -> assertThat(o.getUid()).isEqualTo("u-1"));
    // A cold start's pod is bound to its session from the start.
    assertThat(pod.getMetadata().getLabels()).containsEntry("runtime.agentcube.volcano.sh/state", "bound")
        .containsEntry("runtime.agentcube.volcano.sh/session-id", "sess-1");
    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry(Labels.SESSION_CREATED, "2026-12-03T10:00:00Z")
        .containsEntry(Labels.LAST_ACTIVITY, "2026-12-03T10:00:00Z");
  }

  @Test
  void build_extraEnvOfTheSameName_replacesTheTemplates_andTheTemplateIsNotMutated() {
    RuntimeDefinition d = only("""
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata: {name: py}
        spec:
          template:
            image: picod:1
            environment: [{name: PICOD_AUTH_PUBLIC_KEY, value: forged}]
        """);
    Pod pod = PodFactory.build(d, null, Map.of("PICOD_AUTH_PUBLIC_KEY", "real"), null, null);

    assertThat(pod.getSpec().getContainers().get(0).getEnv()).singleElement()
        .satisfies(e -> assertThat(e.getValue()).isEqualTo("real"));
    assertThat(d.template().pod().getSpec().getContainers().get(0).getEnv()).singleElement()
        .satisfies(e -> assertThat(e.getValue()).isEqualTo("forged"));
    assertThat(d.template().pod().getSpec().getRestartPolicy()).isNull();
  }

  @Test
  void build_noPodTemplate_isRefusedWithTheRuntimeNamed() {
    RuntimeDefinition restored = AGENT.withVersion("v1");
    RuntimeDefinition bare = new RuntimeDefinition(restored.ref(), "v1", "h", restored.ports(),
        new io.agentcube.runtime.SandboxTemplate(null, java.util.List.of("x"), java.util.List.of(),
            Map.of(), null), restored.sessionTimeout(), restored.maxSessionDuration(), 0,
        restored.authMode(), java.util.List.of(), "marker");
    assertThatThrownBy(() -> PodFactory.build(bare, null, Map.of(), null, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("agent-one");
  }

  @Test
  void isLabelValue_generatedIdsPass_hostileOnesDoNot() {
    for (int i = 0; i < 200; i++) {
      assertThat(Labels.isLabelValue(io.agentcube.session.SessionIds.generate())).isTrue();
    }
    assertThat(Labels.isLabelValue("3f2c1a7e-9b1d-4c3e-8f00-1234567890ab")).isTrue();
    assertThat(Labels.isLabelValue("_starts-badly")).isFalse();
    assertThat(Labels.isLabelValue("ends-badly-")).isFalse();
    assertThat(Labels.isLabelValue("a,b")).isFalse();
    assertThat(Labels.isLabelValue("x".repeat(64))).isFalse();
    assertThat(Labels.isLabelValue("")).isFalse();
  }
}
