package io.agentcube.runtime.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build check for the committed CRDs: {@code crd-generator-maven-plugin} writes the CRDs of
 * {@link io.agentcube.runtime.api} to {@code target/crds} at process-classes; this test fails when
 * {@code k8s/crds} does not hold exactly those files, byte for byte.
 *
 * <p>To refresh the committed copies after changing the model: {@code k8s/crds/update.sh}, which
 * runs this test with {@code -Dcrd.update=true} (it then writes instead of comparing).
 */
class CrdDriftTest {

  static final Path GENERATED = Path.of("target", "crds");
  static final Path COMMITTED = Path.of("..", "k8s", "crds");
  static final String UPDATE_PROPERTY = "crd.update";
  static final String HOW_TO_UPDATE = "regenerate them with k8s/crds/update.sh "
      + "(mvn -B -q -pl sandbox-pool -am test -Dtest=CrdDriftTest -Dsurefire.failIfNoSpecifiedTests=false "
      + "-Dcrd.update=true) and commit k8s/crds";

  @Test
  void committedCrds_equalTheOnesGeneratedFromTheModel() throws IOException {
    Map<String, String> generated = generated(GENERATED);
    assertThat(generated.keySet()).as("CRDs generated into %s at process-classes", GENERATED.toAbsolutePath())
        .containsExactlyInAnyOrder("agentruntimes.runtime.agentcube.volcano.sh.yaml",
            "codeinterpreters.runtime.agentcube.volcano.sh.yaml",
            "agentendpoints.runtime.agentcube.volcano.sh.yaml",
            "codeinterpreterendpoints.runtime.agentcube.volcano.sh.yaml");

    if (Boolean.getBoolean(UPDATE_PROPERTY)) {
      update(generated, COMMITTED);
      System.out.println("CrdDriftTest: wrote " + generated.keySet() + " to " + COMMITTED.toAbsolutePath().normalize());
      return;
    }
    List<String> drift = drift(generated, COMMITTED);
    if (!drift.isEmpty()) {
      fail("The committed CRDs differ from the model in io.agentcube.runtime.api:\n  "
          + String.join("\n  ", drift) + "\nIf the model change is intended, " + HOW_TO_UPDATE + ".");
    }
  }

  @Test
  void drift_changedMissingAndStaleFiles_eachNamed(@TempDir Path committed) throws IOException {
    Files.writeString(committed.resolve("a.example.yaml"), "kind: CustomResourceDefinition\n# edited by hand\n");
    Files.writeString(committed.resolve("old.example.yaml"), "kind: CustomResourceDefinition\n");
    Files.writeString(committed.resolve("c.example.yaml"), "same\n");
    Map<String, String> generated = Map.of(
        "a.example.yaml", "kind: CustomResourceDefinition\n",
        "b.example.yaml", "kind: CustomResourceDefinition\n",
        "c.example.yaml", "same\n");

    assertThat(drift(generated, committed)).containsExactly(
        "k8s/crds/a.example.yaml differs from the generated CRD",
        "k8s/crds/b.example.yaml is missing",
        "k8s/crds/old.example.yaml is not generated from any class (a removed kind?)");
  }

  @Test
  void update_thenDrift_findsNothing(@TempDir Path committed) throws IOException {
    Files.writeString(committed.resolve("old.example.yaml"), "stale\n");
    Files.writeString(committed.resolve("README.md"), "kept: not a CRD\n");
    Map<String, String> generated = Map.of("a.example.yaml", "kind: CustomResourceDefinition\n");

    update(generated, committed);

    assertThat(drift(generated, committed)).isEmpty();
    assertThat(committed.resolve("README.md")).exists();
  }

  /** Generated file name {@code <crd name>-v1.yml} → committed name {@code <crd name>.yaml}, with content. */
  static Map<String, String> generated(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    if (!Files.isDirectory(dir)) {
      fail(dir.toAbsolutePath() + " does not exist: the CRD generator runs at process-classes "
          + "(mvn -pl sandbox-pool -am process-classes)");
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(f -> f.getFileName().toString().endsWith("-v1.yml")).toList()) {
        String name = f.getFileName().toString();
        out.put(name.substring(0, name.length() - "-v1.yml".length()) + ".yaml", Files.readString(f));
      }
    }
    return out;
  }

  /** One line per committed file that is missing, different, or no longer generated. */
  static List<String> drift(Map<String, String> generated, Path committedDir) throws IOException {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> e : new TreeMap<>(generated).entrySet()) {
      Path committed = committedDir.resolve(e.getKey());
      if (!Files.exists(committed)) {
        problems.add("k8s/crds/" + e.getKey() + " is missing");
      } else if (!Files.readString(committed).equals(e.getValue())) {
        problems.add("k8s/crds/" + e.getKey() + " differs from the generated CRD");
      }
    }
    for (String name : committedCrds(committedDir)) {
      if (!generated.containsKey(name)) {
        problems.add("k8s/crds/" + name + " is not generated from any class (a removed kind?)");
      }
    }
    return problems;
  }

  static void update(Map<String, String> generated, Path committedDir) throws IOException {
    Files.createDirectories(committedDir);
    for (String name : committedCrds(committedDir)) {
      if (!generated.containsKey(name)) {
        Files.delete(committedDir.resolve(name));
      }
    }
    for (Map.Entry<String, String> e : generated.entrySet()) {
      Files.writeString(committedDir.resolve(e.getKey()), e.getValue());
    }
  }

  private static List<String> committedCrds(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".yaml")).sorted().toList();
    }
  }
}
