package io.agentcube.sandbox.process;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import io.agentcube.jail.Jail;
import io.agentcube.runtime.RuntimeDefinition;
import java.util.function.Predicate;
import java.util.function.Supplier;

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
 * @param jail how agent processes are jailed ({@link Jail#disabled} for none)
 * @param host how code interpreters served by the bundled sandboxd share one sandbox host; null
 *     for one sandboxd process per sandbox
 */
public record ProcessBackendOptions(Path stateDir, Duration readyTimeout, Duration stopGracePeriod,
    List<String> sandboxdCommand, Function<RuntimeDefinition, Map<String, String>> extraEnv,
    boolean keepSandboxesOnStop, Jail jail, HostOptions host) {

  /**
   * The sandbox host (see {@link SandboxHost}).
   *
   * @param isolation passed to the host as {@code --isolation} ({@code auto}, {@code required},
   *     {@code off})
   * @param authorization the {@code Authorization} value of the proxy's calls to the host
   * @param network which runtimes' executions may use the network (default: none)
   * @param maxSandboxes workspaces one host holds at most
   */
  public record HostOptions(String isolation, Supplier<String> authorization, Supplier<String> tokenKey,
      Predicate<RuntimeDefinition> network, int maxSandboxes) {
    public HostOptions {
      Objects.requireNonNull(authorization, "authorization");
      Objects.requireNonNull(tokenKey, "tokenKey");
      network = network == null ? d -> false : network;
    }
  }

  public ProcessBackendOptions {
    Objects.requireNonNull(stateDir, "stateDir");
    sandboxdCommand = List.copyOf(sandboxdCommand);
    extraEnv = extraEnv == null ? d -> Map.of() : extraEnv;
    jail = jail == null ? Jail.disabled("not configured") : jail;
  }

  /** Without jail and host (one process per sandbox, unjailed). */
  public ProcessBackendOptions(Path stateDir, Duration readyTimeout, Duration stopGracePeriod,
      List<String> sandboxdCommand, Function<RuntimeDefinition, Map<String, String>> extraEnv,
      boolean keepSandboxesOnStop) {
    this(stateDir, readyTimeout, stopGracePeriod, sandboxdCommand, extraEnv, keepSandboxesOnStop,
        null, null);
  }

  public static ProcessBackendOptions of(Path stateDir) {
    return new ProcessBackendOptions(stateDir, Duration.ofSeconds(60), Duration.ofSeconds(5),
        List.of(), null, false);
  }
}
