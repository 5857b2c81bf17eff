package io.agentcube.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The runtime and endpoint files ({@code *.yaml}, {@code *.yml}, {@code *.json}) of some
 * directories, read again on every {@link #load} so that changes are picked up without a restart.
 *
 * <p>A file that breaks after it was good keeps serving its last good contents, and the error is
 * reported: a typo in one file never takes down runtimes that were running. A file that was never
 * good contributes nothing but its error. A removed file removes what it declared.
 *
 * <p>Blocking (reads files); call from a worker. Thread-safe.
 */
public final class RuntimeFiles implements RuntimeSource {


  /** A file's text, its last good parse (or null), and its error (or null). */
  private record FileState(String text, RuntimeParser.Result good, String error) {}

  private final List<Path> dirs;
  private final Function<RuntimeDefinition, List<String>> backendProblems;
  private Map<Path, FileState> files = Map.of();

  /**
   * @param backendProblems what the backend says it cannot run, per definition
   */
  public RuntimeFiles(List<Path> dirs, Function<RuntimeDefinition, List<String>> backendProblems) {
    this.dirs = List.copyOf(dirs);
    this.backendProblems = backendProblems;
  }

  /** Loads once, without remembering anything (for tools and tests). */
  public static Loaded load(List<Path> dirs, Function<RuntimeDefinition, List<String>> backendProblems) {
    return new RuntimeFiles(dirs, backendProblems).load();
  }

  /** Reads every file again and returns what is declared now. */
  @Override
  public synchronized Loaded load() {
    List<String> errors = new ArrayList<>();
    Map<Path, FileState> next = new LinkedHashMap<>();
    boolean changed = false;
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        errors.add(dir + ": not a directory" + keepLastGood(dir, next));
        continue;
      }
      List<Path> list;
      try (Stream<Path> s = Files.list(dir)) {
        list = s.filter(RuntimeFiles::isRuntimeFile).sorted().toList();
      } catch (IOException e) {
        // E.g. no file descriptor left: that is no reason to remove every runtime of the directory.
        errors.add(dir + ": " + e.getMessage() + keepLastGood(dir, next));
        continue;
      }
      for (Path file : list) {
        FileState before = files.get(file);
        String text;
        try {
          text = Files.readString(file);
        } catch (IOException e) {
          errors.add(file + ": " + e.getMessage());
          if (before != null) {
            next.put(file, before);
          }
          continue;
        }
        if (before != null && before.text().equals(text)) {
          next.put(file, before);
          continue;
        }
        changed = true;
        try {
          next.put(file, new FileState(text, RuntimeParser.parse(text, file.toString()), null));
        } catch (RuntimeValidationException e) {
          String error = before != null && before.good() != null
              ? e.getMessage() + " (still serving the file's last good contents)" : e.getMessage();
          next.put(file, new FileState(text, before == null ? null : before.good(), error));
        }
      }
    }
    if (!next.keySet().equals(files.keySet())) {
      changed = true;
    }
    files = next;

    List<RuntimeDefinition> runtimes = new ArrayList<>();
    List<EndpointDefinition> endpoints = new ArrayList<>();
    Map<RuntimeRef, String> seen = new HashMap<>();
    Map<String, String> seenEndpoints = new HashMap<>();
    for (Map.Entry<Path, FileState> e : next.entrySet()) {
      Path file = e.getKey();
      FileState state = e.getValue();
      if (state.error() != null) {
        errors.add(state.error());
      }
      if (state.good() == null) {
        continue;
      }
      for (RuntimeDefinition d : state.good().runtimes()) {
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
      for (EndpointDefinition ep : state.good().endpoints()) {
        String key = ep.kindName() + " " + ep.namespace() + "/" + ep.name();
        String first = seenEndpoints.putIfAbsent(key, file.toString());
        if (first != null) {
          errors.add(file + ": " + key + " is already defined in " + first);
        } else {
          endpoints.add(ep);
        }
      }
    }
    return new Loaded(runtimes, endpoints, errors, changed);
  }

  /**
   * A directory that cannot be read keeps the files it had: a reload that fails (the directory
   * unmounted for a moment, no file descriptor left) never removes runtimes. Removing a runtime
   * takes removing its file, not its directory.
   */
  private String keepLastGood(Path dir, Map<Path, FileState> next) {
    boolean kept = false;
    for (Map.Entry<Path, FileState> e : files.entrySet()) {
      if (e.getKey().startsWith(dir)) {
        next.put(e.getKey(), e.getValue());
        kept = true;
      }
    }
    return kept ? " (still serving its files' last good contents)" : "";
  }

  private static boolean isRuntimeFile(Path p) {
    String n = p.getFileName().toString();
    return Files.isRegularFile(p) && !n.startsWith(".")
        && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
  }
}
