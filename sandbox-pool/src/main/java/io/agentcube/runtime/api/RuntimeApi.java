package io.agentcube.runtime.api;

/** Names shared by the four kinds. */
public final class RuntimeApi {

  /** The API group, AgentCube's, so its manifests apply unchanged. */
  public static final String GROUP = "runtime.agentcube.volcano.sh";
  public static final String VERSION = "v1alpha1";
  /** {@code apiVersion} of every kind: {@value}. */
  public static final String API_VERSION = GROUP + "/" + VERSION;
  /** The runtime annotation that names a version: {@value}. */
  public static final String VERSION_ANNOTATION = GROUP + "/version";

  /** Kubernetes/Go duration syntax; the same as {@code io.agentcube.runtime.Durations.PATTERN}. */
  static final String DURATION_PATTERN = io.agentcube.runtime.Durations.PATTERN;
  /** An RFC 1123 label: what runtime and endpoint names must be. */
  static final String DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

  private RuntimeApi() {}
}
