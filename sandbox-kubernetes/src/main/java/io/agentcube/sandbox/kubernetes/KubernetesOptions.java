package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.RuntimeDefinition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Settings of the Kubernetes backend.
 *
 * @param namespaces the namespaces whose runtimes and pods are served; empty means all
 * @param identity this replica's name in the leader Lease (the pod name, or the host name)
 * @param leaseNamespace where the leader Lease and the shared PicoD key Secret live
 * @param leaseName the leader Lease's name
 * @param leaseDuration how long a leader's Lease holds without renewal
 * @param renewDeadline how long a leader keeps trying to renew before it steps down
 * @param retryPeriod how often candidates try to take the Lease
 * @param reconcileInterval how often the leader checks pool sizes (it also reacts to pod events)
 * @param apiTimeout every API call's timeout
 * @param extraEnv more environment for a sandbox pod of a given runtime (the PicoD public key)
 */
public record KubernetesOptions(List<String> namespaces, String identity, String leaseNamespace,
    String leaseName, Duration leaseDuration, Duration renewDeadline, Duration retryPeriod,
    Duration reconcileInterval, Duration apiTimeout,
    Function<RuntimeDefinition, Map<String, String>> extraEnv) {

  public KubernetesOptions {
    namespaces = List.copyOf(namespaces);
    Objects.requireNonNull(identity, "identity");
    extraEnv = extraEnv == null ? d -> Map.of() : extraEnv;
  }

  /** Defaults for tests: lease timings short enough for a takeover within seconds. */
  public static KubernetesOptions of(List<String> namespaces, String identity, String leaseNamespace) {
    return new KubernetesOptions(namespaces, identity, leaseNamespace, "agentcube-proxy-leader",
        Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2), Duration.ofSeconds(5),
        Duration.ofSeconds(10), null);
  }

  public KubernetesOptions withLeaseTimings(Duration duration, Duration renew, Duration retry) {
    return new KubernetesOptions(namespaces, identity, leaseNamespace, leaseName, duration, renew,
        retry, reconcileInterval, apiTimeout, extraEnv);
  }

  public KubernetesOptions withExtraEnv(Function<RuntimeDefinition, Map<String, String>> env) {
    return new KubernetesOptions(namespaces, identity, leaseNamespace, leaseName, leaseDuration,
        renewDeadline, retryPeriod, reconcileInterval, apiTimeout, env);
  }

  /** Whether pods and runtimes of {@code namespace} are served. */
  boolean serves(String namespace) {
    return namespaces.isEmpty() || namespaces.contains(namespace);
  }
}
