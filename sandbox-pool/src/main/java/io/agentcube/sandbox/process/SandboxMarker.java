package io.agentcube.sandbox.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;

/**
 * The file in each sandbox directory that says who started it, so that a proxy starting after a
 * crash can tell its own leftovers (owner dead) from another live proxy's sandboxes (owner alive).
 * A pid is only trusted together with its process start time, so a recycled pid is never killed.
 */
record SandboxMarker(long ownerPid, Instant ownerStart, long pid, Instant start) {

  static final String FILE = ".agentcube-sandbox";

  static SandboxMarker self() {
    ProcessHandle me = ProcessHandle.current();
    return new SandboxMarker(me.pid(), startOf(me), -1, null);
  }

  SandboxMarker withProcess(ProcessHandle p) {
    return new SandboxMarker(ownerPid, ownerStart, p.pid(), startOf(p));
  }

  void write(Path dir) throws IOException {
    Properties p = new Properties();
    p.setProperty("ownerPid", Long.toString(ownerPid));
    p.setProperty("ownerStart", ownerStart == null ? "" : ownerStart.toString());
    p.setProperty("pid", Long.toString(pid));
    p.setProperty("start", start == null ? "" : start.toString());
    try (var out = Files.newBufferedWriter(dir.resolve(FILE))) {
      p.store(out, "agentcube-proxy sandbox");
    }
  }

  static Optional<SandboxMarker> read(Path dir) {
    Path file = dir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try (var in = Files.newBufferedReader(file)) {
      p.load(in);
      return Optional.of(new SandboxMarker(Long.parseLong(p.getProperty("ownerPid", "-1")),
          instant(p.getProperty("ownerStart")), Long.parseLong(p.getProperty("pid", "-1")),
          instant(p.getProperty("start"))));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Whether the proxy that wrote this marker is still running. */
  boolean ownerAlive() {
    return matches(ownerPid, ownerStart).isPresent();
  }

  /** The sandbox process, if it is still the same process. */
  Optional<ProcessHandle> process() {
    return matches(pid, start);
  }

  private static Optional<ProcessHandle> matches(long pid, Instant start) {
    if (pid <= 0) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(h -> start == null || startOf(h) == null || start.equals(startOf(h)));
  }

  private static Instant startOf(ProcessHandle h) {
    return h.info().startInstant().orElse(null);
  }

  private static Instant instant(String s) {
    return s == null || s.isEmpty() ? null : Instant.parse(s);
  }
}
