package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.agentcube.runtime.TargetPort.Protocol;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RuntimeParserTest {

  private static final String HEADER = "apiVersion: runtime.agentcube.volcano.sh/v1alpha1\n";

  private static RuntimeDefinition parseOne(String yaml) {
    RuntimeParser.Result r = RuntimeParser.parse(yaml, "test.yaml");
    assertThat(r.runtimes()).hasSize(1);
    return r.runtimes().get(0);
  }

  private static List<String> problemsOf(String yaml) {
    RuntimeValidationException e = catchThrowableOfType(RuntimeValidationException.class,
        () -> RuntimeParser.parse(yaml, "bad.yaml"));
    assertThat(e).as("expected a validation failure").isNotNull();
    assertThat(e.getMessage()).startsWith("bad.yaml: ");
    return e.problems();
  }

  private static String spec(String fields) {
    return fields.isBlank() ? "spec: {}\n" : "spec:\n" + fields.indent(2);
  }

  private static String agent(String spec) {
    return HEADER + """
        kind: AgentRuntime
        metadata:
          name: agent
        """ + spec(spec);
  }

  private static String interpreter(String spec) {
    return HEADER + """
        kind: CodeInterpreter
        metadata:
          name: python
        """ + spec(spec);
  }

  private static final String POD_TEMPLATE = """
      podTemplate:
        spec:
          containers:
            - name: main
              command: [python3, app.py]
      """;

  // ---- defaults

  @Test
  void parse_codeInterpreterWithoutOptionalFields_appliesDefaults() {
    RuntimeDefinition d = parseOne(interpreter("languages: [python, bash]\n"));

    assertThat(d.ref()).isEqualTo(new RuntimeRef(RuntimeKind.CODE_INTERPRETER, "default", "python"));
    assertThat(d.version()).as("no annotation: the catalog names the version").isNull();
    assertThat(d.ports()).containsExactly(new TargetPort(null, 8080, Protocol.HTTP, "/"));
    assertThat(d.sessionTimeout()).isEqualTo(Duration.ofMinutes(15));
    assertThat(d.maxSessionDuration()).isEqualTo(Duration.ofHours(8));
    assertThat(d.warmPoolSize()).isZero();
    assertThat(d.authMode()).isEqualTo(AuthMode.PICOD);
    assertThat(d.languages()).containsExactly("python", "bash");
    assertThat(d.template().command()).isEmpty();
    assertThat(d.template().env()).isEmpty();
    assertThat(d.source()).isEqualTo("test.yaml");
  }

  @Test
  void parse_agentRuntimeWithoutOptionalFields_appliesDefaultsAndNoAuth() {
    RuntimeDefinition d = parseOne(agent(POD_TEMPLATE));

    assertThat(d.ref()).isEqualTo(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "agent"));
    assertThat(d.version()).isNull();
    assertThat(d.ports()).containsExactly(new TargetPort(null, 8080, Protocol.HTTP, "/"));
    assertThat(d.sessionTimeout()).isEqualTo(Duration.ofMinutes(15));
    assertThat(d.maxSessionDuration()).isEqualTo(Duration.ofHours(8));
    assertThat(d.warmPoolSize()).isZero();
    assertThat(d.authMode()).isEqualTo(AuthMode.NONE);
    assertThat(d.template().command()).containsExactly("python3", "app.py");
  }

  @Test
  void parse_versionAnnotationAndNamespace_usedForVersionAndRef() {
    RuntimeDefinition d = parseOne(HEADER + """
        kind: CodeInterpreter
        metadata:
          name: python
          namespace: team-a
          annotations:
            runtime.agentcube.volcano.sh/version: canary-2
        spec:
          warmPoolSize: 3
          sessionTimeout: 90s
          maxSessionDuration: 1h30m
          authMode: none
        """);

    assertThat(d.ref().namespace()).isEqualTo("team-a");
    assertThat(d.version()).isEqualTo("canary-2");
    assertThat(d.warmPoolSize()).isEqualTo(3);
    assertThat(d.sessionTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(d.maxSessionDuration()).isEqualTo(Duration.ofMinutes(90));
    assertThat(d.authMode()).isEqualTo(AuthMode.NONE);
    assertThat(d.label()).isEqualTo("team-a/python");
  }

  // ---- spellings

  @Test
  void parse_agentRuntimeCanonicalSpelling_readsTargetPortAndPodTemplate() {
    RuntimeDefinition d = parseOne(agent("""
        targetPort:
          - name: http
            port: 8080
            protocol: HTTP
            pathPrefix: /
          - name: admin
            port: 9443
            protocol: HTTPS
            pathPrefix: /admin
        podTemplate:
          labels: {team: a}
          spec:
            containers:
              - name: main
                image: python:3.12-slim
                command: [python3]
                args: [-u, app.py, "$(PORT)"]
                workingDir: app
                env:
                  - name: GREETING
                    value: hello
                  - name: FROM_SECRET
                    valueFrom: {secretKeyRef: {name: s, key: k}}
              - name: sidecar
                command: [ignored]
        """));

    assertThat(d.ports()).containsExactly(
        new TargetPort("http", 8080, Protocol.HTTP, "/"),
        new TargetPort("admin", 9443, Protocol.HTTPS, "/admin"));
    SandboxTemplate t = d.template();
    assertThat(t.image()).isEqualTo("python:3.12-slim");
    assertThat(t.command()).containsExactly("python3");
    assertThat(t.args()).containsExactly("-u", "app.py", "$(PORT)");
    assertThat(t.workingDir()).isEqualTo("app");
    assertThat(t.env()).containsExactly(Map.entry("GREETING", "hello"), Map.entry("FROM_SECRET", ""));
  }

  @Test
  void parse_agentRuntimeSeedAliases_sameDefinitionAsCanonicalSpelling() {
    String ports = """
          - name: http
            port: 8080
            pathPrefix: /
        """;
    String pod = """
          spec:
            containers:
              - name: main
                command: [python3, app.py]
                env: [{name: A, value: "1"}]
        """;
    RuntimeDefinition canonical = parseOne(agent("targetPort:\n" + ports + "podTemplate:\n" + pod));
    RuntimeDefinition aliased = parseOne(agent("ports:\n" + ports + "template:\n" + pod));

    assertThat(aliased.ports()).isEqualTo(canonical.ports());
    assertThat(aliased.template()).isEqualTo(canonical.template());
    assertThat(aliased.template().command()).containsExactly("python3", "app.py");
    assertThat(aliased.templateHash()).isEqualTo(canonical.templateHash());
  }

  @Test
  void parse_codeInterpreterTemplate_readsCommandArgsAndEnvironmentInOrder() {
    RuntimeDefinition d = parseOne(interpreter("""
        ports:
          - port: 5000
            pathPrefix: /api
        template:
          image: picod:latest
          command: [sandboxd]
          args: [--port, "$(PORT)"]
          environment:
            - name: Z_LAST_ALPHABETICALLY
              value: z
            - name: A_SECOND
              value: "$(Z_LAST_ALPHABETICALLY)-a"
        """));

    assertThat(d.ports()).containsExactly(new TargetPort(null, 5000, Protocol.HTTP, "/api"));
    assertThat(d.template().image()).isEqualTo("picod:latest");
    assertThat(d.template().command()).containsExactly("sandboxd");
    assertThat(d.template().args()).containsExactly("--port", "$(PORT)");
    assertThat(d.template().env().keySet()).containsExactly("Z_LAST_ALPHABETICALLY", "A_SECOND");
    assertThat(d.template().env()).containsEntry("A_SECOND", "$(Z_LAST_ALPHABETICALLY)-a");
  }

  // ---- the runtime API proposal's kind name (issue 14)

  /** {@code doc} with its kind written as the runtime API proposal writes it. */
  private static String proposalKind(String doc) {
    assertThat(doc).contains("kind: CodeInterpreter\n");
    return doc.replace("kind: CodeInterpreter\n", "kind: CodeInterpreterRuntime\n");
  }

  @Test
  void parse_codeInterpreterRuntimeKind_sameDefinitionAsCodeInterpreterWithItsSpellingKept() {
    String spec = """
        ports: [{port: 5000, pathPrefix: /api}]
        template:
          command: [sandboxd]
          environment: [{name: A, value: "1"}]
        sessionTimeout: 5m
        warmPoolSize: 2
        authMode: none
        languages: [python]
        """;
    RuntimeDefinition canonical = parseOne(interpreter(spec));
    RuntimeDefinition proposal = parseOne(proposalKind(interpreter(spec)));

    assertThat(proposal.ref()).isEqualTo(new RuntimeRef(RuntimeKind.CODE_INTERPRETER, "default", "python"));
    assertThat(proposal.declaredKind()).isEqualTo("CodeInterpreterRuntime");
    assertThat(canonical.declaredKind()).isEqualTo("CodeInterpreter");
    assertThat(proposal.templateHash()).as("the same template is the same version").isEqualTo(canonical.templateHash());
    assertThat(proposal).usingRecursiveComparison().ignoringFields("declaredKind").isEqualTo(canonical);
  }

  /** The code-interpreter documents of {@link #invalidDocuments()} (agents and endpoints have no other spelling). */
  static Stream<Arguments> invalidCodeInterpreters() {
    return invalidDocuments().filter(a -> ((String) a.get()[0]).contains("kind: CodeInterpreter\n"));
  }

  @ParameterizedTest
  @MethodSource("invalidCodeInterpreters")
  void parse_invalidCodeInterpreterRuntime_failsAsTheCodeInterpreterWould(String yaml, String expected) {
    List<String> problems = problemsOf(proposalKind(yaml));

    assertThat(problems).isEqualTo(problemsOf(yaml));
    assertThat(problems).singleElement().asString().startsWith(expected);
  }

  @Test
  void parse_codeInterpreterRuntimeWithWrongApiVersion_failsNamingIt() {
    String doc = proposalKind(interpreter("")).replace(HEADER, "apiVersion: v1\n");

    assertThat(problemsOf(doc)).containsExactly(
        "apiVersion: must be runtime.agentcube.volcano.sh/v1alpha1, was 'v1'");
  }

  // ---- files with several documents

  @Test
  void parse_multiDocumentFile_returnsEveryRuntimeAndSkipsOtherKinds() {
    RuntimeParser.Result r = RuntimeParser.parse(interpreter("warmPoolSize: 1\n") + """
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: other}
        ---
        """ + agent(POD_TEMPLATE) + "---\n", "multi.yaml");

    assertThat(r.runtimes()).extracting(RuntimeDefinition::ref).containsExactly(
        new RuntimeRef(RuntimeKind.CODE_INTERPRETER, "default", "python"),
        new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "agent"));
    assertThat(r.skipped()).singleElement().asString()
        .contains("document 2").contains("ConfigMap");
  }

  @Test
  void parse_multiDocumentFileWithBadDocument_failsNamingDocumentAndField() {
    List<String> problems = problemsOf(interpreter("") + "---\n" + agent(POD_TEMPLATE + "warmPoolSize: -2\n"));

    assertThat(problems).containsExactly("document 2: spec.warmPoolSize: must be an integer >= 0, was -2");
  }

  @Test
  void parse_endpointKinds_readIntoEndpointDefinitions() {
    RuntimeParser.Result r = RuntimeParser.parse(HEADER + """
        kind: CodeInterpreterEndpoint
        metadata: {name: python-canary, namespace: team-a, generation: 4}
        spec: {target: python, version: canary-2}
        ---
        """ + HEADER + """
        kind: AgentEndpoint
        metadata: {name: agent-latest}
        spec: {target: agent, version: ""}
        """, "endpoints.yaml");

    assertThat(r.runtimes()).isEmpty();
    assertThat(r.skipped()).isEmpty();
    assertThat(r.endpoints()).containsExactly(
        new EndpointDefinition(RuntimeKind.CODE_INTERPRETER, "team-a", "python-canary", "python", "canary-2", 4,
            "endpoints.yaml"),
        new EndpointDefinition(RuntimeKind.AGENT_RUNTIME, "default", "agent-latest", "agent", null, 1,
            "endpoints.yaml"));
  }

  @Test
  void parse_runtimeAndItsEndpointInOneFile_returnsBoth() {
    RuntimeParser.Result r = RuntimeParser.parse(agent(POD_TEMPLATE) + "---\n" + HEADER + """
        kind: AgentEndpoint
        metadata: {name: agent-v1}
        spec: {target: agent, version: v1}
        """, "both.yaml");

    assertThat(r.runtimes()).extracting(d -> d.ref().name()).containsExactly("agent");
    assertThat(r.endpoints()).singleElement().satisfies(e -> {
      assertThat(e.targetRef()).isEqualTo(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "agent"));
      assertThat(e.version()).isEqualTo("v1");
    });
  }

  @Test
  void parse_unknownFields_ignoredAsApiServerPruningWould() {
    // AgentCube's newer manifests carry fields this proxy has no use for (e.g. networkPolicy).
    RuntimeDefinition d = parseOne(interpreter("""
        template:
          image: picod:1
          networkPolicy: {mode: Strict}
        somethingNew: true
        """));

    assertThat(d.template().image()).isEqualTo("picod:1");
  }

  // ---- validation: every message names its field

  static Stream<Arguments> invalidDocuments() {
    return Stream.of(
        Arguments.of(interpreter("sessionTimeout: 15 minutes\n"),
            "spec.sessionTimeout: not a duration: '15 minutes'"),
        Arguments.of(interpreter("maxSessionDuration: 8d\n"),
            "spec.maxSessionDuration: not a duration: '8d'"),
        Arguments.of(interpreter("sessionTimeout: 0s\n"),
            "spec.sessionTimeout: must be greater than 0"),
        Arguments.of(interpreter("ports: [{port: 70000}]\n"),
            "spec.ports[0].port: must be a port number 1..65535, was 70000"),
        Arguments.of(interpreter("ports: [{port: 0}]\n"),
            "spec.ports[0].port: must be a port number 1..65535, was 0"),
        Arguments.of(interpreter("ports: [{pathPrefix: /}]\n"),
            "spec.ports[0].port: must be a port number 1..65535, was missing"),
        Arguments.of(interpreter("ports: []\n"),
            "spec.ports: must be a non-empty list of ports"),
        Arguments.of(agent(POD_TEMPLATE + "targetPort: [{name: http, port: 80}, {name: http, port: 81}]\n"),
            "spec.targetPort[1].name: duplicate port name 'http'"),
        Arguments.of(interpreter("ports: [{port: 80, protocol: GRPC}]\n"),
            "spec.ports[0].protocol: must be HTTP or HTTPS, was 'GRPC'"),
        Arguments.of(interpreter("ports: [{port: 80, pathPrefix: api}]\n"),
            "spec.ports[0].pathPrefix: must start with '/', was 'api'"),
        Arguments.of(interpreter("warmPoolSize: -1\n"),
            "spec.warmPoolSize: must be an integer >= 0, was -1"),
        Arguments.of(interpreter("warmPoolSize: 1.5\n"),
            "spec.warmPoolSize: must be an integer, was 1.5"),
        Arguments.of(interpreter("warmPoolSize: two\n"),
            "spec.warmPoolSize: must be an integer, was 'two'"),
        Arguments.of(interpreter("authMode: jwt\n"),
            "spec.authMode: must be picod or none, was 'jwt'"),
        Arguments.of(interpreter("template: {environment: [{name: 1BAD, value: x}]}\n"),
            "spec.template.environment[0].name: must be a valid environment variable name, was '1BAD'"),
        Arguments.of(interpreter("template: {command: python3}\n"),
            "spec.template.command: must be a list, was 'python3'"),
        // Jackson loses the path inside a list of strings; the nearest field it knows is named.
        Arguments.of(interpreter("template: {command: [[python3]]}\n"),
            "spec.template: cannot be read"),
        Arguments.of(interpreter("template: {imagePullPolicy: Sometimes}\n"),
            "spec.template.imagePullPolicy: must be Always, Never or IfNotPresent, was 'Sometimes'"),
        Arguments.of(interpreter("ports: [{port: abc}]\n"),
            "spec.ports[0].port: must be an integer, was 'abc'"),
        Arguments.of(interpreter("ports: [{port: \"8080\"}]\n"),
            "spec.ports[0].port: must be an integer, was '8080'"),
        Arguments.of(interpreter("ports: [8080]\n"),
            "spec.ports[0]: must be an object, was 8080"),
        Arguments.of(interpreter("ports: {port: 8080}\n"),
            "spec.ports: must be a list, was an object"),
        Arguments.of(interpreter("sessionTimeout: [15m]\n"),
            "spec.sessionTimeout: must be a string, was a list"),
        Arguments.of(interpreter("languages: [python, '']\n"),
            "spec.languages[1]: must be a language name, was empty"),
        Arguments.of(agent("podTemplate: {spec: {containers: [{name: main}]}}\n"),
            "spec.podTemplate.spec.containers[0]: needs an image or a command"),
        Arguments.of(agent("podTemplate: {spec: {containers: [{name: main, image: a}, {name: side}]}}\n"),
            "spec.podTemplate.spec.containers[1]: needs an image or a command"),
        Arguments.of(agent("podTemplate: {spec: {containers: [{image: a, ports: [{containerPort: http}]}]}}\n"),
            "spec.podTemplate.spec.containers[0].ports[0].containerPort: must be an integer, was 'http'"),
        Arguments.of(agent("podTemplate: {spec: {containers: [{image: a, env: [{name: 'A B', value: x}]}]}}\n"),
            "spec.podTemplate.spec.containers[0].env[0].name: must be a valid environment variable name, was 'A B'"),
        Arguments.of(agent(POD_TEMPLATE + "targetPort: [{port: 8080, protocol: grpc}]\n"),
            "spec.targetPort[0].protocol: must be HTTP or HTTPS, was 'grpc'"),
        Arguments.of(agent(POD_TEMPLATE.replace("podTemplate", "template") + "ports: [{port: 0}]\n"),
            "spec.ports[0].port: must be a port number 1..65535, was 0"),
        Arguments.of(agent(POD_TEMPLATE + "template: {spec: {containers: [{image: a}]}}\n"),
            "spec.template: is another spelling of spec.podTemplate; give one of them"),
        Arguments.of(interpreter("").replace("name: python", "name: python\n  annotations: {runtime.agentcube.volcano.sh/version: 'v 2'}"),
            "metadata.annotations[\"runtime.agentcube.volcano.sh/version\"]: must be a version name"),
        Arguments.of(endpoint("AgentEndpoint", "{}"),
            "spec.target: required"),
        Arguments.of(endpoint("AgentEndpoint", "{target: My_Agent}"),
            "spec.target: must be the name of a runtime (a DNS label), was 'My_Agent'"),
        Arguments.of(endpoint("CodeInterpreterEndpoint", "{target: python, version: 'x/y'}"),
            "spec.version: must be a version name"),
        Arguments.of(endpoint("CodeInterpreterEndpoint", "{target: python}").replace("name: ep", "name: EP"),
            "metadata.name: must be a DNS label"),
        Arguments.of(endpoint("CodeInterpreterEndpoint", "{target: [python]}"),
            "spec.target: must be a string, was a list"),
        Arguments.of(agent(""),
            "spec.podTemplate: required (a pod template with spec.containers)"),
        Arguments.of(agent("podTemplate: {spec: {containers: []}}\n"),
            "spec.podTemplate.spec.containers: must list at least one container"),
        Arguments.of(interpreter("").replace("name: python", "name: Python_3"),
            "metadata.name: must be a DNS label (lower-case letters, digits, '-'; at most 63), was 'Python_3'"),
        Arguments.of(interpreter("").replace("name: python", "name: " + "a".repeat(64)),
            "metadata.name: must be a DNS label"),
        Arguments.of(interpreter("").replace("name: python", "namespace: default"),
            "metadata.name: required"),
        Arguments.of(interpreter("").replace("name: python", "name: python\n  namespace: Team_A"),
            "metadata.namespace: must be a DNS label, was 'Team_A'"),
        Arguments.of(interpreter("").replace("v1alpha1", "v1"),
            "apiVersion: must be runtime.agentcube.volcano.sh/v1alpha1, was 'runtime.agentcube.volcano.sh/v1'"),
        Arguments.of(HEADER + "kind: CodeInterpreter\nmetadata: {name: python}\nspec: 3\n",
            "spec: must be an object, was 3"),
        Arguments.of(HEADER + "kind: CodeInterpreter\nmetadata: {name: python}\n",
            "spec: required"));
  }

  private static String endpoint(String kind, String spec) {
    return HEADER + "kind: " + kind + "\nmetadata:\n  name: ep\nspec: " + spec + "\n";
  }

  @ParameterizedTest
  @MethodSource("invalidDocuments")
  void parse_invalidField_failsWithMessageNamingField(String yaml, String expected) {
    assertThat(problemsOf(yaml)).singleElement().asString().startsWith(expected);
  }

  @Test
  void parse_severalProblems_reportsEveryOneInOneException() {
    List<String> problems = problemsOf(interpreter("""
        sessionTimeout: soon
        warmPoolSize: -1
        ports: [{port: 99999, protocol: UDP}]
        """));

    assertThat(problems).hasSize(4).anySatisfy(p -> assertThat(p).startsWith("spec.sessionTimeout"))
        .anySatisfy(p -> assertThat(p).startsWith("spec.warmPoolSize"))
        .anySatisfy(p -> assertThat(p).startsWith("spec.ports[0].port"))
        .anySatisfy(p -> assertThat(p).startsWith("spec.ports[0].protocol"));
  }

  /**
   * A value Jackson cannot read is reported once, by its field: it is not reported a second time
   * as missing after it was taken out, and reading goes on to find the document's other problems.
   */
  @Test
  void parse_unreadableValuesAndRuleViolations_eachReportedOnce() {
    List<String> problems = problemsOf(agent("""
        targetPort: [{port: abc}, {port: 8081, protocol: UDP}]
        podTemplate: {spec: {containers: [{name: main}]}}
        warmPoolSize: -3
        """));

    assertThat(problems).containsExactlyInAnyOrder(
        "spec.targetPort[0].port: must be an integer, was 'abc'",
        "spec.targetPort[1].protocol: must be HTTP or HTTPS, was 'UDP'",
        "spec.podTemplate.spec.containers[0]: needs an image or a command",
        "spec.warmPoolSize: must be an integer >= 0, was -3");
  }

  @Test
  void parse_invalidYaml_failsNamingSourceAndYaml() {
    assertThatThrownBy(() -> RuntimeParser.parse("kind: [CodeInterpreter\nmetadata: {", "broken.yaml"))
        .isInstanceOf(RuntimeValidationException.class)
        .hasMessageStartingWith("broken.yaml: not valid YAML");
  }

  @Test
  void parse_emptyFile_returnsNothing() {
    RuntimeParser.Result r = RuntimeParser.parse("# only a comment\n", "empty.yaml");

    assertThat(r.runtimes()).isEmpty();
    assertThat(r.skipped()).isEmpty();
  }

  // ---- versions: the template hash

  @Test
  void parse_equalTemplatesWithOtherSettings_haveEqualHash() {
    RuntimeDefinition a = parseOne(agent(POD_TEMPLATE + "sessionTimeout: 1m\nwarmPoolSize: 1\n"));
    RuntimeDefinition b = parseOne(agent(POD_TEMPLATE + "sessionTimeout: 2h\nwarmPoolSize: 5\n"));

    assertThat(a.templateHash()).isNotBlank().isEqualTo(b.templateHash());
  }

  @Test
  void parse_changedCommand_changesHash() {
    RuntimeDefinition a = parseOne(agent(POD_TEMPLATE));
    RuntimeDefinition b = parseOne(agent(POD_TEMPLATE.replace("app.py", "app2.py")));

    assertThat(a.templateHash()).isNotEqualTo(b.templateHash());
  }

  @Test
  void parse_changedImageOnly_changesHash() {
    // The process backend ignores the image, but the Kubernetes backend runs it: a new version.
    RuntimeDefinition a = parseOne(interpreter("template: {image: 'picod:1', command: [x]}\n"));
    RuntimeDefinition b = parseOne(interpreter("template: {image: 'picod:2', command: [x]}\n"));

    assertThat(a.templateHash()).isNotEqualTo(b.templateHash());
  }

  @Test
  void parse_changedPorts_changesHash() {
    RuntimeDefinition a = parseOne(agent(POD_TEMPLATE + "targetPort: [{port: 8080}]\n"));
    RuntimeDefinition b = parseOne(agent(POD_TEMPLATE + "targetPort: [{port: 8081}]\n"));

    assertThat(a.templateHash()).isNotEqualTo(b.templateHash());
  }

  @Test
  void parse_defaultProtocolSpelledOutOrLeftOut_haveEqualHash() {
    // The API server fills in protocol: HTTP through the CRD default; a file may leave it out.
    RuntimeDefinition a = parseOne(agent(POD_TEMPLATE + "targetPort: [{port: 8080, pathPrefix: /}]\n"));
    RuntimeDefinition b = parseOne(agent(POD_TEMPLATE + "targetPort: [{port: 8080, protocol: HTTP, pathPrefix: /}]\n"));

    assertThat(a.templateHash()).isEqualTo(b.templateHash());
  }

  @Test
  void parse_changedPodLabels_changesHash() {
    RuntimeDefinition a = parseOne(agent(POD_TEMPLATE));
    RuntimeDefinition b = parseOne(agent(POD_TEMPLATE.replace("podTemplate:\n", "podTemplate:\n  labels: {tier: b}\n")));

    assertThat(a.templateHash()).isNotEqualTo(b.templateHash());
  }

  /**
   * Pins a bug: the hash was taken over the template as written, so merely reordering keys made a
   * "new version" and drained the warm pool on reload although the sandboxes were the same.
   */
  @Test
  void parse_sameTemplateKeysReordered_haveEqualHash() {
    RuntimeDefinition a = parseOne(interpreter("""
        ports: [{port: 8080, pathPrefix: /}]
        template:
          image: picod:1
          command: [sandboxd]
          environment: [{name: A, value: "1"}]
        """));
    RuntimeDefinition b = parseOne(interpreter("""
        template:
          environment: [{value: "1", name: A}]
          command: [sandboxd]
          image: picod:1
        ports: [{pathPrefix: /, port: 8080}]
        """));

    assertThat(a.templateHash()).isEqualTo(b.templateHash());
  }
}
