package io.agentcube.runtime;

import io.agentcube.runtime.api.AgentEndpoint;
import io.agentcube.runtime.api.AgentRuntime;
import io.agentcube.runtime.api.CodeInterpreter;
import io.agentcube.runtime.api.CodeInterpreterEndpoint;
import io.agentcube.runtime.api.CodeInterpreterTemplate;
import io.agentcube.runtime.api.EndpointSpec;
import io.agentcube.runtime.api.PodTemplate;
import io.agentcube.runtime.api.RuntimeApi;
import io.agentcube.runtime.api.TargetPortSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules of design.md §4 that a schema cannot say (or that files must obey without an API
 * server), checked on the typed model so that runtime files and objects from informers are judged
 * by the same code. Each problem is one line, {@code <field path>: <what is wrong>}, e.g.
 * {@code spec.targetPort[1].name: duplicate port name 'http'}.
 *
 * <p>The model's fields are all optional in Java; a {@code null} means "left out" and takes the
 * default of design.md §4. Stateless and thread-safe.
 */
public final class RuntimeValidation {

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  /** A version name: a Kubernetes label value, so that pods can carry it. */
  private static final Pattern VERSION_NAME = Pattern.compile("[A-Za-z0-9]([-._A-Za-z0-9]*[A-Za-z0-9])?");
  private static final Pattern ENV_NAME = Pattern.compile("[-._a-zA-Z][-._a-zA-Z0-9]*");
  private static final Set<String> PULL_POLICIES = Set.of("Always", "Never", "IfNotPresent");
  private static final String VERSION_FIELD = "metadata.annotations[\"" + RuntimeApi.VERSION_ANNOTATION + "\"]";

  private RuntimeValidation() {}

  /** Problems of an AgentRuntime; empty when it is usable. */
  public static List<String> validate(AgentRuntime runtime) {
    Problems p = new Problems();
    runtimeMetadata(runtime.getMetadata(), p);
    var spec = runtime.getSpec();
    if (spec == null) {
      p.add("spec", "required");
      return p.list;
    }
    ports(spec.getTargetPort(), "spec.targetPort", p);
    podTemplate(spec.getPodTemplate(), "spec.podTemplate", p);
    duration(spec.getSessionTimeout(), "spec.sessionTimeout", p);
    duration(spec.getMaxSessionDuration(), "spec.maxSessionDuration", p);
    warmPoolSize(spec.getWarmPoolSize(), p);
    return p.list;
  }

  /** Problems of a CodeInterpreter; empty when it is usable. */
  public static List<String> validate(CodeInterpreter interpreter) {
    Problems p = new Problems();
    runtimeMetadata(interpreter.getMetadata(), p);
    var spec = interpreter.getSpec();
    if (spec == null) {
      p.add("spec", "required");
      return p.list;
    }
    ports(spec.getPorts(), "spec.ports", p);
    interpreterTemplate(spec.getTemplate(), "spec.template", p);
    duration(spec.getSessionTimeout(), "spec.sessionTimeout", p);
    duration(spec.getMaxSessionDuration(), "spec.maxSessionDuration", p);
    warmPoolSize(spec.getWarmPoolSize(), p);
    List<String> languages = spec.getLanguages();
    if (languages != null) {
      for (int i = 0; i < languages.size(); i++) {
        if (languages.get(i) == null || languages.get(i).isBlank()) {
          p.add("spec.languages[" + i + "]", "must be a language name, was empty");
        }
      }
    }
    return p.list;
  }

  /** Problems of an AgentEndpoint; empty when it is well-formed (whether its target exists is not checked here). */
  public static List<String> validate(AgentEndpoint endpoint) {
    return endpoint(endpoint.getMetadata(), endpoint.getSpec());
  }

  /** Problems of a CodeInterpreterEndpoint; empty when it is well-formed (whether its target exists is not checked here). */
  public static List<String> validate(CodeInterpreterEndpoint endpoint) {
    return endpoint(endpoint.getMetadata(), endpoint.getSpec());
  }

  private static List<String> endpoint(ObjectMeta meta, EndpointSpec spec) {
    Problems p = new Problems();
    metadata(meta, p);
    if (spec == null) {
      p.add("spec", "required");
      return p.list;
    }
    String target = spec.getTarget();
    if (target == null || target.isEmpty()) {
      p.add("spec.target", "required (the name of a runtime in this namespace)");
    } else if (!isDnsLabel(target)) {
      p.add("spec.target", "must be the name of a runtime (a DNS label), was '" + target + "'");
    }
    String version = spec.getVersion();
    if (version != null && !version.isEmpty()) {
      versionName(version, "spec.version", p);
    }
    return p.list;
  }

  // ---- metadata

  private static void runtimeMetadata(ObjectMeta meta, Problems p) {
    metadata(meta, p);
    Map<String, String> annotations = meta == null ? null : meta.getAnnotations();
    if (annotations != null && annotations.containsKey(RuntimeApi.VERSION_ANNOTATION)) {
      versionName(annotations.get(RuntimeApi.VERSION_ANNOTATION), VERSION_FIELD, p);
    }
  }

  private static void metadata(ObjectMeta meta, Problems p) {
    String name = meta == null ? null : meta.getName();
    if (name == null || name.isEmpty()) {
      p.add("metadata.name", "required");
    } else if (!isDnsLabel(name)) {
      p.add("metadata.name", "must be a DNS label (lower-case letters, digits, '-'; at most 63), was '" + name + "'");
    }
    String namespace = meta == null ? null : meta.getNamespace();
    if (namespace != null && !isDnsLabel(namespace)) {
      p.add("metadata.namespace", "must be a DNS label, was '" + namespace + "'");
    }
  }

  private static void versionName(String version, String field, Problems p) {
    if (version == null || version.length() > 63 || !VERSION_NAME.matcher(version).matches()) {
      p.add(field, "must be a version name (letters, digits, '-', '_', '.'; at most 63), was '" + version + "'");
    }
  }

  private static boolean isDnsLabel(String s) {
    return s.length() <= 63 && DNS_LABEL.matcher(s).matches();
  }

  // ---- spec

  private static void ports(List<TargetPortSpec> ports, String field, Problems p) {
    if (ports == null) {
      return; // the default port
    }
    if (ports.isEmpty()) {
      p.add(field, "must be a non-empty list of ports");
      return;
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < ports.size(); i++) {
      String at = field + "[" + i + "]";
      TargetPortSpec port = ports.get(i);
      if (port == null) {
        p.add(at, "must be a port ({port, name?, protocol?, pathPrefix?})");
        continue;
      }
      if (port.getName() != null && !names.add(port.getName())) {
        p.add(at + ".name", "duplicate port name '" + port.getName() + "'");
      }
      Integer number = port.getPort();
      if (number == null || number < 1 || number > 65535) {
        p.add(at + ".port", "must be a port number 1..65535, was " + (number == null ? "missing" : number));
      }
      String prefix = port.getPathPrefix();
      if (prefix != null && !prefix.startsWith("/")) {
        p.add(at + ".pathPrefix", "must start with '/', was '" + prefix + "'");
      }
    }
  }

  private static void duration(String value, String field, Problems p) {
    if (value == null) {
      return; // the default
    }
    try {
      Duration d = Durations.parse(value);
      if (d.isZero()) {
        p.add(field, "must be greater than 0");
      }
    } catch (IllegalArgumentException e) {
      p.add(field, e.getMessage());
    }
  }

  private static void warmPoolSize(Integer size, Problems p) {
    if (size != null && size < 0) {
      p.add("spec.warmPoolSize", "must be an integer >= 0, was " + size);
    }
  }

  private static void podTemplate(PodTemplate template, String field, Problems p) {
    if (template == null) {
      p.add(field, "required (a pod template with spec.containers)");
      return;
    }
    List<Container> containers = template.getSpec() == null ? null : template.getSpec().getContainers();
    if (containers == null || containers.isEmpty()) {
      p.add(field + ".spec.containers", "must list at least one container");
      return;
    }
    for (int i = 0; i < containers.size(); i++) {
      String at = field + ".spec.containers[" + i + "]";
      Container c = containers.get(i);
      if (c == null) {
        p.add(at, "must be a container");
        continue;
      }
      boolean noImage = c.getImage() == null || c.getImage().isBlank();
      boolean noCommand = c.getCommand() == null || c.getCommand().isEmpty();
      if (noImage && noCommand) {
        p.add(at, "needs an image or a command");
      }
      strings(c.getCommand(), at + ".command", p);
      strings(c.getArgs(), at + ".args", p);
      env(c.getEnv(), at + ".env", p);
      pullPolicy(c.getImagePullPolicy(), at + ".imagePullPolicy", p);
    }
  }

  /** A CodeInterpreter needs neither image nor command: the process backend then runs sandboxd. */
  private static void interpreterTemplate(CodeInterpreterTemplate template, String field, Problems p) {
    if (template == null) {
      return;
    }
    strings(template.getCommand(), field + ".command", p);
    strings(template.getArgs(), field + ".args", p);
    env(template.getEnvironment(), field + ".environment", p);
    pullPolicy(template.getImagePullPolicy(), field + ".imagePullPolicy", p);
  }

  private static void strings(List<String> list, String field, Problems p) {
    if (list == null) {
      return;
    }
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i) == null) {
        p.add(field + "[" + i + "]", "must be a string, was null");
      }
    }
  }

  private static void env(List<EnvVar> env, String field, Problems p) {
    if (env == null) {
      return;
    }
    for (int i = 0; i < env.size(); i++) {
      EnvVar e = env.get(i);
      String name = e == null ? null : e.getName();
      if (name == null || !ENV_NAME.matcher(name).matches()) {
        p.add(field + "[" + i + "].name", "must be a valid environment variable name, was '" + name + "'");
      }
    }
  }

  private static void pullPolicy(String policy, String field, Problems p) {
    if (policy != null && !PULL_POLICIES.contains(policy)) {
      p.add(field, "must be Always, Never or IfNotPresent, was '" + policy + "'");
    }
  }

  /** Collects {@code field: message} lines in the order found. */
  private static final class Problems {
    final List<String> list = new ArrayList<>();

    void add(String field, String message) {
      list.add(field + ": " + message);
    }
  }
}
