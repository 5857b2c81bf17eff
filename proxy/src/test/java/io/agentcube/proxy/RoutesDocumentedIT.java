package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.RuntimeKind;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Issue 12 item 7: {@code docs/openapi.yaml} documents every route a running proxy serves, and
 * nothing else. The served routes are the vertx-web router's (control plane, sessions, runtimes,
 * health, metrics: {@link io.vertx.ext.web.Router#getRoutes}) plus the invocation shapes that the
 * dispatcher hands to the data plane before the router ({@link InvocationTarget}, one canonical
 * and one proposal shape per {@link RuntimeKind}). A route added without an entry in the document,
 * or an entry without a route, fails here; so does an entry that the server answers with its
 * "no route" 404 or its 405.
 */
class RoutesDocumentedIT {

  private static final Path OPENAPI = Path.of("..", "docs", "openapi.yaml");
  /** The operations a Path Item can hold (OpenAPI 3.1 §4.8.9). */
  private static final List<String> OPERATIONS =
      List.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
  /** How the document spells "any method" for the invocation routes: every operation but TRACE. */
  private static final Set<String> ANY_METHOD =
      new TreeSet<>(List.of("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH"));
  private static final Pattern TEMPLATE_PARAM = Pattern.compile("\\{([^}/]+)}");
  private static final String SOME_ID = "AAAAAAAAAAAAAAAAAAAAAAA";

  @TempDir
  Path tmp;

  @Test
  void routes_runningProxyAndOpenapi_agreeBothWays() throws Exception {
    JsonNode doc = YAMLMapper.builder().build().readTree(Files.readString(OPENAPI));
    Map<String, Set<String>> documented = documented(doc);
    Path runtimes = Files.createDirectories(tmp.resolve("runtimes"));

    try (ProxyFixture f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of())) {
      Map<String, Set<String>> served = new TreeMap<>();
      List<String> middleware = new ArrayList<>();
      for (Route r : f.proxy.router().getRoutes()) {
        Set<HttpMethod> methods = r.methods();
        if (methods == null || methods.isEmpty()) {
          // A handler for every method: the authentication in front of /v1/*, the failure handler.
          assertThat(r.getPath() != null && r.isExactPath())
              .as("route %s serves every method: list them", r.getPath()).isFalse();
          middleware.add(r.getPath());
          continue;
        }
        // A path with :params is a regex route that keeps its path; a bare pathRegex has none.
        assertThat(r.getPath()).as("regex route %s: give it a path that can be documented", methods)
            .isNotNull();
        Set<String> names = served.computeIfAbsent(openapiPath(r.getPath()), p -> new TreeSet<>());
        methods.forEach(m -> names.add(m.name()));
      }
      for (RuntimeKind kind : RuntimeKind.values()) {
        String canonical = "/v1/namespaces/{namespace}/" + kind.pathSegment() + "/{name}/invocations/{path}";
        String proposal = "/v1/namespaces/{namespace}/" + kind.proposalPathSegment() + "/{name}/{path}";
        for (String template : List.of(canonical, proposal)) {
          InvocationTarget t = InvocationTarget.parse(instantiate(template));
          assertThat(t).as("the dispatcher takes %s as an invocation", template).isNotNull();
          assertThat(t.kind()).isEqualTo(kind);
          assertThat(t.forwardPath()).isEqualTo("/a/b");
          served.put(template, ANY_METHOD);
        }
      }
      for (String path : served.keySet()) {
        if (!ANY_METHOD.equals(served.get(path))) {
          assertThat(InvocationTarget.parse(instantiate(path)))
              .as("router route %s is shadowed by the data plane", path).isNull();
        }
      }
      // A middleware prefix must cover documented routes: a "/debug/*" handler of its own would not.
      for (String prefix : middleware) {
        if (prefix != null) {
          assertThat(documented.keySet()).as("a handler on %s* serves something undocumented", prefix)
              .anyMatch(p -> p.startsWith(prefix));
        }
      }

      assertThat(diff(served, documented)).as("served but not in docs/openapi.yaml").isEmpty();
      assertThat(diff(documented, served)).as("in docs/openapi.yaml but not served").isEmpty();

      // Each documented operation reaches its handler: never the router's "no route" 404 or 405.
      for (Map.Entry<String, Set<String>> e : documented.entrySet()) {
        for (String method : e.getValue()) {
          String path = instantiate(e.getKey());
          HttpResponse<String> r = f.send(method, path, null, null);
          if (method.equals("HEAD")) {
            assertThat(r.statusCode()).as("%s %s", method, path).isNotEqualTo(405);
            continue;
          }
          if (r.statusCode() == 404 || r.statusCode() == 405) {
            String code = new JsonObject(r.body()).getString("code");
            assertThat(code).as("%s %s answered %s", method, path, r.body())
                .isNotIn("NOT_FOUND", "METHOD_NOT_ALLOWED");
          }
        }
      }
      // And what is not documented is not served.
      HttpResponse<String> none = f.get("/v1/undocumented", null);
      assertThat(ProxyFixture.json(none, 404).getString("code")).isEqualTo("NOT_FOUND");
    }
  }

  @Test
  void errorCodes_openapiEnum_equalsServersCodes() throws Exception {
    JsonNode doc = YAMLMapper.builder().build().readTree(Files.readString(OPENAPI));
    List<String> documented = new ArrayList<>();
    doc.at("/components/schemas/ErrorCode/enum").forEach(n -> documented.add(n.asString()));
    JsonNode error = doc.at("/components/schemas/Error");

    assertThat(documented).containsExactlyInAnyOrderElementsOf(
        Arrays.stream(ErrorCode.values()).map(Enum::name).toList());
    List<String> required = new ArrayList<>();
    error.get("required").forEach(n -> required.add(n.asString()));
    assertThat(required).containsExactlyInAnyOrder("error", "code");
    // The description gives each code its status, as the server sends it.
    String description = doc.at("/components/schemas/ErrorCode/description").asString();
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(description).as("status of %s", c).containsPattern(c.status() + "[^;]*\\b" + c.name() + "\\b");
    }
  }

  /** Path → methods (upper case) of the document, path items given by {@code $ref} resolved. */
  private static Map<String, Set<String>> documented(JsonNode doc) {
    Map<String, Set<String>> out = new TreeMap<>();
    doc.get("paths").properties().forEach(e -> {
      JsonNode item = e.getValue();
      if (item.has("$ref")) {
        String ref = item.get("$ref").asString();
        assertThat(ref).startsWith("#/");
        item = doc.at(ref.substring(1));
        assertThat(item.isMissingNode()).as("%s resolves", ref).isFalse();
      }
      Set<String> methods = new TreeSet<>();
      for (String op : OPERATIONS) {
        if (item.has(op)) {
          methods.add(op.toUpperCase(Locale.ROOT));
        }
      }
      out.put(e.getKey(), methods);
    });
    return out;
  }

  /** vertx-web's {@code /v1/sessions/:id} as OpenAPI's {@code /v1/sessions/{id}}. */
  private static String openapiPath(String vertxPath) {
    return vertxPath.replaceAll(":([A-Za-z0-9_]+)", "{$1}");
  }

  /** A concrete path for a template: {@code {path}} is two segments, an id is well-formed. */
  private static String instantiate(String template) {
    Matcher m = TEMPLATE_PARAM.matcher(template);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String value = switch (m.group(1)) {
        case "path" -> "a/b";
        case "id" -> SOME_ID;
        case "ns", "namespace" -> "default";
        default -> "nosuch";
      };
      m.appendReplacement(sb, value);
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /** "METHOD path" of {@code a} that {@code b} lacks. */
  private static List<String> diff(Map<String, Set<String>> a, Map<String, Set<String>> b) {
    List<String> out = new ArrayList<>();
    a.forEach((path, methods) -> methods.forEach(m -> {
      if (!b.getOrDefault(path, Set.of()).contains(m)) {
        out.add(m + " " + path);
      }
    }));
    return out;
  }
}
