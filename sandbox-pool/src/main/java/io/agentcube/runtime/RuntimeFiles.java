package io.agentcube.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Loads runtime files ({@code *.yaml}, {@code *.yml}, {@code *.json}) from directories. A broken
 * file is reported and skipped; it does not stop the others from loading. Blocking.
 */
public final class RuntimeFiles {

  /** What a load found: the usable definitions, and one line per broken file or document. */
  public record Loaded(List<RuntimeDefinition> runtimes, List<String> errors) {}

  private RuntimeFiles() {}

  /**
   * @param backendProblems what the backend says it cannot run, per definition
   */
  public static Loaded load(List<Path> dirs, Function<RuntimeDefinition, List<String>> backendProblems) {
    List<RuntimeDefinition> runtimes = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    Map<RuntimeRef, String> seen = new HashMap<>();
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        errors.add(dir + ": not a directory");
        continue;
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files = s.filter(p -> {
          String n = p.getFileName().toString();
          return Files.isRegularFile(p) && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
        }).sorted().toList();
      } catch (IOException e) {
        errors.add(dir + ": " + e.getMessage());
        continue;
      }
      for (Path file : files) {
        try {
          RuntimeParser.Result r = RuntimeParser.parse(Files.readString(file), file.toString());
          for (RuntimeDefinition d : r.runtimes()) {
            List<String> problems = backendProblems.apply(d);
            String first = seen.putIfAbsent(d.ref(), file.toString());
            if (first != null) {
              errors.add(file + ": " + d.ref() + " is already defined in " + first);
            } else if (!problems.isEmpty()) {
              errors.add(file + ": " + d.ref() + ": " + String.join("; ", problems));
            } else {
              runtimes.add(d);
            }
          }
        } catch (RuntimeValidationException e) {
          errors.add(e.getMessage());
        } catch (IOException e) {
          errors.add(file + ": " + e.getMessage());
        }
      }
    }
    return new Loaded(runtimes, errors);
  }
}
