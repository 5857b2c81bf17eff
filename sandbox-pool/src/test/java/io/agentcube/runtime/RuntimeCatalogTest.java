package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RuntimeCatalogTest {

  private final RuntimeCatalog catalog = new RuntimeCatalog();

  private static RuntimeDefinition echo(String hash, String annotation, int warm) {
    return new RuntimeDefinition(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "echo"), annotation, hash,
        List.of(new TargetPort(null, 8080, TargetPort.Protocol.HTTP, "/")),
        new SandboxTemplate(null, List.of("run", hash), List.of(), Map.of(), null),
        Duration.ofMinutes(15), Duration.ofHours(8), warm, AuthMode.NONE, List.of(), "echo.yaml");
  }

  private static EndpointDefinition endpoint(String name, String version) {
    return new EndpointDefinition(RuntimeKind.AGENT_RUNTIME, "default", name, "echo", version, 1, "ep.yaml");
  }

  private RuntimeCatalog.Entry entry() {
    return catalog.snapshot().runtimes().get(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "echo"));
  }

  @Test
  void apply_newTemplates_areNamedV1V2AndTheNewestIsDefault() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    assertThat(catalog.current(RuntimeKind.AGENT_RUNTIME, "default", "echo").version()).isEqualTo("v1");

    catalog.apply(List.of(echo("bbb", null, 1)), List.of(), d -> false);
    assertThat(entry().versions()).extracting(RuntimeCatalog.Version::name).containsExactly("v1", "v2");
    assertThat(entry().current().name()).isEqualTo("v2");
    assertThat(entry().generation()).isEqualTo(2);
  }

  @Test
  void apply_sameTemplateAgain_keepsVersionAndGeneration() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    assertThat(entry().versions()).hasSize(1);
    assertThat(entry().generation()).isEqualTo(1);
  }

  /** Issue 14: respelling a code interpreter's kind as the runtime API proposal does is no new version. */
  @Test
  void apply_kindRespelledCodeInterpreterRuntime_sameVersionNewSpellingListed() {
    String doc = "apiVersion: runtime.agentcube.volcano.sh/v1alpha1\nkind: %s\nmetadata: {name: py}\nspec: {}\n";
    RuntimeDefinition canonical = RuntimeParser.parse(doc.formatted("CodeInterpreter"), "py.yaml").runtimes().get(0);
    RuntimeDefinition proposal = RuntimeParser.parse(doc.formatted("CodeInterpreterRuntime"), "py.yaml").runtimes().get(0);

    catalog.apply(List.of(canonical), List.of(), d -> false);
    RuntimeCatalog.Entry e = catalog.apply(List.of(proposal), List.of(), d -> false).runtimes().get(canonical.ref());

    assertThat(e.versions()).singleElement().extracting(RuntimeCatalog.Version::name).isEqualTo("v1");
    assertThat(e.current().definition().declaredKind()).isEqualTo("CodeInterpreterRuntime");
    assertThat(catalog.current(RuntimeKind.CODE_INTERPRETER, "default", "py")).isEqualTo(e.current().definition());
  }

  @Test
  void apply_onlyWarmPoolSizeChanged_updatesCurrentVersionInPlace() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    catalog.apply(List.of(echo("aaa", null, 5)), List.of(), d -> false);
    assertThat(entry().versions()).singleElement().extracting(RuntimeCatalog.Version::name).isEqualTo("v1");
    assertThat(entry().current().definition().warmPoolSize()).isEqualTo(5);
    assertThat(entry().generation()).isEqualTo(2);
  }

  @Test
  void apply_revertToOldTemplate_makesThatVersionDefaultAgain() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    catalog.apply(List.of(echo("bbb", null, 1)), List.of(), d -> false);
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    assertThat(entry().current().name()).isEqualTo("v1");
    assertThat(entry().versions()).extracting(RuntimeCatalog.Version::name).containsExactly("v2", "v1");
  }

  @Test
  void apply_versionAnnotation_namesTheVersion() {
    catalog.apply(List.of(echo("aaa", "stable", 1)), List.of(), d -> false);
    catalog.apply(List.of(echo("bbb", null, 1)), List.of(), d -> false);
    assertThat(entry().versions()).extracting(RuntimeCatalog.Version::name).containsExactly("stable", "v1");
  }

  @Test
  void endpoint_pinsVersion_andUnpinnedFollowsDefault() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    catalog.apply(List.of(echo("bbb", null, 1)), List.of(endpoint("pinned", "v1"), endpoint("latest", null)), d -> false);

    assertThat(catalog.throughEndpoint(RuntimeKind.AGENT_RUNTIME, "default", "echo", "pinned").templateHash()).isEqualTo("aaa");
    assertThat(catalog.throughEndpoint(RuntimeKind.AGENT_RUNTIME, "default", "echo", "latest").templateHash()).isEqualTo("bbb");
    assertThat(catalog.pooledVersions()).extracting(RuntimeDefinition::templateHash).containsExactlyInAnyOrder("aaa", "bbb");
  }

  @Test
  void endpoint_unknownVersionOrTargetOrName_isEndpointNotFoundWithReason() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(endpoint("bad", "v9"),
        new EndpointDefinition(RuntimeKind.AGENT_RUNTIME, "default", "orphan", "nope", null, 1, "x")), d -> false);

    assertThatThrownBy(() -> catalog.throughEndpoint(RuntimeKind.AGENT_RUNTIME, "default", "echo", "bad"))
        .isInstanceOfSatisfying(AgentCubeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ENDPOINT_NOT_FOUND);
          assertThat(e.getMessage()).contains("v9").contains("unknown");
        });
    assertThatThrownBy(() -> catalog.throughEndpoint(RuntimeKind.AGENT_RUNTIME, "default", "echo", "orphan"))
        .hasMessageContaining("targets 'nope'");
    assertThatThrownBy(() -> catalog.throughEndpoint(RuntimeKind.AGENT_RUNTIME, "default", "echo", "missing"))
        .hasMessageContaining("not found");
    assertThat(catalog.snapshot().endpoints().values()).allMatch(e -> e.resolved() == null && e.problem() != null);
  }

  @Test
  void apply_manyTemplates_keepsTenNewestUnusedPlusInUse() {
    for (int i = 0; i < 15; i++) {
      String hash = "h" + i;
      catalog.apply(List.of(echo(hash, null, 0)), List.of(), d -> d.templateHash().equals("h0"));
    }
    List<String> names = entry().versions().stream().map(RuntimeCatalog.Version::name).toList();
    assertThat(names).contains("v1").as("in use by a live session").contains("v15").as("current");
    assertThat(names).hasSize(1 + 10 + 1).doesNotContain("v2", "v3", "v4");
  }

  @Test
  void apply_runtimeRemoved_isGoneForNewSessions() {
    catalog.apply(List.of(echo("aaa", null, 1)), List.of(), d -> false);
    catalog.apply(List.of(), List.of(), d -> false);
    assertThat(catalog.current(RuntimeKind.AGENT_RUNTIME, "default", "echo")).isNull();
    assertThat(catalog.pooledVersions()).isEmpty();
  }
}
