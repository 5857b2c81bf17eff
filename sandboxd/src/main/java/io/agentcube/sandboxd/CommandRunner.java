package io.agentcube.sandboxd;

import io.agentcube.jail.Jail;
import io.agentcube.jail.JailSpec;
import io.agentcube.jail.Limits;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one command of one workspace to completion or timeout and captures its output.
 *
 * <p>Design. The caller's thread supervises: it starts the process (argv as given, no shell, stdin
 * from /dev/null), hands stdout and stderr to two drainer threads ({@link OutputCapture}), and
 * waits for the process to exit. The command is over when that process exits: what it wrote is
 * already in the pipes, and the drainers get {@value #LINGER_MILLIS} ms to read it to end of
 * file.
 *
 * <p>The jail. When {@link Jail#enabled()}, the process is the jail's wrapper (bubblewrap) around
 * the command: its own mount, PID, IPC, UTS and (unless the sandbox has network) network
 * namespaces, only the workspace writable (at {@link WorkspacePaths#jailRoot()}), rlimits, and on a
 * root host a uid of the sandbox's own. The command runs as {@code /usr/bin/env -- argv}
 * inside, so a missing or non-executable program is 127 or 126 as without the jail (bubblewrap
 * itself would answer 1); a program the jail's {@code PATH} finds under {@code /usr}, executable
 * by all, runs without env ({@link #inJail}). The PID namespace ends with the command: when it
 * exits, or when the wrapper is killed, the kernel kills every process left in it, daemons
 * started with {@code setsid}, double forks and {@code env -i} children included. So a timeout or a kill is
 * one SIGKILL of the wrapper, and background processes never outlive their command.
 *
 * <p>Without the jail, a background child that still holds the pipes after the command exited
 * ({@code &} with no redirection) is left running and its later output is dropped; PicoD would
 * instead hang until the timeout. On timeout the whole tree is killed with SIGKILL: {@link
 * ProcessHandle#descendants()} finds the processes still attached below the root; one whose parent
 * already exited has been re-parented to init and is not a descendant any more, so every command
 * also gets a unique {@value #EXECUTION_ID_ENV} in its environment, which its children inherit,
 * and processes whose {@code /proc/<pid>/environ} carries it are killed too (Jenkins finds a
 * build's leftovers the same way). Only a process that both left the tree and cleared its
 * environment escapes. {@link ProcessHandle#destroyForcibly()} checks the start time, so a
 * recycled pid is never hit.
 *
 * <p>Environment. Built from nothing: {@link Jail#baseEnvironment} ({@code PATH}, {@code HOME},
 * {@code LANG}, {@code TMPDIR}), then the workspace's environment (a host sandbox's create-time
 * {@code env}; in single mode the daemon's environment without sandboxd's own variables, see
 * {@link SingleWorkspace}), then the request's {@code env}, then {@value #EXECUTION_ID_ENV}.
 * sandboxd's own variables ({@code PICOD_AUTH_PUBLIC_KEY} above all) never reach a command, and
 * on a host nothing of the daemon's environment does.
 *
 * <p>Threads: {@link #run} blocks its caller for up to the timeout plus
 * {@value #KILL_GRACE_MILLIS} ms; it must not run on a thread that serves anything else. A
 * drainer left reading a background child's pipe ends when that child exits or closes it. The
 * running processes are tracked here (so {@link #killAll()} can end them at shutdown) and by
 * their workspace (so deleting a sandbox kills its commands); each entry is removed when its run
 * returns, so both are bounded by the number of commands running.
 */
final class CommandRunner {

  static final int TIMEOUT_EXIT_CODE = 124;
  static final long KILL_GRACE_MILLIS = 2_000;
  static final long LINGER_MILLIS = 250;
  /** Environment variable marking every process of one execution (see the class comment). */
  static final String EXECUTION_ID_ENV = "SANDBOXD_EXECUTION_ID";
  private static final Logger log = LoggerFactory.getLogger(CommandRunner.class);

  /**
   * What to run. {@code workingDir} is relative to the workspace root ({@code "."} for it), as
   * {@link WorkspacePaths.Resolved#relative()} gives it; {@code env} is the request's.
   */
  record Command(List<String> argv, String workingDir, Map<String, String> env, Duration timeout) {}

  /** How it went. {@code durationSeconds} is measured with the monotonic clock. */
  record Result(
      String stdout,
      String stderr,
      int exitCode,
      boolean timedOut,
      Instant start,
      Instant end,
      double durationSeconds) {}

  /** A started command, as its workspace and this runner track it to kill it. */
  static final class Running {
    private final Process process;
    private final String executionId;
    private final boolean jailed;

    Running(Process process, String executionId, boolean jailed) {
      this.process = process;
      this.executionId = executionId;
      this.jailed = jailed;
    }

    /**
     * SIGKILLs the command and everything it started: the jail's wrapper (its PID namespace
     * takes the rest), or without the jail the tree and every process marked with the
     * execution's id. Returns at once; the supervising {@link #run} sees the exit. Any thread.
     */
    void kill() {
      if (jailed) {
        process.destroyForcibly();
      } else {
        killTree(process.toHandle(), executionId);
      }
    }

    long pid() {
      return process.pid();
    }
  }

  private final long maxOutputBytes;
  private final ExecutorService drainers;
  private final Clock clock;
  private final Jail jail;
  private final Limits limits;
  /** Running commands; an entry lives exactly as long as its run. */
  private final Set<Running> running = ConcurrentHashMap.newKeySet();

  /**
   * @param maxOutputBytes bytes kept per stream
   * @param drainers runs two blocking drain tasks per command; may reject when saturated
   * @param clock wall clock for {@code start_time}/{@code end_time}
   * @param jail wraps every command when enabled
   * @param limits the rlimits of a jailed command
   */
  CommandRunner(long maxOutputBytes, ExecutorService drainers, Clock clock, Jail jail,
      Limits limits) {
    this.maxOutputBytes = maxOutputBytes;
    this.drainers = drainers;
    this.clock = clock;
    this.jail = jail;
    this.limits = limits;
  }

  /**
   * Runs {@code command} in {@code workspace} on the calling thread (blocking). The caller holds
   * an execution slot of the workspace ({@link Workspace#beginExecution()}).
   *
   * @return the result; a program that cannot be started is exit code 127 (not found) or 126
   *     (not executable) with the reason on stderr, as a shell would report it; a command killed
   *     because its sandbox was deleted is 137
   * @throws SandboxdException 429 when no drainer thread is free
   */
  Result run(Workspace workspace, Command command) {
    WorkspacePaths paths = workspace.paths();
    boolean jailed = jail.enabled();
    String executionId = UUID.randomUUID().toString();
    Map<String, String> environment = environment(workspace, command, executionId);
    ProcessBuilder builder = new ProcessBuilder(jailed
        ? jail.command(spec(workspace, command), inJail(command.argv(), environment.get("PATH")))
        : command.argv());
    builder.directory((jailed ? paths.root() : under(paths.root(), command.workingDir())).toFile());
    Map<String, String> env = builder.environment();
    env.clear();
    env.putAll(environment);
    builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));

    Instant start = clock.instant();
    long t0 = System.nanoTime();
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      String reason = String.valueOf(e.getMessage());
      int code = reason.contains("error=13") ? 126 : 127;
      return new Result("", reason + "\n", code, false, start, clock.instant(), seconds(t0));
    }
    Running handle = new Running(process, executionId, jailed);
    running.add(handle);
    try {
      if (!workspace.attach(handle)) {
        handle.kill(); // the sandbox is being deleted: this one goes with it
      }
      return supervise(command, process, handle, start, t0);
    } finally {
      workspace.detach(handle);
      running.remove(handle);
    }
  }

  /** The environment of a command, built from nothing (see the class comment). */
  Map<String, String> environment(Workspace workspace, Command command, String executionId) {
    Path home = jail.enabled() ? workspace.paths().jailRoot() : workspace.paths().root();
    Map<String, String> env = new LinkedHashMap<>(Jail.baseEnvironment(home.toString()));
    env.putAll(workspace.env());
    env.putAll(command.env());
    env.put(EXECUTION_ID_ENV, executionId);
    return env;
  }

  private JailSpec spec(Workspace workspace, Command command) {
    Path inside = workspace.paths().jailRoot();
    JailSpec.Builder spec = JailSpec.builder()
        .bind(workspace.paths().root(), inside.toString(), true)
        .workdir(under(inside, command.workingDir()).toString())
        .network(workspace.network())
        .limits(limits);
    for (Path p : workspace.readOnly()) {
      spec.readOnly(p);
    }
    if (workspace.uid() >= 0) {
      spec.uid(workspace.uid());
    }
    return spec.build();
  }

  /**
   * What the jail runs: {@code /usr/bin/env -- argv}, so that a missing or non-executable program
   * is 127 or 126 with the reason, as ProcessBuilder's failure is reported without the jail
   * (bubblewrap's own exec would answer 1). Except when {@link #systemProgram} shows that the
   * exec cannot fail that way: then argv itself, one exec less (about 1 ms). Not for an argv
   * whose program contains {@code =}, which env would read as an assignment.
   */
  static List<String> inJail(List<String> argv, String path) {
    String program = argv.get(0);
    if (program.indexOf('=') >= 0 || systemProgram(program, path)) {
      return argv;
    }
    List<String> wrapped = new ArrayList<>(argv.size() + 2);
    wrapped.add("/usr/bin/env");
    wrapped.add("--");
    wrapped.addAll(argv);
    return wrapped;
  }

  /**
   * True when {@code program} is a bare name that the jail's {@code PATH} resolves, as execvp
   * does, to a regular file under {@code /usr} that every user may execute. The jail shows the
   * host's {@code /usr} read-only at the same place ({@code /bin} and {@code /sbin} too, as
   * links into it or as binds), so bubblewrap's execvp finds that same file. False (env decides)
   * as soon as a {@code PATH} entry before the match is anything else (the workspace, /tmp, a
   * relative entry), the program names a path, or the match is a link out of {@code /usr}.
   */
  static boolean systemProgram(String program, String path) {
    if (program.isEmpty() || program.indexOf('/') >= 0 || path == null || path.isEmpty()) {
      return false;
    }
    for (String dir : path.split(":", -1)) {
      if (!(dir.equals("/bin") || dir.equals("/sbin") || dir.startsWith("/usr/"))
          || dir.contains("/..") || dir.contains("/./")) {
        return false;
      }
      Path candidate = Path.of(dir, program);
      Path real;
      PosixFileAttributes attrs;
      try {
        real = candidate.toRealPath();
        attrs = Files.readAttributes(real, PosixFileAttributes.class);
      } catch (NoSuchFileException e) {
        continue; // execvp tries the next entry too
      } catch (IOException | SecurityException | UnsupportedOperationException e) {
        return false;
      }
      return real.startsWith("/usr/") && attrs.isRegularFile()
          && attrs.permissions().contains(PosixFilePermission.OTHERS_EXECUTE);
    }
    return false;
  }

  private static Path under(Path root, String relative) {
    return relative.equals(".") ? root : root.resolve(relative);
  }

  private Result supervise(
      Command command, Process process, Running handle, Instant start, long t0) {
    OutputCapture stdout = new OutputCapture(maxOutputBytes);
    OutputCapture stderr = new OutputCapture(maxOutputBytes);
    Future<?> outDrain;
    Future<?> errDrain;
    try {
      outDrain = drainers.submit(() -> stdout.drain(process.getInputStream()));
      errDrain = drainers.submit(() -> stderr.drain(process.getErrorStream()));
    } catch (RejectedExecutionException e) {
      handle.kill();
      throw SandboxdException.reject(
          ErrorCode.SERVER_OVERLOADED, "too many commands running, try again later");
    }

    long deadline = t0 + command.timeout().toNanos();
    boolean timedOut = !awaitExit(process, deadline);
    if (timedOut) {
      handle.kill();
      long grace = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(KILL_GRACE_MILLIS);
      awaitExitQuietly(process, grace);
      if (!awaitDrained(outDrain, errDrain, grace)) {
        log.warn("command output still open after kill pid={}", process.pid());
      }
    } else if (!awaitDrained(outDrain, errDrain,
        System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS))) {
      log.debug("background process still holds command output pid={}", process.pid());
    }
    Instant end = clock.instant();
    int exitCode = timedOut ? TIMEOUT_EXIT_CODE : process.exitValue();
    String out = stdout.seal();
    String err = stderr.seal();
    return new Result(out, timedOut ? timeoutNote(err, command.timeout()) : err, exitCode,
        timedOut, start, end, seconds(t0));
  }

  /** PicoD's note: stderr gains a line "Command timed out after N seconds". */
  static String timeoutNote(String stderr, Duration timeout) {
    double secs = timeout.toNanos() / 1e9;
    String amount = secs == Math.rint(secs) ? String.valueOf((long) secs) : String.valueOf(secs);
    return stderr
        + (stderr.isEmpty() || stderr.endsWith("\n") ? "" : "\n")
        + "Command timed out after "
        + amount
        + " seconds\n";
  }

  /** Waits for the root process until the deadline. True if it exited. */
  private static boolean awaitExit(Process process, long deadline) {
    try {
      return process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static void awaitExitQuietly(Process process, long deadline) {
    try {
      process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for both drainers (end-of-file on both pipes) until the deadline. */
  private static boolean awaitDrained(Future<?> a, Future<?> b, long deadline) {
    try {
      a.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      b.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      return true; // a drainer failed: its stream is over either way
    }
  }

  /**
   * SIGKILLs the root first (so it cannot start more children), then every descendant, then
   * every process carrying the execution's id. Two rounds catch children started meanwhile.
   */
  static void killTree(ProcessHandle root, String executionId) {
    for (int round = 0; round < 2; round++) {
      Set<ProcessHandle> targets = new LinkedHashSet<>();
      targets.add(root);
      root.descendants().forEach(targets::add);
      if (executionId != null) {
        targets.addAll(ProcTable.withEnvironment(EXECUTION_ID_ENV, executionId));
      }
      targets.removeIf(h -> !h.isAlive());
      if (targets.isEmpty()) {
        return;
      }
      for (ProcessHandle h : new ArrayList<>(targets)) {
        h.descendants().forEach(targets::add);
      }
      targets.forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** Kills every running command's tree (shutdown). */
  void killAll() {
    running.forEach(Running::kill);
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
