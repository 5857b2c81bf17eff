package io.agentcube.sandboxd;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * {@code POST /api/execute}: {@code {command: [argv...], timeout?: "60s", working_dir?, env?}} →
 * 200 {@code {stdout, stderr, exit_code, duration, start_time, end_time}}, in the request's
 * workspace.
 *
 * <p>Validation happens before anything runs (400 for an empty or non-string command, a bad
 * timeout, a working directory outside the workspace or missing, a non-string env value). At most
 * {@link SandboxdOptions#maxExecutions()} commands run at once in the daemon and
 * {@link SandboxdOptions#maxExecutionsPerSandbox()} in one workspace; one more gets 429 at once
 * rather than queueing behind commands that may run for minutes. A command that exits non-zero,
 * times out (124) or cannot be started (126/127) is still a 200: the result describes it.
 *
 * <p>Blocking: occupies the exchange's handler thread for the command's run
 * ({@link CommandRunner}).
 */
final class ExecuteHandler {

  /** Longest timeout accepted, so a typo cannot pin a thread for years. */
  static final Duration MAX_TIMEOUT = Duration.ofDays(1);

  private final CommandRunner runner;
  private final Duration defaultTimeout;
  private final Semaphore slots;

  ExecuteHandler(CommandRunner runner, SandboxdOptions options) {
    this.runner = runner;
    this.defaultTimeout = options.defaultTimeout();
    this.slots = new Semaphore(options.maxExecutions());
  }

  void execute(HttpExchange exchange, InputStream body, Workspace workspace) throws IOException {
    CommandRunner.Command command = parse(Json.readObject(body), workspace.paths());
    if (!slots.tryAcquire()) {
      throw SandboxdException.reject(
          ErrorCode.SERVER_OVERLOADED, "too many commands running at once, try again later");
    }
    CommandRunner.Result result;
    try {
      workspace.beginExecution();
      try {
        result = runner.run(workspace, command);
      } finally {
        workspace.endExecution();
      }
    } finally {
      slots.release();
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("stdout", result.stdout());
    out.put("stderr", result.stderr());
    out.put("exit_code", result.exitCode());
    out.put("duration", result.durationSeconds());
    out.put("start_time", result.start().toString());
    out.put("end_time", result.end().toString());
    Responses.sendJson(exchange, 200, out);
  }

  /** Validates a request body into a command; 400 on anything unusable. */
  CommandRunner.Command parse(Map<String, Object> req, WorkspacePaths paths) {
    Object rawCommand = req.get("command");
    if (rawCommand == null || (rawCommand instanceof List && ((List<?>) rawCommand).isEmpty())) {
      throw SandboxdException.badRequest("command cannot be empty");
    }
    if (!(rawCommand instanceof List)) {
      throw SandboxdException.badRequest(
          "command must be an array of strings (argv); for a shell use [\"bash\", \"-c\", \"...\"]");
    }
    List<String> argv = new ArrayList<>();
    for (Object arg : (List<?>) rawCommand) {
      if (!(arg instanceof String) || ((String) arg).indexOf('\0') >= 0) {
        throw SandboxdException.badRequest("command must be an array of strings without NUL");
      }
      argv.add((String) arg);
    }
    if (argv.get(0).isEmpty()) {
      throw SandboxdException.badRequest("command cannot be empty");
    }
    return new CommandRunner.Command(
        argv, workingDir(req.get("working_dir"), paths), env(req.get("env")),
        timeout(req.get("timeout")));
  }

  private Duration timeout(Object raw) {
    Duration timeout;
    if (raw == null || (raw instanceof String && ((String) raw).isBlank())) {
      return defaultTimeout;
    } else if (raw instanceof String) {
      try {
        timeout = GoDuration.parse((String) raw);
      } catch (IllegalArgumentException e) {
        throw SandboxdException.badRequest("Invalid timeout format: " + e.getMessage());
      }
    } else if (raw instanceof Number) {
      double seconds = ((Number) raw).doubleValue();
      if (!Double.isFinite(seconds) || seconds > MAX_TIMEOUT.toSeconds()) {
        throw SandboxdException.badRequest("Invalid timeout format: " + raw);
      }
      timeout = Duration.ofNanos((long) (seconds * 1e9));
    } else {
      throw SandboxdException.badRequest("Invalid timeout format: must be a string like \"30s\"");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw SandboxdException.badRequest("Invalid timeout format: must be positive");
    }
    if (timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw SandboxdException.badRequest("Invalid timeout format: longer than 24h");
    }
    return timeout;
  }

  /** The working directory relative to the workspace root, links inside resolved. */
  private static String workingDir(Object raw, WorkspacePaths paths) {
    if (raw == null || (raw instanceof String && ((String) raw).isEmpty())) {
      return ".";
    }
    if (!(raw instanceof String)) {
      throw SandboxdException.badRequest("Invalid working directory: must be a string");
    }
    String relative;
    boolean directory;
    try (WorkspacePaths.Resolved dir = paths.open((String) raw)) {
      relative = dir.relative();
      directory = dir.isRoot() || (dir.attributes() != null && dir.attributes().isDirectory());
    } catch (SandboxdException | IOException e) {
      throw SandboxdException.badRequest("Invalid working directory: " + e.getMessage());
    }
    if (!directory) {
      throw SandboxdException.badRequest(
          "Invalid working directory: " + raw + " is not an existing directory");
    }
    return relative;
  }

  /**
   * An {@code env} object of a request (execute, or a host's create): names without {@code =}
   * or NUL, string values without NUL; 400 otherwise. Null for none.
   */
  static Map<String, String> env(Object raw) {
    if (raw == null) {
      return Map.of();
    }
    if (!(raw instanceof Map)) {
      throw SandboxdException.badRequest("env must be an object of strings");
    }
    Map<String, String> env = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) raw).entrySet()) {
      String key = String.valueOf(e.getKey());
      if (key.isEmpty() || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0) {
        throw SandboxdException.badRequest("env: invalid variable name \"" + key + "\"");
      }
      if (!(e.getValue() instanceof String) || ((String) e.getValue()).indexOf('\0') >= 0) {
        throw SandboxdException.badRequest("env: value of " + key + " must be a string");
      }
      env.put(key, (String) e.getValue());
    }
    return env;
  }
}
