package io.agentcube.sandbox.process;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import io.agentcube.runtime.RuntimeDefinition;

/**
 * Settings of the process backend.
 *
 * @param stateDir where sandbox working directories live ({@code stateDir/sandboxes/<name>});
 *     leftovers of a crashed proxy are removed from it at start
 * @param readyTimeout how long a started process may take to accept connections
 * @param stopGracePeriod how long a stopped process tree gets between SIGTERM and SIGKILL
 * @param sandboxdCommand the command that runs the bundled sandboxd, for code interpreters
 *     without a command of their own; empty when sandboxd is not available
 * @param extraEnv more environment for a sandbox of a given runtime (e.g. the PicoD public key)
 * @param keepSandboxesOnStop whether {@code close} leaves the sandboxes running, for the next start
 *     on the same state directory to adopt (an upgrade); otherwise it stops them all
 */
public record ProcessBackendOptions(Path stateDir, Duration readyTimeout, Duration stopGracePeriod,
    List<String> sandboxdCommand, Function<RuntimeDefinition, Map<String, String>> extraEnv,
    boolean keepSandboxesOnStop) {

  public ProcessBackendOptions {
    Objects.requireNonNull(stateDir, "stateDir");
    sandboxdCommand = List.copyOf(sandboxdCommand);
    extraEnv = extraEnv == null ? d -> Map.of() : extraEnv;
  }

  public static ProcessBackendOptions of(Path stateDir) {
    return new ProcessBackendOptions(stateDir, Duration.ofSeconds(60), Duration.ofSeconds(5),
        List.of(), null, false);
  }
}
