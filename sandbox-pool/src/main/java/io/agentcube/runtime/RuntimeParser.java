package io.agentcube.runtime;

import io.agentcube.runtime.api.AgentEndpoint;
import io.agentcube.runtime.api.AgentRuntime;
import io.agentcube.runtime.api.AgentRuntimeSpec;
import io.agentcube.runtime.api.CodeInterpreter;
import io.agentcube.runtime.api.CodeInterpreterEndpoint;
import io.agentcube.runtime.api.CodeInterpreterSpec;
import io.agentcube.runtime.api.CodeInterpreterTemplate;
import io.agentcube.runtime.api.EndpointSpec;
import io.agentcube.runtime.api.RuntimeApi;
import io.agentcube.runtime.api.TargetPortSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads runtime documents (YAML or JSON, several per file) into the typed model of
 * {@link io.agentcube.runtime.api}, validates them with {@link RuntimeValidation} and normalises
 * them into {@link RuntimeDefinition}s and {@link EndpointDefinition}s, collecting every problem
 * with the path of the field it concerns.
 *
 * <p>Two entry points share one conversion: {@link #parse} for files (the process backend), and
 * {@link #toDefinition(AgentRuntime)} / {@link #toDefinition(CodeInterpreter)} /
 * {@link #toEndpoint(AgentEndpoint)} / {@link #toEndpoint(CodeInterpreterEndpoint)} for typed
 * objects (the Kubernetes backend's informers). Both validate the same way; the defaults of
 * design.md §4 are applied here, so a document that leaves them out and one whose API server
 * filled them in give equal definitions.
 *
 * <p>A value that cannot be read into the model at all (a word where a port number belongs) is
 * reported by its field and reading goes on ({@link ModelReader}), so one run reports every problem
 * of a document.
 *
 * <p>Backend-neutral: fields that only one backend uses are read and kept; whether a backend can
 * run a definition is the backend's question ({@code SandboxBackend#problems}). Documents of other
 * kinds are skipped and reported through {@link Result#skipped()}. A document of kind
 * {@code CodeInterpreterRuntime} (the runtime API proposal's name) is read exactly as a
 * {@code CodeInterpreter}; its definition records the spelling in
 * {@link RuntimeDefinition#declaredKind()}. Stateless and thread-safe.
 */
public final class RuntimeParser {

  public static final String API_GROUP = RuntimeApi.GROUP;
  public static final String API_VERSION = RuntimeApi.API_VERSION;
  public static final String VERSION_ANNOTATION = RuntimeApi.VERSION_ANNOTATION;

  private static final String DEFAULT_NAMESPACE = "default";
  private static final YAMLMapper YAML = ModelReader.MAPPER;

  /**
   * What one file held. A runtime's {@link RuntimeDefinition#version()} is the value of its
   * {@value #VERSION_ANNOTATION} annotation, or {@code null} when it has none (the catalog then
   * names versions {@code v1}, {@code v2}, …).
   */
  public record Result(List<RuntimeDefinition> runtimes, List<EndpointDefinition> endpoints,
      List<String> skipped) {}

  private RuntimeParser() {}

  /**
   * Parses every document in {@code text}.
   *
   * @param source names the text in messages (a file path)
   * @throws RuntimeValidationException listing every problem found, when any is; problems of a
   *     file with several documents start with {@code document N: }
   */
  public static Result parse(String text, String source) {
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (it.hasNextValue()) {
        docs.add(it.nextValue());
      }
    } catch (JacksonException e) {
      throw new RuntimeValidationException(source, List.of("not valid YAML: " + e.getOriginalMessage()));
    }
    List<RuntimeDefinition> runtimes = new ArrayList<>();
    List<EndpointDefinition> endpoints = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < docs.size(); i++) {
      JsonNode doc = docs.get(i);
      if (doc == null || doc.isNull() || doc.isMissingNode()) {
        continue;
      }
      String prefix = docs.size() > 1 ? "document " + (i + 1) + ": " : "";
      String kind = doc.path("kind").asString("");
      // The proposal's CodeInterpreterRuntime reads as CodeInterpreter; the definition keeps the spelling.
      RuntimeKind runtimeKind = RuntimeKind.fromKind(kind);
      List<String> found = new ArrayList<>();
      switch (runtimeKind == null ? kind : runtimeKind.kind()) {
        case "AgentRuntime" -> add(runtimes, readDocument(doc, AgentRuntime.class, RuntimeValidation::validate,
            r -> convert(r, source), found));
        case "CodeInterpreter" -> add(runtimes, readDocument(doc, CodeInterpreter.class, RuntimeValidation::validate,
            c -> convert(c, kind, source), found));
        case "AgentEndpoint" -> add(endpoints, readDocument(doc, AgentEndpoint.class, RuntimeValidation::validate,
            e -> endpoint(RuntimeKind.AGENT_RUNTIME, e.getMetadata(), e.getSpec(), source), found));
        case "CodeInterpreterEndpoint" -> add(endpoints, readDocument(doc, CodeInterpreterEndpoint.class,
            RuntimeValidation::validate,
            e -> endpoint(RuntimeKind.CODE_INTERPRETER, e.getMetadata(), e.getSpec(), source), found));
        default -> skipped.add(prefix + "kind '" + kind + "' is not a runtime or an endpoint");
      }
      found.forEach(p -> problems.add(prefix + p));
    }
    if (!problems.isEmpty()) {
      throw new RuntimeValidationException(source, problems);
    }
    return new Result(runtimes, endpoints, skipped);
  }

  // ---- typed objects to definitions (shared with the Kubernetes backend)

  /**
   * Validates and normalises an AgentRuntime, e.g. one from an informer.
   *
   * @throws RuntimeValidationException naming every problem, when {@link RuntimeValidation} finds any
   */
  public static RuntimeDefinition toDefinition(AgentRuntime runtime) {
    return toDefinition(runtime, describe(runtime));
  }

  /** As {@link #toDefinition(AgentRuntime)}, with {@code source} naming the runtime in messages. */
  public static RuntimeDefinition toDefinition(AgentRuntime runtime, String source) {
    requireValid(RuntimeValidation.validate(runtime), source);
    return convert(runtime, source);
  }

  /**
   * Validates and normalises a CodeInterpreter, e.g. one from an informer.
   *
   * @throws RuntimeValidationException naming every problem, when {@link RuntimeValidation} finds any
   */
  public static RuntimeDefinition toDefinition(CodeInterpreter interpreter) {
    return toDefinition(interpreter, describe(interpreter));
  }

  /** As {@link #toDefinition(CodeInterpreter)}, with {@code source} naming the runtime in messages. */
  public static RuntimeDefinition toDefinition(CodeInterpreter interpreter, String source) {
    requireValid(RuntimeValidation.validate(interpreter), source);
    return convert(interpreter, RuntimeKind.CODE_INTERPRETER.kind(), source);
  }

  /**
   * Validates and normalises an AgentEndpoint. Whether its target exists is the catalog's question.
   *
   * @throws RuntimeValidationException naming every problem, when {@link RuntimeValidation} finds any
   */
  public static EndpointDefinition toEndpoint(AgentEndpoint endpoint) {
    String source = describe(endpoint);
    requireValid(RuntimeValidation.validate(endpoint), source);
    return endpoint(RuntimeKind.AGENT_RUNTIME, endpoint.getMetadata(), endpoint.getSpec(), source);
  }

  /**
   * Validates and normalises a CodeInterpreterEndpoint. Whether its target exists is the catalog's question.
   *
   * @throws RuntimeValidationException naming every problem, when {@link RuntimeValidation} finds any
   */
  public static EndpointDefinition toEndpoint(CodeInterpreterEndpoint endpoint) {
    String source = describe(endpoint);
    requireValid(RuntimeValidation.validate(endpoint), source);
    return endpoint(RuntimeKind.CODE_INTERPRETER, endpoint.getMetadata(), endpoint.getSpec(), source);
  }

  private static void requireValid(List<String> problems, String source) {
    if (!problems.isEmpty()) {
      throw new RuntimeValidationException(source, problems);
    }
  }

  private static String describe(HasMetadata o) {
    ObjectMeta m = o.getMetadata();
    String ns = m == null || m.getNamespace() == null ? DEFAULT_NAMESPACE : m.getNamespace();
    return o.getKind() + " " + ns + "/" + (m == null ? null : m.getName());
  }

  /** An AgentRuntime runs the first container of its pod template in the process backend. */
  private static RuntimeDefinition convert(AgentRuntime r, String source) {
    AgentRuntimeSpec spec = r.getSpec();
    Container c = spec.getPodTemplate().getSpec().getContainers().get(0);
    PodTemplateSpec pod = new PodTemplateSpecBuilder()
        .withNewMetadata()
          .withLabels(spec.getPodTemplate().getLabels())
          .withAnnotations(spec.getPodTemplate().getAnnotations())
        .endMetadata()
        .withSpec(new PodSpecBuilder(spec.getPodTemplate().getSpec()).build())
        .build();
    SandboxTemplate template = new SandboxTemplate(c.getImage(), orEmpty(c.getCommand()), orEmpty(c.getArgs()),
        env(c.getEnv()), c.getWorkingDir(), pod);
    List<TargetPortSpec> ports = spec.getTargetPort() == null ? AgentRuntimeSpec.DEFAULT_PORTS : spec.getTargetPort();
    return new RuntimeDefinition(ref(RuntimeKind.AGENT_RUNTIME, r.getMetadata()), version(r.getMetadata()),
        hash(spec.getPodTemplate(), ports), ports(ports), template,
        duration(spec.getSessionTimeout(), AgentRuntimeSpec.DEFAULT_SESSION_TIMEOUT),
        duration(spec.getMaxSessionDuration(), AgentRuntimeSpec.DEFAULT_MAX_SESSION_DURATION),
        spec.getWarmPoolSize() == null ? AgentRuntimeSpec.DEFAULT_WARM_POOL_SIZE : spec.getWarmPoolSize(),
        AuthMode.NONE, List.of(), source);
  }

  /**
   * A CodeInterpreter's flat template; no command means the process backend's bundled sandboxd.
   * {@code declaredKind} is how the document spelled the kind (see {@link RuntimeKind#fromKind}).
   */
  private static RuntimeDefinition convert(CodeInterpreter ci, String declaredKind, String source) {
    CodeInterpreterSpec spec = ci.getSpec();
    CodeInterpreterTemplate t = spec.getTemplate() == null ? new CodeInterpreterTemplate() : spec.getTemplate();
    List<TargetPortSpec> ports = spec.getPorts() == null ? CodeInterpreterSpec.DEFAULT_PORTS : spec.getPorts();
    SandboxTemplate template = new SandboxTemplate(t.getImage(), orEmpty(t.getCommand()), orEmpty(t.getArgs()),
        env(t.getEnvironment()), t.getWorkingDir(), pod(t, ports(ports)));
    CodeInterpreterSpec.AuthMode auth = spec.getAuthMode() == null ? CodeInterpreterSpec.DEFAULT_AUTH_MODE
        : spec.getAuthMode();
    return new RuntimeDefinition(ref(RuntimeKind.CODE_INTERPRETER, ci.getMetadata()), version(ci.getMetadata()),
        hash(spec.getTemplate(), ports), ports(ports), template,
        duration(spec.getSessionTimeout(), CodeInterpreterSpec.DEFAULT_SESSION_TIMEOUT),
        duration(spec.getMaxSessionDuration(), CodeInterpreterSpec.DEFAULT_MAX_SESSION_DURATION),
        spec.getWarmPoolSize() == null ? CodeInterpreterSpec.DEFAULT_WARM_POOL_SIZE : spec.getWarmPoolSize(),
        auth == CodeInterpreterSpec.AuthMode.NONE ? AuthMode.NONE : AuthMode.PICOD,
        orEmpty(spec.getLanguages()), source, declaredKind);
  }

  /**
   * The pod a CodeInterpreter's flat template describes: one container named {@code sandbox} with
   * the image, pull policy, command, args, environment (as declared, {@code valueFrom} included),
   * resources, working directory and a container port per target port; the pod's runtime class,
   * pull secrets, labels and annotations.
   */
  private static PodTemplateSpec pod(CodeInterpreterTemplate t, List<TargetPort> ports) {
    ContainerBuilder c = new ContainerBuilder()
        .withName("sandbox")
        .withImage(t.getImage())
        .withImagePullPolicy(t.getImagePullPolicy())
        .withCommand(orEmpty(t.getCommand()))
        .withArgs(orEmpty(t.getArgs()))
        .withEnv(t.getEnvironment() == null ? List.of() : t.getEnvironment())
        .withResources(t.getResources())
        .withWorkingDir(t.getWorkingDir());
    for (TargetPort p : ports) {
      c.addNewPort().withName(p.name()).withContainerPort(p.port()).withProtocol("TCP").endPort();
    }
    return new PodTemplateSpecBuilder()
        .withNewMetadata().withLabels(t.getLabels()).withAnnotations(t.getAnnotations()).endMetadata()
        .withNewSpec()
          .withRuntimeClassName(t.getRuntimeClassName())
          .withImagePullSecrets(t.getImagePullSecrets() == null ? List.of() : t.getImagePullSecrets())
          .withContainers(c.build())
        .endSpec()
        .build();
  }

  private static EndpointDefinition endpoint(RuntimeKind kind, ObjectMeta meta, EndpointSpec spec, String source) {
    String version = spec.getVersion() == null || spec.getVersion().isEmpty() ? null : spec.getVersion();
    long generation = meta.getGeneration() == null ? 1 : meta.getGeneration();
    return new EndpointDefinition(kind, namespace(meta), meta.getName(), spec.getTarget(), version, generation,
        source);
  }

  private static RuntimeRef ref(RuntimeKind kind, ObjectMeta meta) {
    return new RuntimeRef(kind, namespace(meta), meta.getName());
  }

  private static String namespace(ObjectMeta meta) {
    return meta.getNamespace() == null ? DEFAULT_NAMESPACE : meta.getNamespace();
  }

  private static String version(ObjectMeta meta) {
    Map<String, String> annotations = meta.getAnnotations();
    return annotations == null ? null : annotations.get(VERSION_ANNOTATION);
  }

  private static List<TargetPort> ports(List<TargetPortSpec> ports) {
    return ports.stream().map(p -> new TargetPort(p.getName(), p.getPort(),
        p.getProtocol() == TargetPortSpec.Protocol.HTTPS ? TargetPort.Protocol.HTTPS : TargetPort.Protocol.HTTP,
        p.getPathPrefix())).toList();
  }

  private static Duration duration(String value, String dflt) {
    return Durations.parse(value == null ? dflt : value);
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }

  /** Environment in declaration order; {@code valueFrom} (secrets, field refs) has no local meaning: empty. */
  private static Map<String, String> env(List<EnvVar> env) {
    Map<String, String> out = new LinkedHashMap<>();
    if (env != null) {
      for (EnvVar e : env) {
        out.put(e.getName(), e.getValue() == null ? "" : e.getValue());
      }
    }
    return out;
  }

  // ---- the template hash

  /**
   * A short hash over the template as declared and the ports with their defaults applied, taken
   * over JSON with object keys sorted: it depends on what the template says, not on the order
   * its keys were written in, nor on the spelling ({@code ports} or {@code targetPort}), nor on
   * whether an API server filled in a port's default protocol.
   */
  static String hash(Object template, List<TargetPortSpec> ports) {
    List<TargetPortSpec> effective = ports.stream().map(p -> new TargetPortSpec(p.getName(), p.getPort(),
        p.getProtocol() == null ? TargetPortSpec.Protocol.HTTP : p.getProtocol(), p.getPathPrefix())).toList();
    String canonical = canonical(template == null ? YAML.missingNode() : YAML.valueToTree(template))
        + "|" + canonical(YAML.valueToTree(effective));
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String canonical(JsonNode node) {
    if (node.isMissingNode()) {
      return "";
    }
    if (node.isObject()) {
      StringBuilder sb = new StringBuilder("{");
      node.properties().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
        if (sb.length() > 1) {
          sb.append(',');
        }
        sb.append(JsonNodeFactory.instance.stringNode(e.getKey())).append(':').append(canonical(e.getValue()));
      });
      return sb.append('}').toString();
    }
    if (node.isArray()) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < node.size(); i++) {
        sb.append(i > 0 ? "," : "").append(canonical(node.get(i)));
      }
      return sb.append(']').toString();
    }
    return node.toString();
  }

  // ---- reading one document into the model

  private static <T> void add(List<T> into, T value) {
    if (value != null) {
      into.add(value);
    }
  }

  /**
   * Reads {@code doc} as {@code type}, validates it and converts it, adding every problem to
   * {@code problems}; returns the conversion, or {@code null} when there was any problem.
   */
  private static <R extends HasMetadata, D> D readDocument(JsonNode doc, Class<R> type,
      Function<R, List<String>> validate, Function<R, D> convert, List<String> problems) {
    List<String> found = new ArrayList<>();
    String apiVersion = doc.path("apiVersion").asString("");
    if (!apiVersion.equals(API_VERSION)) {
      found.add("apiVersion: must be " + API_VERSION + ", was '" + apiVersion + "'");
    }
    ObjectNode tree = doc.isObject() ? (ObjectNode) doc.deepCopy() : YAML.createObjectNode();
    // Checked above; a CustomResource computes both from its annotations (and logs when set).
    tree.remove("apiVersion");
    tree.remove("kind");
    Map<String, String> aliases = type == AgentRuntime.class ? normaliseAliases(tree, found) : Map.of();
    List<String> unreadable = new ArrayList<>();
    R value = ModelReader.read(tree, type, found, unreadable);
    if (value != null) {
      for (String p : validate.apply(value)) {
        if (unreadable.stream().noneMatch(u -> concerns(p, u))) {
          found.add(p);
        }
      }
    }
    for (String p : found) {
      problems.add(spelledAsWritten(p, aliases));
    }
    return found.isEmpty() && value != null ? convert.apply(value) : null;
  }

  /**
   * Renames the seed spellings {@code spec.ports} / {@code spec.template} of an AgentRuntime to
   * the canonical names in {@code tree}, so that mapping errors name canonical paths; returns
   * canonical → written prefix, to put problems back in the user's words.
   */
  private static Map<String, String> normaliseAliases(ObjectNode tree, List<String> found) {
    Map<String, String> renamed = new LinkedHashMap<>();
    if (tree.get("spec") instanceof ObjectNode spec) {
      for (String[] pair : new String[][] {{"targetPort", "ports"}, {"podTemplate", "template"}}) {
        if (spec.has(pair[1]) && spec.has(pair[0])) {
          found.add("spec." + pair[1] + ": is another spelling of spec." + pair[0] + "; give one of them");
        } else if (spec.has(pair[1])) {
          spec.set(pair[0], spec.remove(pair[1]));
          renamed.put("spec." + pair[0], "spec." + pair[1]);
        }
      }
    }
    return renamed;
  }

  private static String spelledAsWritten(String problem, Map<String, String> aliases) {
    for (Map.Entry<String, String> a : aliases.entrySet()) {
      if (concerns(problem, a.getKey())) {
        return a.getValue() + problem.substring(a.getKey().length());
      }
    }
    return problem;
  }

  /** Whether {@code problem} ({@code field: message}) is about {@code field} or a field inside it. */
  private static boolean concerns(String problem, String field) {
    if (!problem.startsWith(field) || problem.length() == field.length()) {
      return false;
    }
    char next = problem.charAt(field.length());
    return next == ':' || next == '.' || next == '[';
  }
}
