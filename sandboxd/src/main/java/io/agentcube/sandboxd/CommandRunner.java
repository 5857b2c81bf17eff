package io.agentcube.sandboxd;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
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
 * Runs one command to completion or timeout and captures its output.
 *
 * <p>Design. The caller's thread supervises: it starts the process (argv as given, no shell, stdin
 * from /dev/null), hands stdout and stderr to two drainer threads ({@link OutputCapture}), and
 * waits for the process to exit. The command is over when that process exits: what it wrote is
 * already in the pipes, and the drainers get {@value #LINGER_MILLIS} ms to read it to end of
 * file. A background child that still holds the pipes after that (started with {@code &} and no
 * redirection) is left running and its later output is dropped; PicoD would instead hang until
 * the timeout. The JDK itself closes the pipes of an exited process whenever no read is in
 * progress, so waiting for such children could not be made deterministic anyway.
 *
 * <p>Timeout. When the deadline passes while the process runs, the whole tree is killed with
 * SIGKILL and the result is exit code {@value #TIMEOUT_EXIT_CODE} with PicoD's note appended to
 * stderr. {@link ProcessHandle#descendants()} finds the processes still attached below the root;
 * one whose parent already exited has been re-parented to init and is not a descendant any more,
 * so every command also gets a unique {@value #EXECUTION_ID_ENV} in its environment, which its
 * children inherit, and processes whose {@code /proc/<pid>/environ} carries it are killed too
 * (Jenkins finds a build's leftovers the same way). Only a process that both left the tree and
 * cleared its environment escapes. {@link ProcessHandle#destroyForcibly()} checks the start time,
 * so a recycled pid is never hit.
 *
 * <p>Threads: {@link #run} blocks its caller for up to the timeout plus
 * {@value #KILL_GRACE_MILLIS} ms; it must not run on a thread that serves anything else. A
 * drainer left reading a background child's pipe ends when that child exits or closes it. The
 * running processes are tracked so {@link #killAll()} can end them at shutdown; each entry is
 * removed when its run returns.
 */
final class CommandRunner {

  static final int TIMEOUT_EXIT_CODE = 124;
  static final long KILL_GRACE_MILLIS = 2_000;
  static final long LINGER_MILLIS = 250;
  /** Environment variable marking every process of one execution (see the class comment). */
  static final String EXECUTION_ID_ENV = "SANDBOXD_EXECUTION_ID";
  private static final Logger log = LoggerFactory.getLogger(CommandRunner.class);

  /** What to run. {@code env} is merged over the daemon's environment. */
  record Command(List<String> argv, Path workingDir, Map<String, String> env, Duration timeout) {}

  /** How it went. {@code durationSeconds} is measured with the monotonic clock. */
  record Result(
      String stdout,
      String stderr,
      int exitCode,
      boolean timedOut,
      Instant start,
      Instant end,
      double durationSeconds) {}

  private final long maxOutputBytes;
  private final ExecutorService drainers;
  private final Clock clock;
  /** Running processes and their execution ids; an entry lives exactly as long as its run. */
  private final Map<Process, String> running = new ConcurrentHashMap<>();

  /**
   * @param maxOutputBytes bytes kept per stream
   * @param drainers runs two blocking drain tasks per command; may reject when saturated
   * @param clock wall clock for {@code start_time}/{@code end_time}
   */
  CommandRunner(long maxOutputBytes, ExecutorService drainers, Clock clock) {
    this.maxOutputBytes = maxOutputBytes;
    this.drainers = drainers;
    this.clock = clock;
  }

  /**
   * Runs {@code command} on the calling thread (blocking).
   *
   * @return the result; a program that cannot be started is exit code 127 (not found) or 126
   *     (not executable) with the reason on stderr, as a shell would report it
   * @throws SandboxdException 429 when no drainer thread is free
   */
  Result run(Command command) {
    ProcessBuilder builder = new ProcessBuilder(command.argv());
    builder.directory(command.workingDir().toFile());
    builder.environment().putAll(command.env());
    String executionId = UUID.randomUUID().toString();
    builder.environment().put(EXECUTION_ID_ENV, executionId);
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
    running.put(process, executionId);
    try {
      return supervise(command, process, executionId, start, t0);
    } finally {
      running.remove(process);
    }
  }

  private Result supervise(
      Command command, Process process, String executionId, Instant start, long t0) {
    OutputCapture stdout = new OutputCapture(maxOutputBytes);
    OutputCapture stderr = new OutputCapture(maxOutputBytes);
    Future<?> outDrain;
    Future<?> errDrain;
    try {
      outDrain = drainers.submit(() -> stdout.drain(process.getInputStream()));
      errDrain = drainers.submit(() -> stderr.drain(process.getErrorStream()));
    } catch (RejectedExecutionException e) {
      killTree(process.toHandle(), executionId);
      throw SandboxdException.reject(
          ErrorCode.SERVER_OVERLOADED, "too many commands running, try again later");
    }

    long deadline = t0 + command.timeout().toNanos();
    boolean timedOut = !awaitExit(process, deadline);
    if (timedOut) {
      killTree(process.toHandle(), executionId);
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
        targets.addAll(marked(executionId));
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

  /** Live processes whose environment holds {@code EXECUTION_ID_ENV=executionId} (Linux). */
  static List<ProcessHandle> marked(String executionId) {
    byte[] needle = (EXECUTION_ID_ENV + "=" + executionId).getBytes(StandardCharsets.US_ASCII);
    long self = ProcessHandle.current().pid();
    List<ProcessHandle> found = new ArrayList<>();
    ProcessHandle.allProcesses().forEach(h -> {
      if (h.pid() != self && environContains(h.pid(), needle)) {
        found.add(h);
      }
    });
    return found;
  }

  private static boolean environContains(long pid, byte[] needle) {
    byte[] env;
    try {
      env = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
    } catch (IOException | SecurityException e) {
      return false; // gone, another user's, or no /proc: not ours to kill
    }
    // Entries are NUL-separated; match a whole entry.
    int start = 0;
    for (int i = 0; i <= env.length; i++) {
      if (i == env.length || env[i] == 0) {
        if (i - start == needle.length && Arrays.equals(env, start, i, needle, 0, needle.length)) {
          return true;
        }
        start = i + 1;
      }
    }
    return false;
  }

  /** Kills every running command's tree (shutdown). */
  void killAll() {
    running.forEach((p, id) -> killTree(p.toHandle(), id));
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
