package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.DefinitionCodec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds a sandbox pod from a runtime version's template: the template's own labels,
 * annotations and full spec (copied, never mutated), plus ours: the labels of {@link Labels}, the
 * definition annotation, an owner reference to the runtime object, the first container's extra
 * environment (the PicoD public key), {@code restartPolicy: Never} (a sandbox that dies is a lost
 * session, not a restarted one), and no service-account token unless the template asks for one.
 *
 * <p>Stateless and thread-safe.
 */
final class PodFactory {

  private PodFactory() {}

  /**
   * A pod of {@code d}: warm when {@code sessionId} is null, else bound to that session from the
   * start (a cold start for a waiting request).
   *
   * @param owner the runtime object's owner reference, or {@code null} when unknown
   */
  static Pod build(RuntimeDefinition d, OwnerReference owner, Map<String, String> extraEnv,
      String sessionId, Instant createdAt) {
    return build(d, owner, extraEnv, sessionId, createdAt, null);
  }

  /** As above, for a session owned by {@code sessionOwner} (annotated when not null). */
  static Pod build(RuntimeDefinition d, OwnerReference owner, Map<String, String> extraEnv,
      String sessionId, Instant createdAt, String sessionOwner) {
    PodTemplateSpec template = d.template().pod();
    if (template == null || template.getSpec() == null
        || template.getSpec().getContainers() == null || template.getSpec().getContainers().isEmpty()) {
      throw new IllegalArgumentException(d.ref() + " has no pod template with a container");
    }
    PodSpec spec = new PodSpecBuilder(template.getSpec()).build();
    if (spec.getRestartPolicy() == null) {
      spec.setRestartPolicy("Never");
    }
    if (spec.getAutomountServiceAccountToken() == null && spec.getServiceAccountName() == null) {
      spec.setAutomountServiceAccountToken(false);
    }
    List<Container> containers = new ArrayList<>(spec.getContainers());
    if (!extraEnv.isEmpty()) {
      Container first = containers.get(0);
      List<EnvVar> env = new ArrayList<>(first.getEnv() == null ? List.of() : first.getEnv());
      env.removeIf(e -> extraEnv.containsKey(e.getName()));
      extraEnv.forEach((k, v) -> env.add(new EnvVar(k, v, null)));
      containers.set(0, new ContainerBuilder(first).withEnv(env).build());
      spec.setContainers(containers);
    }

    Map<String, String> labels = new LinkedHashMap<>();
    if (template.getMetadata() != null && template.getMetadata().getLabels() != null) {
      labels.putAll(template.getMetadata().getLabels());
    }
    labels.put(Labels.MANAGED_BY, Labels.MANAGER);
    labels.put(Labels.KIND, d.ref().kind().kind());
    labels.put(Labels.RUNTIME, d.ref().name());
    labels.put(Labels.VERSION, d.version());
    labels.put(Labels.TEMPLATE_HASH, d.templateHash());
    labels.put(Labels.STATE, sessionId == null ? Labels.WARM : Labels.BOUND);
    Map<String, String> annotations = new LinkedHashMap<>();
    if (template.getMetadata() != null && template.getMetadata().getAnnotations() != null) {
      annotations.putAll(template.getMetadata().getAnnotations());
    }
    annotations.put(Labels.DEFINITION, DefinitionCodec.encode(d).encode());
    if (sessionId != null) {
      labels.put(Labels.SESSION_ID, sessionId);
      annotations.put(Labels.SESSION_CREATED, createdAt.toString());
      annotations.put(Labels.LAST_ACTIVITY, createdAt.toString());
      if (sessionOwner != null) {
        annotations.put(Labels.SESSION_OWNER, sessionOwner);
      }
    }
    return new PodBuilder()
        .withNewMetadata()
          .withName(name(d))
          .withNamespace(d.ref().namespace())
          .withLabels(labels)
          .withAnnotations(annotations)
          .withOwnerReferences(owner == null ? List.of() : List.of(owner))
        .endMetadata()
        .withSpec(spec)
        .build();
  }

  /** {@code <runtime>-<version>-<10 random [a-z0-9]>}, at most 63 characters, DNS-safe. */
  static String name(RuntimeDefinition d) {
    String base = (d.ref().name() + "-" + d.version()).toLowerCase(Locale.ROOT)
        .replaceAll("[^a-z0-9-]", "-");
    if (base.length() > 50) {
      base = base.substring(0, 50);
    }
    StringBuilder suffix = new StringBuilder(10);
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < 10; i++) {
      suffix.append("abcdefghijklmnopqrstuvwxyz0123456789".charAt(r.nextInt(36)));
    }
    return base + "-" + suffix;
  }
}
