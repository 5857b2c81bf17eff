package io.agentcube.sandboxd;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the uid of a deleted sandbox back to the pool once nothing of it runs, off the delete's
 * path and for many deletes with one scan of {@code /proc}.
 *
 * <p>Why a uid can still run something when its sandbox's delete has waited for every command:
 * the jail's wrapper exits as soon as its command has, and the jail's init (pid 1 of its PID
 * namespace, running as the uid) ends a moment later, taking whatever the command left in the
 * namespace with it. Those last processes cannot see or reach anything outside their jail, but
 * the rule stays: a uid goes to a new sandbox only when no process of it is alive. Each delete
 * used to check that itself, one scan of every process's {@code /proc/<pid>/status} per delete,
 * which under churn was the biggest part of the host's own CPU per session.
 *
 * <p>Now a delete {@link #quarantine}s the uid and returns. One thread wakes {@value #TICK_MILLIS}
 * ms after the first uid arrives, scans {@code /proc} once for all uids waiting, frees those
 * with nothing left (and removes a workspace directory that a delete could not remove while
 * they ran), SIGKILLs what the others still run and looks again a tick later. A uid still busy
 * after {@code giveUp} is logged and never reused by this host. The pool hands out uids round
 * robin, so a uid waiting here for a few ticks costs no sandbox its start.
 *
 * <p>Bounded: at most one entry per uid of the pool. Thread-safe.
 */
final class UidSweeper implements AutoCloseable {

  /** What the sweeper needs of the machine; {@link #PROC} in production, a fake in tests. */
  interface Processes {
    /** The live (not zombie) processes of each of {@code uids}; uids with none may be absent. */
    Map<Integer, List<Long>> running(Set<Integer> uids);

    /** SIGKILLs {@code pid} if it is still a live process of {@code uid}. */
    void kill(long pid, int uid);
  }

  static final Processes PROC = new Processes() {
    @Override
    public Map<Integer, List<Long>> running(Set<Integer> uids) {
      return ProcTable.runningOfUids(uids);
    }

    @Override
    public void kill(long pid, int uid) {
      // The handle first, then the check: destroyForcibly hits only the process the handle was
      // taken of (start time), and that one was checked to be the uid's, not a new process that
      // got a recycled pid.
      ProcessHandle.of(pid).filter(h -> ProcTable.runningAs(pid, uid))
          .ifPresent(ProcessHandle::destroyForcibly);
    }
  };

  static final long TICK_MILLIS = 10;
  private static final Logger log = LoggerFactory.getLogger(UidSweeper.class);

  private record Waiting(long sinceNanos, Path leftover) {}

  private final IntConsumer release;
  private final Processes processes;
  private final long giveUpNanos;
  private final Map<Integer, Waiting> waiting = new LinkedHashMap<>(); // guarded by this
  private final Thread thread;
  private boolean closed; // guarded by this

  /**
   * @param release gives a uid back to the pool; called on the sweeper's thread
   * @param giveUp how long a uid may keep running processes before it is given up on
   */
  UidSweeper(IntConsumer release, Processes processes, Duration giveUp) {
    this.release = release;
    this.processes = processes;
    this.giveUpNanos = giveUp.toNanos();
    this.thread = new Thread(this::loop, "sandboxd-uid-sweeper");
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Frees {@code uid} once nothing of it runs. {@code leftover}, if not null, is a workspace
   * directory its delete could not remove: it is removed then. After {@link #close} the uid
   * is never freed (the pool closes too).
   */
  synchronized void quarantine(int uid, Path leftover) {
    if (closed) {
      return;
    }
    waiting.put(uid, new Waiting(System.nanoTime(), leftover));
    notifyAll();
  }

  /** How many uids wait. */
  synchronized int waiting() {
    return waiting.size();
  }

  /**
   * Sweeps until no uid waits or {@code timeout} passes (for shutdown, so no process of a
   * sandbox outlives its host), then stops the thread. Blocking; idempotent.
   */
  void drain(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (!waiting.isEmpty() && !closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    close();
  }

  /** Stops the thread; uids still waiting stay out of use. */
  @Override
  public void close() {
    synchronized (this) {
      if (!closed && !waiting.isEmpty()) {
        log.warn("uids not freed at close count={}", waiting.size());
      }
      closed = true;
      notifyAll();
    }
    thread.interrupt();
  }

  private void loop() {
    try {
      while (true) {
        synchronized (this) {
          while (waiting.isEmpty() && !closed) {
            wait();
          }
          if (closed) {
            return;
          }
        }
        Thread.sleep(TICK_MILLIS); // let a burst of deletes share one scan
        sweepOnce();
      }
    } catch (InterruptedException e) {
      // closed
    } catch (RuntimeException | Error e) {
      log.error("uid sweeper stopped; deleted sandboxes' uids are no longer reused", e);
    }
  }

  /** One scan for every waiting uid. Package-private for tests. */
  void sweepOnce() {
    Set<Integer> uids;
    synchronized (this) {
      uids = new HashSet<>(waiting.keySet());
    }
    if (uids.isEmpty()) {
      return;
    }
    Map<Integer, List<Long>> running = processes.running(uids);
    long now = System.nanoTime();
    for (int uid : uids) {
      List<Long> left = running.getOrDefault(uid, List.of());
      Waiting w;
      synchronized (this) {
        w = left.isEmpty() ? waiting.remove(uid) : waiting.get(uid);
      }
      if (w == null) {
        continue;
      }
      if (left.isEmpty()) {
        free(uid, w);
      } else if (now - w.sinceNanos() > giveUpNanos) {
        synchronized (this) {
          waiting.remove(uid);
        }
        log.warn("uid not reused: processes of it survived SIGKILL uid={} count={}", uid,
            left.size());
      } else {
        left.forEach(pid -> processes.kill(pid, uid));
      }
    }
    synchronized (this) {
      notifyAll(); // drain() waits for the map to empty
    }
  }

  private void free(int uid, Waiting w) {
    if (w.leftover() != null) {
      try {
        new WorkspacePaths(w.leftover()).removeAll();
      } catch (IOException e) {
        log.warn("cannot remove workspace dir={} reason={}", w.leftover(), e.toString());
      }
    }
    release.accept(uid);
  }
}
