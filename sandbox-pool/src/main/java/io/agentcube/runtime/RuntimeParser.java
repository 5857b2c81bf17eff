package io.agentcube.runtime;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads {@code AgentRuntime} and {@code CodeInterpreter} documents (YAML or JSON, several per
 * file) into {@link RuntimeDefinition}s, applying the defaults of design.md §4 and collecting
 * every problem with the path of the field it concerns.
 *
 * <p>Backend-neutral: fields that only one backend uses are read and kept; whether a backend can
 * run a definition is the backend's question ({@code SandboxBackend#problems}). Documents of other
 * kinds are skipped and reported through {@link Result#skipped()}.
 */
public final class RuntimeParser {

  public static final String API_GROUP = "runtime.agentcube.volcano.sh";
  public static final String API_VERSION = API_GROUP + "/v1alpha1";
  public static final String VERSION_ANNOTATION = API_GROUP + "/version";

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern ENV_NAME = Pattern.compile("[-._a-zA-Z][-._a-zA-Z0-9]*");
  private static final YAMLMapper YAML = YAMLMapper.builder().build();

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
   * @throws RuntimeValidationException listing every problem found, when any is
   */
  public static Result parse(String text, String source) {
    List<RuntimeDefinition> runtimes = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (it.hasNextValue()) {
        docs.add(it.nextValue());
      }
    } catch (JacksonException e) {
      throw new RuntimeValidationException(source, List.of("not valid YAML: " + e.getOriginalMessage()));
    }
    for (int i = 0; i < docs.size(); i++) {
      JsonNode doc = docs.get(i);
      if (doc == null || doc.isNull() || doc.isMissingNode()) {
        continue;
      }
      String prefix = docs.size() > 1 ? "document " + (i + 1) + ": " : "";
      String kindName = doc.path("kind").asString("");
      RuntimeKind kind = RuntimeKind.fromKind(kindName);
      if (kind == null) {
        skipped.add(prefix + "kind '" + kindName + "' is not a runtime");
        continue;
      }
      Fields f = new Fields(prefix);
      RuntimeDefinition def = read(kind, doc, f, source);
      if (f.problems.isEmpty()) {
        runtimes.add(def);
      } else {
        problems.addAll(f.problems);
      }
    }
    if (!problems.isEmpty()) {
      throw new RuntimeValidationException(source, problems);
    }
    return new Result(runtimes, List.of(), skipped);
  }

  private static RuntimeDefinition read(RuntimeKind kind, JsonNode doc, Fields f, String source) {
    String apiVersion = doc.path("apiVersion").asString("");
    if (!apiVersion.equals(API_VERSION)) {
      f.problem("apiVersion", "must be " + API_VERSION + ", was '" + apiVersion + "'");
    }
    JsonNode meta = doc.path("metadata");
    String name = f.requiredString(meta, "metadata.name");
    if (name != null && (name.length() > 63 || !DNS_LABEL.matcher(name).matches())) {
      f.problem("metadata.name", "must be a DNS label (lower-case letters, digits, '-'; at most 63), was '" + name + "'");
    }
    String namespace = meta.path("namespace").asString("default");
    if (!DNS_LABEL.matcher(namespace).matches()) {
      f.problem("metadata.namespace", "must be a DNS label, was '" + namespace + "'");
    }
    String version = meta.path("annotations").path(VERSION_ANNOTATION).asString("v1");

    JsonNode spec = doc.path("spec");
    if (!spec.isObject()) {
      f.problem("spec", "required");
      spec = YAML.createObjectNode();
    }
    boolean agent = kind == RuntimeKind.AGENT_RUNTIME;
    String portsField = agent ? first(spec, "targetPort", "ports") : first(spec, "ports", "targetPort");
    List<TargetPort> ports = readPorts(spec.path(portsField), "spec." + portsField, f);
    String templateField = agent ? first(spec, "podTemplate", "template") : first(spec, "template", "podTemplate");
    JsonNode templateNode = spec.path(templateField);
    SandboxTemplate template = agent
        ? readPodTemplate(templateNode, "spec." + templateField, f)
        : readCodeInterpreterTemplate(templateNode, "spec." + templateField, f);

    Duration sessionTimeout = f.duration(spec, "sessionTimeout", RuntimeDefinition.DEFAULT_SESSION_TIMEOUT);
    Duration maxDuration = f.duration(spec, "maxSessionDuration", RuntimeDefinition.DEFAULT_MAX_SESSION_DURATION);
    int warmPoolSize = f.nonNegativeInt(spec, "warmPoolSize", 0);
    AuthMode authMode = agent ? AuthMode.NONE : AuthMode.PICOD;
    JsonNode auth = spec.path("authMode");
    if (!auth.isMissingNode() && !auth.isNull()) {
      switch (auth.asString("")) {
        case "picod" -> authMode = AuthMode.PICOD;
        case "none" -> authMode = AuthMode.NONE;
        default -> f.problem("spec.authMode", "must be picod or none, was '" + auth.asString("") + "'");
      }
    }
    List<String> languages = new ArrayList<>();
    for (JsonNode l : spec.path("languages")) {
      languages.add(l.asString(""));
    }
    String hash = hash(canonical(templateNode) + "|" + canonical(spec.path(portsField)));
    if (!f.problems.isEmpty()) {
      return null;
    }
    return new RuntimeDefinition(new RuntimeRef(kind, namespace, name), version, hash, ports,
        template, sessionTimeout, maxDuration, warmPoolSize, authMode, languages, source);
  }

  private static String first(JsonNode spec, String canonical, String alias) {
    return spec.has(canonical) || !spec.has(alias) ? canonical : alias;
  }

  private static List<TargetPort> readPorts(JsonNode node, String path, Fields f) {
    if (node.isMissingNode() || node.isNull()) {
      return List.of(new TargetPort(null, 8080, TargetPort.Protocol.HTTP, "/"));
    }
    if (!node.isArray() || node.isEmpty()) {
      f.problem(path, "must be a non-empty list of ports");
      return List.of();
    }
    List<TargetPort> ports = new ArrayList<>();
    Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < node.size(); i++) {
      JsonNode p = node.get(i);
      String at = path + "[" + i + "]";
      String name = p.path("name").asString(null);
      if (name != null && !names.add(name)) {
        f.problem(at + ".name", "duplicate port name '" + name + "'");
      }
      JsonNode portNode = p.path("port");
      int port = portNode.canConvertToInt() && portNode.isIntegralNumber() ? portNode.asInt() : -1;
      if (port < 1 || port > 65535) {
        f.problem(at + ".port", "must be a port number 1..65535, was " + (portNode.isMissingNode() ? "missing" : portNode.toString()));
      }
      TargetPort.Protocol protocol = TargetPort.Protocol.HTTP;
      String proto = p.path("protocol").asString("HTTP");
      try {
        protocol = TargetPort.Protocol.valueOf(proto.toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        f.problem(at + ".protocol", "must be HTTP or HTTPS, was '" + proto + "'");
      }
      String prefix = p.path("pathPrefix").asString(null);
      if (prefix != null && !prefix.startsWith("/")) {
        f.problem(at + ".pathPrefix", "must start with '/', was '" + prefix + "'");
      }
      ports.add(new TargetPort(name, port, protocol, prefix));
    }
    return ports;
  }

  /** AgentRuntime: a PodTemplateSpec; the process backend runs the first container. */
  private static SandboxTemplate readPodTemplate(JsonNode node, String path, Fields f) {
    if (!node.isObject()) {
      f.problem(path, "required (a pod template with spec.containers)");
      return null;
    }
    JsonNode containers = node.path("spec").path("containers");
    if (!containers.isArray() || containers.isEmpty()) {
      f.problem(path + ".spec.containers", "must list at least one container");
      return null;
    }
    JsonNode c = containers.get(0);
    String at = path + ".spec.containers[0]";
    return new SandboxTemplate(c.path("image").asString(null), strings(c.path("command"), at + ".command", f),
        strings(c.path("args"), at + ".args", f), env(c.path("env"), at + ".env", f),
        c.path("workingDir").asString(null));
  }

  /** CodeInterpreter: the flat template of design.md §4. */
  private static SandboxTemplate readCodeInterpreterTemplate(JsonNode node, String path, Fields f) {
    if (node.isMissingNode() || node.isNull()) {
      return new SandboxTemplate(null, List.of(), List.of(), Map.of(), null);
    }
    if (!node.isObject()) {
      f.problem(path, "must be an object");
      return null;
    }
    return new SandboxTemplate(node.path("image").asString(null), strings(node.path("command"), path + ".command", f),
        strings(node.path("args"), path + ".args", f), env(node.path("environment"), path + ".environment", f),
        node.path("workingDir").asString(null));
  }

  private static List<String> strings(JsonNode node, String path, Fields f) {
    if (node.isMissingNode() || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      f.problem(path, "must be a list of strings");
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (JsonNode n : node) {
      if (n.isContainer()) {
        f.problem(path, "must be a list of strings");
        return List.of();
      }
      out.add(n.asString(""));
    }
    return out;
  }

  private static Map<String, String> env(JsonNode node, String path, Fields f) {
    Map<String, String> env = new LinkedHashMap<>();
    if (node.isMissingNode() || node.isNull()) {
      return env;
    }
    if (!node.isArray()) {
      f.problem(path, "must be a list of {name, value}");
      return env;
    }
    for (int i = 0; i < node.size(); i++) {
      JsonNode e = node.get(i);
      String name = e.path("name").asString(null);
      if (name == null || !ENV_NAME.matcher(name).matches()) {
        f.problem(path + "[" + i + "].name", "must be a valid environment variable name, was '" + name + "'");
        continue;
      }
      // valueFrom (secrets, field refs) has no meaning for local processes: the value stays empty.
      env.put(name, e.path("value").asString(""));
    }
    return env;
  }

  /**
   * The node as JSON with object keys sorted, so that the hash depends on what the template says
   * and not on the order its keys were written in. A missing node is empty.
   */
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
        sb.append(JsonNodeFactory.instance.stringNode(e.getKey())).append(':')
            .append(canonical(e.getValue()));
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

  private static String hash(String canonical) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Problem collector with typed readers. */
  private static final class Fields {
    final String prefix;
    final List<String> problems = new ArrayList<>();

    Fields(String prefix) {
      this.prefix = prefix;
    }

    void problem(String field, String message) {
      problems.add(prefix + field + ": " + message);
    }

    String requiredString(JsonNode parent, String path) {
      String leaf = path.substring(path.lastIndexOf('.') + 1);
      String v = parent.path(leaf).asString(null);
      if (v == null || v.isEmpty()) {
        problem(path, "required");
        return null;
      }
      return v;
    }

    Duration duration(JsonNode spec, String field, Duration dflt) {
      JsonNode n = spec.path(field);
      if (n.isMissingNode() || n.isNull()) {
        return dflt;
      }
      try {
        Duration d = Durations.parse(n.asString(""));
        if (d.isZero()) {
          problem("spec." + field, "must be greater than 0");
        }
        return d;
      } catch (IllegalArgumentException e) {
        problem("spec." + field, e.getMessage());
        return dflt;
      }
    }

    int nonNegativeInt(JsonNode spec, String field, int dflt) {
      JsonNode n = spec.path(field);
      if (n.isMissingNode() || n.isNull()) {
        return dflt;
      }
      if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
        problem("spec." + field, "must be an integer >= 0, was " + n);
        return dflt;
      }
      return n.asInt();
    }
  }
}
