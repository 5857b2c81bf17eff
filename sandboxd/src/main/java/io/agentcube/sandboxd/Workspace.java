package io.agentcube.sandboxd;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One sandbox as sandboxd serves it: its directory ({@link WorkspacePaths}), the session it
 * belongs to ({@link SessionPin}), what its commands get (environment, network, uid, extra
 * read-only paths) and the commands it is running.
 *
 * <p>Lifecycle: open from creation; {@link #close} (a host deleting the sandbox, or shutdown)
 * refuses new commands, kills the running ones and waits for them. The directory itself is
 * removed by the owner ({@link SandboxHost}).
 *
 * <p>Concurrency: the execution count, the set of running commands and the closed flag are
 * guarded by this object's monitor; a command takes a slot ({@link #beginExecution()}) before its
 * process is started and registers the process once started ({@link #attach}), so a close that
 * runs in between still finds the slot taken, waits for it, and the late process is killed at
 * once by its runner. The rest is immutable.
 */
final class Workspace {

  private final String id;
  private final WorkspacePaths paths;
  private final Map<String, String> env;
  private final boolean network;
  private final int uid;
  private final List<Path> readOnly;
  private final SessionPin session;
  private final int maxExecutions;

  private final Set<CommandRunner.Running> running = new HashSet<>();
  private int active;
  private boolean closed;

  /**
   * @param id the sandbox id on a host, or null in single mode
   * @param env variables every command of this workspace gets (see {@link CommandRunner})
   * @param uid the uid commands run as, or -1 for sandboxd's own
   * @param readOnly host paths the jail shows read-only at the same path
   * @param maxExecutions commands running at once in this workspace
   */
  Workspace(String id, WorkspacePaths paths, Map<String, String> env, boolean network, int uid,
      List<Path> readOnly, SessionPin session, int maxExecutions) {
    this.id = id;
    this.paths = paths;
    this.env = Map.copyOf(env);
    this.network = network;
    this.uid = uid;
    this.readOnly = List.copyOf(readOnly);
    this.session = session;
    this.maxExecutions = maxExecutions;
  }

  /** The sandbox id, or null in single mode. */
  String id() {
    return id;
  }

  WorkspacePaths paths() {
    return paths;
  }

  Map<String, String> env() {
    return env;
  }

  boolean network() {
    return network;
  }

  /** The uid its commands and its files belong to, or -1 for sandboxd's own. */
  int uid() {
    return uid;
  }

  List<Path> readOnly() {
    return readOnly;
  }

  SessionPin session() {
    return session;
  }

  /**
   * Takes one execution slot; release it with {@link #endExecution()}.
   *
   * @throws SandboxdException 429 when this workspace already runs its maximum, 404 when it is
   *     closed (its sandbox is being deleted)
   */
  synchronized void beginExecution() {
    if (closed) {
      throw SandboxdException.reject(ErrorCode.SANDBOX_NOT_FOUND, "sandbox not found");
    }
    if (active >= maxExecutions) {
      throw SandboxdException.reject(ErrorCode.SERVER_OVERLOADED,
          "this sandbox already runs " + maxExecutions + " commands, try again later");
    }
    active++;
  }

  synchronized void endExecution() {
    active--;
    notifyAll();
  }

  /** Commands holding a slot right now. */
  synchronized int executions() {
    return active;
  }

  synchronized boolean isOpen() {
    return !closed;
  }

  /**
   * Closes the workspace for new commands without waiting (see {@link #close}).
   *
   * @return true for the caller that closed it, false when it was closed already
   */
  synchronized boolean markClosed() {
    boolean wasOpen = !closed;
    closed = true;
    return wasOpen;
  }

  /**
   * Registers a started command so that {@link #close} can kill it.
   *
   * @return false when the workspace closed meanwhile: the caller kills the command
   */
  synchronized boolean attach(CommandRunner.Running command) {
    if (closed) {
      return false;
    }
    running.add(command);
    return true;
  }

  synchronized void detach(CommandRunner.Running command) {
    running.remove(command);
  }

  /**
   * Refuses new commands, kills the running ones and waits until every slot is released (each
   * runner returns once its process is dead) or {@code timeout} passes. Idempotent; blocking.
   *
   * @return true when no command is left
   */
  boolean close(Duration timeout) {
    List<CommandRunner.Running> victims;
    synchronized (this) {
      closed = true;
      victims = new ArrayList<>(running);
    }
    victims.forEach(CommandRunner.Running::kill);
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (active > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        // A command attached after our snapshot was killed by its runner (attach failed); one
        // that attached before it is in victims. Kill again what is still registered, in case
        // a wrapper was between fork and exec when first hit.
        running.forEach(CommandRunner.Running::kill);
        try {
          TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }
}
