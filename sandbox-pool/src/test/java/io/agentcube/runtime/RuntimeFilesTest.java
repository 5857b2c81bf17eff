package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeFilesTest {

  @TempDir
  Path dir;

  private static String interpreter(String name, String spec) {
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata:
          name: %s
        spec:
          template: {command: [sandboxd]}
        %s""".formatted(name, spec.indent(2));
  }

  private void write(String file, String text) throws IOException {
    Files.writeString(dir.resolve(file), text);
  }

  @Test
  void load_oneBrokenFile_reportsItAndLoadsTheOthers() throws IOException {
    write("a.yaml", interpreter("alpha", ""));
    write("b.yml", interpreter("beta", "warmPoolSize: -1"));
    write("c.json", """
        {"apiVersion": "runtime.agentcube.volcano.sh/v1alpha1", "kind": "CodeInterpreter",
         "metadata": {"name": "gamma"}, "spec": {"template": {"command": ["sandboxd"]}}}
        """);
    write("notes.txt", "not a runtime");

    RuntimeSource.Loaded loaded = RuntimeFiles.load(List.of(dir), d -> List.of());

    assertThat(loaded.runtimes()).extracting(d -> d.ref().name()).containsExactly("alpha", "gamma");
    assertThat(loaded.errors()).singleElement().asString()
        .contains("b.yml").contains("spec.warmPoolSize");
    assertThat(loaded.runtimes().get(0).source()).isEqualTo(dir.resolve("a.yaml").toString());
  }

  @Test
  void load_sameRuntimeInTwoFiles_keepsFirstAndNamesBothFiles() throws IOException {
    write("1-first.yaml", interpreter("python", "warmPoolSize: 1"));
    write("2-second.yaml", interpreter("python", "warmPoolSize: 2"));

    RuntimeSource.Loaded loaded = RuntimeFiles.load(List.of(dir), d -> List.of());

    assertThat(loaded.runtimes()).singleElement().extracting(RuntimeDefinition::warmPoolSize).isEqualTo(1);
    assertThat(loaded.errors()).singleElement().asString()
        .contains("2-second.yaml").contains("already defined in").contains("1-first.yaml");
  }

  @Test
  void load_backendCannotRunDefinition_reportsBackendProblem() throws IOException {
    write("a.yaml", interpreter("alpha", "") + "---\n" + interpreter("beta", ""));

    RuntimeSource.Loaded loaded = RuntimeFiles.load(List.of(dir),
        d -> d.ref().name().equals("beta") ? List.of("spec.template.command: not runnable here") : List.of());

    assertThat(loaded.runtimes()).extracting(d -> d.ref().name()).containsExactly("alpha");
    assertThat(loaded.errors()).singleElement().asString()
        .contains("a.yaml").contains("default/beta").contains("spec.template.command: not runnable here");
  }

  @Test
  void load_missingDirectory_reportedNotThrown() throws IOException {
    write("a.yaml", interpreter("alpha", ""));
    Path missing = dir.resolve("nope");

    RuntimeSource.Loaded loaded = RuntimeFiles.load(List.of(missing, dir), d -> List.of());

    assertThat(loaded.runtimes()).hasSize(1);
    assertThat(loaded.errors()).containsExactly(missing + ": not a directory");
  }

  /**
   * Issue 11: under a file-descriptor flood the directory could not be listed, the reload saw no
   * files and removed every runtime (they came back later as new versions).
   */
  @Test
  void reload_directoryUnreadable_keepsItsRuntimesUnchangedThenSeesItAgain() throws IOException {
    Path runtimes = Files.createDirectory(dir.resolve("runtimes"));
    Files.writeString(runtimes.resolve("a.yaml"), interpreter("alpha", ""));
    RuntimeFiles files = new RuntimeFiles(List.of(runtimes), d -> List.of());
    RuntimeDefinition first = files.load().runtimes().get(0);

    Path away = dir.resolve("elsewhere");
    Files.move(runtimes, away);
    RuntimeSource.Loaded failed = files.load();

    assertThat(failed.runtimes()).containsExactly(first);
    assertThat(failed.changed()).as("nothing to apply").isFalse();
    assertThat(failed.errors()).singleElement().asString()
        .contains(runtimes.toString()).contains("still serving its files' last good contents");

    Files.move(away, runtimes);
    RuntimeSource.Loaded back = files.load();
    assertThat(back.runtimes()).containsExactly(first);
    assertThat(back.errors()).isEmpty();
    assertThat(back.changed()).isFalse();
  }

  @Test
  void load_shippedRuntimes_loadWithoutErrors() {
    Path shipped = Path.of("..", "conf", "runtimes");

    RuntimeSource.Loaded loaded = RuntimeFiles.load(List.of(shipped), d -> List.of());

    assertThat(loaded.errors()).isEmpty();
    assertThat(loaded.runtimes()).extracting(d -> d.ref().toString()).contains("AgentRuntime default/echo");
  }
}
