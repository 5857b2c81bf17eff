package io.agentcube.sandboxd;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>Design. The caller's thread supervises: it starts the process (argv as given, no shell),
 * hands stdout and stderr to two drainer threads ({@link OutputCapture}), and waits. A command is
 * complete when its process has exited <em>and</em> both streams reached end-of-file; a
 * background child that still holds the pipes keeps it running. When the deadline passes first,
 * the whole tree is killed with SIGKILL and the result is exit code {@value #TIMEOUT_EXIT_CODE}
 * with a note appended to stderr.
 *
 * <p>Killing the tree. {@link ProcessHandle#descendants()} only finds processes still attached
 * to the tree, and a child is re-parented to init the moment its parent dies. So while the
 * command runs, the supervisor re-reads the tree every {@value #POLL_MILLIS} ms and remembers
 * every descendant it has seen (bounded); on timeout it kills the root, everything currently
 * below it and everything remembered that is still alive. A process that double-forks and exits
 * within one poll interval can escape; so can one started between the last scan and the kill
 * (microseconds). {@link ProcessHandle#destroyForcibly()} checks the start time, so a recycled
 * pid is never killed by mistake.
 *
 * <p>Threads: {@link #run} blocks its caller for up to the timeout plus
 * {@value #KILL_GRACE_MILLIS} ms; it must not run on a thread that serves anything else. The
 * running processes are tracked so {@link #killAll()} can end them at shutdown; each is removed
 * when its run returns.
 */
final class CommandRunner {

  static final int TIMEOUT_EXIT_CODE = 124;
  static final long POLL_MILLIS = 100;
  static final long KILL_GRACE_MILLIS = 2_000;
  private static final int MAX_REMEMBERED = 4096;
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
  private final Set<Process> running = ConcurrentHashMap.newKeySet();

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
    running.add(process);
    try {
      return supervise(command, process, start, t0);
    } finally {
      running.remove(process);
    }
  }

  private Result supervise(Command command, Process process, Instant start, long t0) {
    OutputCapture stdout = new OutputCapture(maxOutputBytes);
    OutputCapture stderr = new OutputCapture(maxOutputBytes);
    Future<?> outDrain;
    Future<?> errDrain;
    try {
      outDrain = drainers.submit(() -> stdout.drain(process.getInputStream()));
      errDrain = drainers.submit(() -> stderr.drain(process.getErrorStream()));
    } catch (RejectedExecutionException e) {
      killTree(process.toHandle(), Set.of());
      throw SandboxdException.reject(
          ErrorCode.SERVER_OVERLOADED, "too many commands running, try again later");
    }

    long deadline = t0 + command.timeout().toNanos();
    Set<ProcessHandle> seen = new LinkedHashSet<>();
    boolean timedOut = !awaitExit(process, deadline, seen)
        || !awaitDrained(outDrain, errDrain, deadline);
    if (timedOut) {
      killTree(process.toHandle(), seen);
      long grace = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(KILL_GRACE_MILLIS);
      awaitExitQuietly(process, grace);
      if (!awaitDrained(outDrain, errDrain, grace)) {
        log.warn("command output still open after kill pid={}", process.pid());
      }
    }
    Instant end = clock.instant();
    int exitCode = timedOut ? TIMEOUT_EXIT_CODE : process.exitValue();
    String err = timedOut ? timeoutNote(stderr.text(), command.timeout()) : stderr.text();
    return new Result(stdout.text(), err, exitCode, timedOut, start, end, seconds(t0));
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

  /** Waits for the root process until the deadline, remembering descendants. True if it exited. */
  private static boolean awaitExit(Process process, long deadline, Set<ProcessHandle> seen) {
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      try {
        if (process.waitFor(Math.min(left, TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS)),
            TimeUnit.NANOSECONDS)) {
          return true;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      if (seen.size() < MAX_REMEMBERED) {
        process.descendants().limit(MAX_REMEMBERED - seen.size()).forEach(seen::add);
      }
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
   * SIGKILLs the root first (so it cannot start more children), then every descendant found now
   * or seen before. Two rounds catch children started by descendants during the first.
   */
  static void killTree(ProcessHandle root, Set<ProcessHandle> seen) {
    List<ProcessHandle> targets = new ArrayList<>();
    targets.add(root);
    root.descendants().forEach(targets::add);
    targets.addAll(seen);
    for (int round = 0; round < 2 && !targets.isEmpty(); round++) {
      List<ProcessHandle> below = new ArrayList<>();
      for (ProcessHandle h : targets) {
        if (h.isAlive()) {
          h.descendants().forEach(below::add);
        }
      }
      for (ProcessHandle h : targets) {
        h.destroyForcibly();
      }
      below.removeIf(h -> !h.isAlive());
      targets = below;
    }
  }

  /** Kills every running command's tree (shutdown). */
  void killAll() {
    for (Process p : running) {
      killTree(p.toHandle(), Set.of());
    }
  }

  /** Number of commands running now. */
  int runningCount() {
    return running.size();
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
