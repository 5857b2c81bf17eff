package io.agentcube.testenv;

import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/** One pod the kubelet runs. Mutated on the control thread only; volatile for the queries. */
final class LocalPod {
  final String key;
  final String uid;
  final Path workDir;
  final Path logFile;
  volatile Pod pod;
  volatile String ip;
  volatile Process process;
  /** Completes once the current process's exit is handled (status written). */
  volatile CompletableFuture<Void> exitHandled = new CompletableFuture<>();
  /** Set once the pod is deleted (or the kubelet closes): no more status, no restarts. */
  volatile boolean deleted;
  /** Bumped per launch and by intentional kills, so a stale exit is not taken as a crash. */
  int generation;
  int port;
  boolean ready;
  int restarts;
  Integer exitCode;
  Instant startTime;
  Instant containerStart;
  Instant readySince;
  Instant finishedAt;

  LocalPod(String key, String uid, Pod pod, Path dir) {
    this.key = key;
    this.uid = uid;
    this.pod = pod;
    this.workDir = dir.resolve("work");
    this.logFile = dir.resolve("container.log");
  }

  /** Signals the process and all its descendants; {@code force} = SIGKILL, else SIGTERM. */
  void kill(boolean force) {
    Process p = process;
    if (p == null) {
      return;
    }
    // Children first: once the parent is gone they are re-parented and out of its tree.
    p.toHandle().descendants().forEach(h -> {
      if (force) {
        h.destroyForcibly();
      } else {
        h.destroy();
      }
    });
    if (force) {
      p.destroyForcibly();
    } else {
      p.destroy();
    }
  }
}
