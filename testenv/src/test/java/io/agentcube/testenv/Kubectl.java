package io.agentcube.testenv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the machine's {@code kubectl} (or {@code $KUBECTL}) as a process against a test cluster,
 * as a user would: one kubeconfig, a private discovery cache, every run bounded by a timeout.
 * Blocking; for test threads only.
 */
final class Kubectl {

  /** What one run printed and how it ended. */
  record Result(int exit, String stdout, String stderr) {

    String output() {
      return stdout + stderr;
    }

    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  private static final Duration TIMEOUT = Duration.ofSeconds(90);

  private final String executable;
  private final Path kubeconfig;
  private final Path workDir;

  /**
   * @param kubeconfig who kubectl authenticates as
   * @param workDir an empty directory for the discovery cache and the captured output
   */
  Kubectl(Path kubeconfig, Path workDir) {
    String configured = System.getenv("KUBECTL");
    this.executable = configured == null || configured.isBlank() ? "kubectl" : configured;
    this.kubeconfig = kubeconfig;
    this.workDir = workDir;
  }

  /**
   * Runs {@code kubectl --kubeconfig <kubeconfig> --cache-dir <dir> <args>} in the repository
   * root and waits at most 90 s for it; past that the process is killed and this throws.
   *
   * @throws IllegalStateException when kubectl cannot be started or does not finish in time
   */
  Result run(String... args) {
    List<String> command = new ArrayList<>(List.of(executable,
        "--kubeconfig", kubeconfig.toString(),
        "--cache-dir", workDir.resolve("cache").toString()));
    command.addAll(List.of(args));
    Path out;
    Path err;
    try {
      out = Files.createTempFile(workDir, "kubectl-", ".out");
      err = Files.createTempFile(workDir, "kubectl-", ".err");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ProcessBuilder pb = new ProcessBuilder(command)
        .directory(Repo.root().toFile())
        .redirectOutput(out.toFile())
        .redirectError(err.toFile());
    pb.environment().remove("KUBECONFIG");
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + executable + " (install kubectl, e.g."
          + " apt-get install kubectl, or set KUBECTL): " + e.getMessage(), e);
    }
    try {
      if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish within "
            + TIMEOUT + "; output so far:\n" + read(out) + read(err));
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for kubectl", e);
    }
    return new Result(process.exitValue(), read(out), read(err));
  }

  /**
   * The rows of {@code kubectl get}'s table output, each as column header → cell (trimmed; empty
   * when the cell is). Cells are cut at the offsets of the header's columns, as kubectl aligns
   * every cell under its header, so an empty cell does not shift the ones after it.
   */
  static List<Map<String, String>> table(String output) {
    String[] lines = output.split("\n");
    String header = lines[0];
    List<Integer> starts = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < header.length(); i++) {
      if (header.charAt(i) != ' ' && (i == 0 || header.charAt(i - 1) == ' ')) {
        starts.add(i);
        int end = header.indexOf(' ', i);
        names.add(header.substring(i, end < 0 ? header.length() : end));
      }
    }
    List<Map<String, String>> rows = new ArrayList<>();
    for (int l = 1; l < lines.length; l++) {
      String line = lines[l];
      if (line.isBlank()) {
        continue;
      }
      Map<String, String> row = new LinkedHashMap<>();
      for (int c = 0; c < starts.size(); c++) {
        int from = Math.min(starts.get(c), line.length());
        int to = c + 1 < starts.size() ? Math.min(starts.get(c + 1), line.length()) : line.length();
        row.put(names.get(c), line.substring(from, to).trim());
      }
      rows.add(row);
    }
    return rows;
  }

  /** The column headers of {@code kubectl get}'s table output, in order. */
  static List<String> headers(String output) {
    return List.of(output.split("\n")[0].trim().split("\\s+"));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
