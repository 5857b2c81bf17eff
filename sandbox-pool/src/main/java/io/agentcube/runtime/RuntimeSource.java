package io.agentcube.runtime;

import java.util.List;

/**
 * Where runtime and endpoint declarations come from: files in directories (the process backend)
 * or the API server's objects (the Kubernetes backend). The proxy asks again every reload interval
 * and applies what changed to its catalog and pools.
 *
 * <p>{@link #load} may block (file reads); it is called on a worker, one call at a time.
 */
public interface RuntimeSource {

  /**
   * What is declared now.
   *
   * @param errors one line per broken declaration, naming where it came from; a broken
   *     declaration that was good before keeps its last good contents in {@code runtimes}
   * @param changed whether anything changed since the previous {@link #load}
   */
  record Loaded(List<RuntimeDefinition> runtimes, List<EndpointDefinition> endpoints,
      List<String> errors, boolean changed) {}

  /** Reads the declarations now. */
  Loaded load();

  /**
   * Shows each runtime's status where its declaration lives (the Kubernetes objects' status
   * subresource). Called on a worker after every reload tick with every runtime's status; the
   * source writes only what changed. Files show nothing (the runtime listing does).
   */
  default void publish(java.util.Map<RuntimeRef, RuntimeStatus> statuses) {}
}
