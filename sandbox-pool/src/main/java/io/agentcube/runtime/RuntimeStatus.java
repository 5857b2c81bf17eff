package io.agentcube.runtime;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A runtime's status, computed the same way whichever backend serves it: the {@code Ready}
 * condition, the default version, the known versions, the warm pool and the live sessions.
 * The process backend shows it at {@code GET /v1/namespaces/{ns}/runtimes}; the Kubernetes
 * backend writes it to the object's status subresource.
 */
public record RuntimeStatus(boolean ready, String defaultVersion, Map<String, String> versions,
    int warmDesired, int warmReady, int activeSessions, Condition readyCondition) {

  /** A Kubernetes-style condition. */
  public record Condition(String type, String status, String reason, String message,
      long observedGeneration) {}

  /**
   * @param entry the runtime as the catalog knows it
   * @param warmReady ready sandboxes in the pool of the default version
   * @param startError why the latest start of the default version failed, or {@code null}
   * @param activeSessions live sessions of the runtime, all versions
   */
  public static RuntimeStatus compute(RuntimeCatalog.Entry entry, int warmReady, String startError,
      int activeSessions) {
    Map<String, String> versions = new LinkedHashMap<>();
    for (RuntimeCatalog.Version v : entry.versions()) {
      versions.put(v.name(), v.hash());
    }
    RuntimeDefinition current = entry.current().definition();
    boolean ready = startError == null;
    Condition condition = ready
        ? new Condition("Ready", "True", "Serving", "version " + current.version() + " serves new sessions; warm pool "
            + warmReady + "/" + current.warmPoolSize(), entry.generation())
        : new Condition("Ready", "False", "StartFailing", "sandboxes of version " + current.version()
            + " fail to start: " + startError, entry.generation());
    return new RuntimeStatus(ready, current.version(), versions, current.warmPoolSize(), warmReady,
        activeSessions, condition);
  }

  /** The conditions list (one entry today). */
  public List<Condition> conditions() {
    return List.of(readyCondition);
  }
}
