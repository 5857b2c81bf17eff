package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The metrics catalogue, the Grafana dashboard and the alerts against a real Prometheus (Debian's
 * {@code prometheus} package, 2.42: the server and {@code promtool}). One proxy with four
 * runtimes (a warm echo agent, a cold one, one whose sandbox exits at once, the bundled code
 * interpreter) gets real traffic once: warm hits and cold starts, a 404 for an unknown session, an
 * upstream timeout, a failed sandbox start, an execution, a deleted session and an idle reap. A
 * Prometheus on loopback scrapes it every second and evaluates the alert rules, which it loads
 * from the {@code spec} of k8s/monitoring/prometheus-rule.yaml; the tests then check the
 * exposition, docs/metrics.md, the labels, every dashboard query and every alert expression.
 *
 * <p>Without {@code prometheus} and {@code promtool} on the PATH the tests fail, saying what to
 * install: they are part of the suite, not optional.
 */
class PrometheusIT {

  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  private static final Path MONITORING = REPO.resolve("k8s/monitoring");
  private static final Path SANDBOXD_JAR = REPO.resolve("sandboxd/target/agentcube-sandboxd.jar");
  private static final String JOB = "agentcube-proxy";
  private static final String CI = "/v1/namespaces/default/code-interpreters/python/invocations";
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir
  static Path tmp;
  private static ProxyFixture f;
  private static Process prometheus;
  private static Path prometheusLog;
  private static URI api;
  private static final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();
  /** Every session id the traffic created or sent, to look for among the label values. */
  private static final Set<String> sessionIds = new LinkedHashSet<>();

  @BeforeAll
  static void start() throws Exception {
    requireOnPath("prometheus");
    requireOnPath("promtool");
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "echo.yaml", TestRuntimes.echo("echo", 1, "1m", "8h"));
    TestRuntimes.write(runtimes, "cold.yaml", TestRuntimes.echo("cold", 0, "1m", "8h"));
    TestRuntimes.write(runtimes, "broken.yaml", TestRuntimes.agent("broken", 0, "1m", "8h",
        List.of("python3", "-S", "-c", "import sys; sys.exit(3)")));
    TestRuntimes.write(runtimes, "python.yaml", TestRuntimes.python(1));
    f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of(
        "upstream.idleTimeout", "1s",
        "process.sandboxdCommand", List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-jar", SANDBOXD_JAR.toString(), "--host", "127.0.0.1")));
    startPrometheus();
    driveTraffic();
    awaitScrapesAndRuleEvaluations();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (prometheus != null) {
        prometheus.destroy();
        if (!prometheus.waitFor(30, TimeUnit.SECONDS)) {
          prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
    } finally {
      if (f != null) {
        f.close();
      }
    }
  }

  private static void requireOnPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return;
      }
    }
    fail(program + " is not on the PATH: install Debian's prometheus package (apt-get install -y"
        + " prometheus, version 2.42; .ci/run does), which brings the prometheus server and promtool");
  }

  /** The rules file Prometheus and promtool read: the PrometheusRule's {@code spec}, as is. */
  private static Path extractRules(Path dir) throws IOException {
    YAMLMapper yaml = YAMLMapper.builder().build();
    JsonNode rule = yaml.readTree(Files.readString(MONITORING.resolve("prometheus-rule.yaml")));
    assertThat(rule.path("kind").asString()).isEqualTo("PrometheusRule");
    Files.createDirectories(dir);
    return Files.writeString(dir.resolve("agentcube-rules.yaml"),
        yaml.writeValueAsString(rule.get("spec")));
  }

  /**
   * Prometheus on 127.0.0.1, port 0 (it logs the port it got), scraping the proxy every second and
   * evaluating the alert rules every second, with its storage in the temporary directory.
   */
  private static void startPrometheus() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("prometheus"));
    extractRules(dir);
    Path config = Files.writeString(dir.resolve("prometheus.yml"), """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - agentcube-rules.yaml
        scrape_configs:
          - job_name: %s
            static_configs:
              - targets: ['127.0.0.1:%d']
        """.formatted(JOB, f.proxy.port()));
    prometheusLog = dir.resolve("prometheus.log");
    prometheus = new ProcessBuilder("prometheus", "--config.file=" + config,
        "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:0",
        "--storage.tsdb.retention.time=1h")
        .redirectErrorStream(true).redirectOutput(prometheusLog.toFile()).start();
    Pattern listening = Pattern.compile("msg=\"Listening on\" address=127\\.0\\.0\\.1:(\\d+)");
    int port = await("prometheus logs its port").atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> {
          assertThat(prometheus.isAlive()).as("prometheus runs; its log: %s", log()).isTrue();
          Matcher m = listening.matcher(Files.readString(prometheusLog));
          return m.find() ? Integer.parseInt(m.group(1)) : 0;
        }, p -> p > 0);
    api = URI.create("http://127.0.0.1:" + port);
    await("prometheus ready").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> get(api.resolve("/-/ready")).statusCode() == 200);
  }

  private static String log() throws IOException {
    return Files.readString(prometheusLog);
  }

  private static HttpResponse<String> get(URI uri) throws Exception {
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A call of Prometheus' HTTP API; asserts {@code status: success} and returns {@code data}. */
  private static Object apiGet(String path, Map<String, String> params) throws Exception {
    StringBuilder q = new StringBuilder(path).append('?');
    params.forEach((k, v) -> q.append(k).append('=')
        .append(URLEncoder.encode(v, StandardCharsets.UTF_8)).append('&'));
    HttpResponse<String> r = get(api.resolve(q.toString()));
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getString("status")).as("%s %s: %s", path, params, r.body()).isEqualTo("success");
    assertThat(r.statusCode()).isEqualTo(200);
    return body.getValue("data");
  }

  /** The instant vector (or scalar as one sample) {@code expr} evaluates to now. */
  private static JsonArray query(String expr) throws Exception {
    JsonObject data = (JsonObject) apiGet("/api/v1/query", Map.of("query", expr));
    return switch (data.getString("resultType")) {
      case "vector", "matrix" -> data.getJsonArray("result");
      case "scalar" -> new JsonArray().add(new JsonObject().put("value", data.getJsonArray("result")));
      default -> throw new AssertionError("result of " + expr + ": " + data.encode());
    };
  }

  private static double value(String expr) throws Exception {
    JsonArray r = query(expr);
    return r.isEmpty() ? Double.NaN
        : Double.parseDouble(r.getJsonObject(0).getJsonArray("value").getString(1));
  }

  private static HttpResponse<String> track(HttpResponse<String> r) {
    String id = sessionId(r);
    if (id != null) {
      sessionIds.add(id);
    }
    return r;
  }

  private static double scraped(String sample) throws Exception {
    String text = f.get("/metrics", null).body();
    return text.lines().filter(l -> l.startsWith(sample + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(sample.length() + 1).trim())).orElse(-1.0);
  }

  /**
   * Sessions warm and cold, errors of several kinds, an execution, a delete and a reap; each
   * checked at the client, so that the metrics have something true to show.
   */
  private static void driveTraffic() throws Exception {
    await("warm sandboxes of echo and python").atMost(WAIT).pollInterval(Duration.ofMillis(200))
        .until(() -> scraped("agentcube_warm_pool_ready{kind=\"AgentRuntime\",runtime=\"default/echo\",version=\"v1\"}") >= 1
            && scraped("agentcube_warm_pool_ready{kind=\"CodeInterpreter\",runtime=\"default/python\",version=\"v1\"}") >= 1);

    HttpResponse<String> warm = track(f.get(ProxyFixture.invoke("echo", "/"), null));
    json(warm, 200);
    String warmId = sessionId(warm);
    for (int i = 0; i < 3; i++) {
      json(f.get(ProxyFixture.invoke("echo", "/again?i=" + i), warmId), 200);
    }
    HttpResponse<String> cold = track(f.get(ProxyFixture.invoke("cold", "/"), null));
    json(cold, 200);

    String unknown = "0b6f5d0e-3c1a-4c4e-9a53-6f2d8b7e1a90"; // the UUID form AgentCube's API uses
    sessionIds.add(unknown);
    assertThat(json(f.get(ProxyFixture.invoke("echo", "/"), unknown), 404).getString("code"))
        .isEqualTo("SESSION_NOT_FOUND");
    // The sandbox is silent for longer than upstream.idleTimeout (1 s).
    assertThat(json(track(f.get(ProxyFixture.invoke("echo", "/slow?seconds=3"), warmId)), 504)
        .getString("code")).isEqualTo("SANDBOX_TIMEOUT");
    assertThat(json(track(f.get(ProxyFixture.invoke("broken", "/"), null)), 502).getString("code"))
        .isEqualTo("SANDBOX_UNREACHABLE");

    HttpResponse<String> exec = track(f.send("POST", CI + "/api/execute",
        "{\"command\":[\"python3\",\"-c\",\"print(6*7)\"],\"timeout\":\"30s\"}", null));
    assertThat(json(exec, 200).getString("stdout")).isEqualTo("42\n");
    assertThat(json(track(f.send("POST", CI + "/api/execute", "{\"command\":[]}", sessionId(exec))), 400)
        .getString("code")).isNotBlank();

    assertThat(f.send("DELETE", "/v1/sessions/" + sessionId(cold), null, null).statusCode())
        .isBetween(200, 204);
    // Idle past the echo runtime's sessionTimeout (1m) and the code interpreter's (the default,
    // 15m): the reaper ends both sessions.
    f.advance(Duration.ofMinutes(20));
    assertThat(json(f.get(ProxyFixture.invoke("echo", "/"), warmId), 404).getString("code"))
        .isEqualTo("SESSION_NOT_FOUND");
  }

  /**
   * Until Prometheus has scraped the proxy after the last event (the reap) and several times
   * before, so rates over a minute see it, and has evaluated every rule at least once.
   */
  private static void awaitScrapesAndRuleEvaluations() {
    double trafficEnded = System.currentTimeMillis() / 1000.0;
    String idle = "agentcube_sessions_ended_total{job=\"" + JOB + "\",reason=\"idle\"}";
    await("prometheus saw the reap and has evaluated the rules").atMost(WAIT)
        .pollInterval(Duration.ofMillis(500)).ignoreExceptions()
        .until(() -> value("sum(" + idle + ")") >= 2
            && value("min(timestamp(" + idle + "))") > trafficEnded + 3
            && value("count_over_time(up{job=\"" + JOB + "\"}[1m])") >= 10
            && rules().stream().allMatch(r -> !r.getString("lastEvaluation", "").startsWith("0001")));
  }

  private static List<JsonObject> rules() throws Exception {
    JsonObject data = (JsonObject) apiGet("/api/v1/rules", Map.of());
    List<JsonObject> all = new ArrayList<>();
    for (Object g : data.getJsonArray("groups")) {
      ((JsonObject) g).getJsonArray("rules").forEach(r -> all.add((JsonObject) r));
    }
    return all;
  }

  private static ProcessResult run(Path stdin, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    if (stdin != null) {
      pb.redirectInput(stdin.toFile());
    }
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s ends", List.of(command)).isTrue();
    return new ProcessResult(p.exitValue(), out);
  }

  private record ProcessResult(int exit, String output) {}

  // ---- the exposition ----

  @Test
  void exposition_underTraffic_passesPromtoolCheckMetrics() throws Exception {
    HttpResponse<String> r = f.get("/metrics", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain; version=0.0.4");
    Path exposition = Files.writeString(tmp.resolve("metrics.txt"), r.body());
    ProcessResult check = run(exposition, "promtool", "check", "metrics");
    assertThat(check.output()).as("promtool check metrics").isEmpty();
    assertThat(check.exit()).isZero();
  }

  /** A row of the catalogue table in docs/metrics.md. */
  private record Documented(String name, String type, List<String> labels) {}

  private static List<Documented> catalogue() throws IOException {
    String doc = Files.readString(REPO.resolve("docs/metrics.md"));
    String table = doc.substring(doc.indexOf("## Catalogue"));
    table = table.substring(0, table.indexOf("\n#", 1));
    Pattern row = Pattern.compile("^\\| `([a-z_:]+)` \\| (counter|gauge|histogram) \\|([^|]*)\\|",
        Pattern.MULTILINE);
    List<Documented> rows = new ArrayList<>();
    Matcher m = row.matcher(table);
    while (m.find()) {
      List<String> labels = Stream.of(m.group(3).split(","))
          .map(s -> s.strip().replace("`", "")).filter(s -> !s.isEmpty()).toList();
      rows.add(new Documented(m.group(1), m.group(2), labels));
    }
    assertThat(rows).as("rows of the catalogue table").hasSizeGreaterThan(25);
    assertThat(table.lines().filter(l -> l.startsWith("| `")).count())
        .as("every row parsed").isEqualTo(rows.size());
    return rows;
  }

  /** The label sets Prometheus holds for metric {@code name} of the proxy's job. */
  private static List<JsonObject> series(String name) throws Exception {
    return seriesMatching(name + "{job=\"" + JOB + "\"}");
  }

  private static List<JsonObject> seriesMatching(String selector) throws Exception {
    JsonArray data = (JsonArray) apiGet("/api/v1/series", Map.of("match[]", selector));
    List<JsonObject> out = new ArrayList<>();
    data.forEach(s -> out.add((JsonObject) s));
    return out;
  }

  @Test
  void catalogue_everyDocumentedMetric_scrapedWithItsDocumentedLabels() throws Exception {
    Set<String> problems = new TreeSet<>();
    for (Documented d : catalogue()) {
      Map<String, List<String>> names = new LinkedHashMap<>();
      if (d.type().equals("histogram")) {
        List<String> withLe = new ArrayList<>(d.labels());
        withLe.add("le");
        names.put(d.name() + "_bucket", withLe);
        names.put(d.name() + "_count", d.labels());
        names.put(d.name() + "_sum", d.labels());
      } else {
        names.put(d.name(), d.labels());
      }
      names.forEach((name, labels) -> {
        try {
          List<JsonObject> found = series(name);
          if (found.isEmpty()) {
            problems.add(name + ": no series");
          }
          for (JsonObject s : found) {
            Set<String> keys = new TreeSet<>(s.fieldNames());
            keys.removeAll(Set.of("__name__", "job", "instance"));
            if (!keys.equals(new TreeSet<>(labels))) {
              problems.add(name + ": labels " + keys + ", documented " + labels);
            }
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      JsonObject meta = (JsonObject) apiGet("/api/v1/metadata", Map.of("metric", d.name()));
      JsonArray m = meta.getJsonArray(d.name());
      if (m == null || !m.getJsonObject(0).getString("type").equals(d.type())) {
        problems.add(d.name() + ": type " + (m == null ? "none" : m.getJsonObject(0).getString("type"))
            + ", documented " + d.type());
      }
    }
    assertThat(problems).as("docs/metrics.md against what Prometheus scraped").isEmpty();
  }

  @Test
  void labels_everySeries_noSessionIdAndNoPerSessionLabel() throws Exception {
    assertThat(sessionIds).as("sessions the traffic made or named").hasSizeGreaterThanOrEqualTo(4);
    List<JsonObject> all = seriesMatching("{__name__=~\".+\",job=\"" + JOB + "\"}");
    assertThat(all).hasSizeGreaterThan(100);
    Pattern uuid = Pattern.compile("(?i).*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*");
    Set<String> problems = new TreeSet<>();
    for (JsonObject s : all) {
      for (String label : s.fieldNames()) {
        if (label.matches("(?i).*(session|sandbox|pod|path|request_id|trace).*")) {
          problems.add(s.getString("__name__") + ": a per-request label " + label);
        }
        String v = s.getString(label);
        sessionIds.stream().filter(v::contains).forEach(id ->
            problems.add(s.getString("__name__") + ": " + label + "=" + v + " holds session " + id));
        if (uuid.matcher(v).matches()) {
          problems.add(s.getString("__name__") + ": " + label + "=" + v + " looks like an id");
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  // ---- the dashboard ----

  /** A query of the dashboard with Grafana's variables given values Prometheus understands. */
  private static String substitute(String expr, String runtime) {
    return expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
        .replace("${runtime}", runtime).replace("$runtime", runtime);
  }

  @Test
  void dashboard_everyQuery_succeedsWithDataFromPrometheus() throws Exception {
    JsonObject dashboard = new JsonObject(Files.readString(MONITORING.resolve("grafana-dashboard.json")));
    List<String> exprs = new ArrayList<>();
    for (Object p : dashboard.getJsonArray("panels")) {
      JsonObject panel = (JsonObject) p;
      if (panel.getString("type").equals("row")) {
        continue;
      }
      assertThat(panel.getJsonObject("datasource").getString("uid"))
          .as("panel %s uses the datasource variable", panel.getString("title")).isEqualTo("${datasource}");
      for (Object t : panel.getJsonArray("targets")) {
        exprs.add(((JsonObject) t).getString("expr"));
      }
    }
    assertThat(exprs).hasSizeGreaterThan(30);

    // The runtime variable: Grafana's label_values(metric, label) is the label-values API.
    JsonObject runtimeVar = dashboard.getJsonObject("templating").getJsonArray("list").stream()
        .map(JsonObject.class::cast).filter(v -> v.getString("name").equals("runtime")).findFirst()
        .orElseThrow();
    Matcher lv = Pattern.compile("label_values\\((\\w+), *(\\w+)\\)").matcher(runtimeVar.getString("definition"));
    assertThat(lv.matches()).as(runtimeVar.getString("definition")).isTrue();
    JsonArray runtimes = (JsonArray) apiGet("/api/v1/label/" + lv.group(2) + "/values",
        Map.of("match[]", lv.group(1)));
    assertThat(runtimes.getList()).contains("default/echo", "default/cold", "default/broken", "default/python");

    Set<String> empty = new TreeSet<>();
    for (String expr : exprs) {
      for (String runtime : List.of(".*", "default/python")) {
        if (query(substitute(expr, runtime)).isEmpty()) {
          empty.add(substitute(expr, runtime));
        }
      }
    }
    assertThat(empty).as("dashboard queries without data after the traffic").isEmpty();
    assertThat(metricNames(exprs)).as("every metric the dashboard names exists")
        .allSatisfy(PrometheusIT::assertExists);
  }

  /** The metric names in PromQL expressions (by their prefixes; functions are lower-case words too). */
  private static Set<String> metricNames(List<String> exprs) {
    Set<String> names = new TreeSet<>();
    Matcher m = Pattern.compile("\\b((?:agentcube|jvm|process|system)_[a-z_]+|up)\\b(?=\\s*[\\[{)=<> ]|$)")
        .matcher(String.join("\n", exprs));
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  private static void assertExists(String name) {
    try {
      assertThat(query("count(" + name + "{job=\"" + JOB + "\"})")).as(name).isNotEmpty();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  // ---- the ServiceMonitor ----

  /** Pins the ServiceMonitor to k8s/base/service.yaml: its labels, namespace and port name. */
  @Test
  void serviceMonitor_selectsTheProxyServiceByItsLabelsAndNamedPort() throws Exception {
    YAMLMapper yaml = YAMLMapper.builder().build();
    JsonNode service = yaml.readTree(Files.readString(REPO.resolve("k8s/base/service.yaml")));
    JsonNode monitor = yaml.readTree(Files.readString(MONITORING.resolve("service-monitor.yaml")));
    assertThat(monitor.path("kind").asString()).isEqualTo("ServiceMonitor");
    String namespace = service.path("metadata").path("namespace").asString();
    assertThat(monitor.path("metadata").path("namespace").asString()).isEqualTo(namespace);
    List<String> namespaces = new ArrayList<>();
    monitor.path("spec").path("namespaceSelector").path("matchNames").forEach(n -> namespaces.add(n.asString()));
    assertThat(namespaces).containsExactly(namespace);
    JsonNode selector = monitor.path("spec").path("selector").path("matchLabels");
    assertThat(selector.propertyNames()).isNotEmpty().allSatisfy(k ->
        assertThat(service.path("metadata").path("labels").path(k).asString()).as(k)
            .isEqualTo(selector.path(k).asString()));
    List<String> ports = new ArrayList<>();
    service.path("spec").path("ports").forEach(p -> ports.add(p.path("name").asString()));
    JsonNode endpoint = monitor.path("spec").path("endpoints").get(0);
    assertThat(ports).contains(endpoint.path("port").asString());
    assertThat(endpoint.path("path").asString()).isEqualTo("/metrics");
    // The job label Prometheus gives its targets is the Service name; AgentCubeProxyDown uses it.
    assertThat(service.path("metadata").path("name").asString()).isEqualTo(JOB);
  }

  // ---- the alerts ----

  @Test
  void alerts_promtoolCheckAndUnitTestsPass_everyExpressionEvaluates() throws Exception {
    Path dir = tmp.resolve("promtool");
    Path rules = extractRules(dir);
    ProcessResult check = run(null, "promtool", "check", "rules", rules.toString());
    assertThat(check.exit()).as(check.output()).isZero();
    Path tests = Files.copy(MONITORING.resolve("alerts-test.yaml"), dir.resolve("alerts-test.yaml"));
    ProcessResult unit = run(null, "promtool", "test", "rules", tests.toString());
    assertThat(unit.exit()).as(unit.output()).isZero();
    assertThat(unit.output()).contains("SUCCESS");

    // Every alert has a unit test that makes it fire.
    JsonNode spec = YAMLMapper.builder().build().readTree(Files.readString(rules));
    List<String> alerts = new ArrayList<>();
    List<String> exprs = new ArrayList<>();
    for (JsonNode g : spec.get("groups")) {
      for (JsonNode r : g.get("rules")) {
        alerts.add(r.get("alert").asString());
        exprs.add(r.get("expr").asString());
        assertThat(r.path("labels").path("severity").asString()).as(r.get("alert").asString())
            .isIn("critical", "warning", "info");
        assertThat(r.path("for").asString()).isNotBlank();
        assertThat(r.path("annotations").path("summary").asString()).isNotBlank();
        assertThat(r.path("annotations").path("description").asString()).isNotBlank();
      }
    }
    assertThat(alerts).contains("AgentCubeHighErrorRate", "AgentCubePoolExhausted",
        "AgentCubeColdStartsSlow", "AgentCubeNoLeader", "AgentCubeSandboxStartFailures");
    String unitTests = Files.readString(tests);
    assertThat(alerts).allSatisfy(a -> assertThat(unitTests).contains("alertname: " + a));

    // Loaded by the Prometheus that scrapes the proxy: every rule evaluated without error.
    List<JsonObject> loaded = rules();
    assertThat(loaded).extracting(r -> r.getString("name")).containsExactlyInAnyOrderElementsOf(alerts);
    assertThat(loaded).allSatisfy(r -> assertThat(r.getString("health"))
        .as("%s: %s", r.getString("name"), r.getString("lastError")).isEqualTo("ok"));
    // And each expression through the query API: a valid result, empty when the alert is quiet.
    for (String expr : exprs) {
      query(expr);
    }
    assertThat(metricNames(exprs)).as("every metric the alerts name exists")
        .allSatisfy(PrometheusIT::assertExists);
  }
}
