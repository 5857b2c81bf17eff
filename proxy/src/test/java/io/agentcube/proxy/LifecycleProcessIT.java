package io.agentcube.proxy;

import io.agentcube.runtime.Durations;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LifecycleContract} on the process backend: runtime files in a temporary directory, each
 * sandbox a local process with its directory (and marker) under the state directory.
 */
class LifecycleProcessIT extends LifecycleContract {

  @TempDir
  Path tmp;

  private Path sandboxes() {
    return tmp.resolve("state").resolve("sandboxes");
  }

  @Override
  protected Served serve(Duration startTimeout, TestRuntime... runtimes) throws Exception {
    for (TestRuntime r : runtimes) {
      TestRuntimes.write(tmp.resolve("runtimes"), r.name() + ".yaml", TestRuntimes.agent(r.name(),
          r.warmPoolSize(), r.sessionTimeout(), r.maxSessionDuration(), command(r.program())));
    }
    String timeout = Durations.format(startTimeout);
    ProxyFixture f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), true, Map.of(
        "pool.startTimeout", timeout,
        // A start that timed out goes on until the backend's own ready timeout: the same here, so
        // that a sandbox that never listens is stopped when its request gives up.
        "process.readyTimeout", timeout));
    return new Served() {
      @Override
      public AgentCubeProxy proxy() {
        return f.proxy;
      }

      @Override
      public String namespace() {
        return "default";
      }

      @Override
      public void close() throws Exception {
        f.close();
      }
    };
  }

  private static List<String> command(Program p) {
    return switch (p) {
      case ECHO -> List.of("python3", "-S", "-u", TestRuntimes.ECHO_AGENT.toString());
      case EXITS_AT_ONCE -> List.of("python3", "-S", "-c", "import sys; sys.exit(3)");
      case NEVER_LISTENS -> List.of("python3", "-S", "-c", "import time; time.sleep(3600)");
    };
  }

  /** From the sandbox markers: the one whose session is {@code sessionId}. */
  @Override
  protected SandboxView sandboxOf(String sessionId) throws Exception {
    try (Stream<Path> dirs = Files.list(sandboxes())) {
      for (Path dir : dirs.toList()) {
        Optional<JsonObject> marker = marker(dir);
        JsonObject session = marker.map(m -> m.getJsonObject("session")).orElse(null);
        if (session != null && sessionId.equals(session.getString("id"))) {
          return view(dir, marker.get());
        }
      }
    }
    throw new AssertionError("no sandbox directory of session " + sessionId + " in " + sandboxes());
  }

  /** From the sandbox markers: one that no session has claimed. */
  @Override
  protected SandboxView warmSandbox() throws Exception {
    try (Stream<Path> dirs = Files.list(sandboxes())) {
      for (Path dir : dirs.toList()) {
        Optional<JsonObject> marker = marker(dir);
        if (marker.isPresent() && marker.get().getJsonObject("session") == null
            && marker.get().getJsonObject("process").getLong("pid", -1L) > 0) {
          return view(dir, marker.get());
        }
      }
    }
    throw new AssertionError("no warm sandbox in " + sandboxes());
  }

  private static SandboxView view(Path dir, JsonObject marker) {
    long pid = marker.getJsonObject("process").getLong("pid");
    String name = marker.getString("name");
    return new SandboxView() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public boolean exists() {
        return Files.exists(dir) || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
      }

      @Override
      public void kill() {
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
      }
    };
  }

  private static Optional<JsonObject> marker(Path dir) {
    try {
      return Optional.of(new JsonObject(Files.readString(dir.resolve(".agentcube-sandbox"))));
    } catch (IOException e) {
      return Optional.empty(); // not written yet, or being removed
    }
  }

  /** Sandbox directories: one from spawn until the stop has killed the process and removed it. */
  @Override
  protected int sandboxCount() throws Exception {
    if (!Files.isDirectory(sandboxes())) {
      return 0;
    }
    try (Stream<Path> dirs = Files.list(sandboxes())) {
      return (int) dirs.filter(Files::isDirectory).count();
    }
  }
}
