package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.Sandbox;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.readiness.Readiness;
import io.vertx.core.net.SocketAddress;
import java.time.Instant;
import java.util.Map;

/**
 * A sandbox that is a pod, as this replica's pod watch last saw it. One instance per pod for the
 * replica's life, updated in place by {@link #observe} from watch events (any thread), read on the
 * request path ({@link #address} is a volatile read of an array built per IP change).
 */
final class KubernetesSandbox implements Sandbox {

  final String namespace;
  final String podName;
  private final String uid;
  private final RuntimeDefinition definition;
  private volatile SocketAddress[] addresses;
  private volatile String ip;
  private volatile String sessionId;
  volatile String resourceVersion;
  volatile boolean ready;
  volatile boolean terminating;
  /** Set when this replica decided to delete it, or it is gone: it is not reported lost then. */
  volatile boolean stopping;
  volatile boolean gone;
  /** Completed when this replica's delete of it went through (tried until it does). */
  final io.vertx.core.Promise<Void> stopped = io.vertx.core.Promise.promise();
  /** Whether listeners were told of this bound pod ({@code found}); once. */
  volatile boolean announced;
  volatile Instant sessionCreated;
  private volatile String owner;
  volatile Instant lastActivity;
  volatile String endReason;

  /** Marks it stopping; true for the one caller that then deletes it. */
  synchronized boolean beginStop() {
    if (stopping) {
      return false;
    }
    stopping = true;
    return true;
  }

  KubernetesSandbox(Pod pod, RuntimeDefinition definition) {
    this.namespace = pod.getMetadata().getNamespace();
    this.podName = pod.getMetadata().getName();
    this.uid = pod.getMetadata().getUid();
    this.definition = definition;
  }

  /**
   * Takes in what the pod says now.
   *
   * @return whether its IP changed from one address to another (not from none)
   */
  boolean observe(Pod pod) {
    Map<String, String> labels = pod.getMetadata().getLabels();
    Map<String, String> annotations = pod.getMetadata().getAnnotations() == null ? Map.of()
        : pod.getMetadata().getAnnotations();
    resourceVersion = pod.getMetadata().getResourceVersion();
    sessionId = labels == null ? null : labels.get(Labels.SESSION_ID);
    sessionCreated = instant(annotations.get(Labels.SESSION_CREATED));
    String annotatedOwner = annotations.get(Labels.SESSION_OWNER);
    if (annotatedOwner != null || sessionId == null) {
      owner = annotatedOwner; // a claim of this replica may not be in the pod seen yet
    }
    Instant active = instant(annotations.get(Labels.LAST_ACTIVITY));
    if (active != null) {
      lastActivity = active;
    }
    endReason = annotations.get(Labels.END_REASON);
    terminating = pod.getMetadata().getDeletionTimestamp() != null;
    String newIp = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
    boolean changed = false;
    if (newIp != null && !newIp.equals(ip)) {
      changed = ip != null;
      SocketAddress[] next = new SocketAddress[definition.ports().size()];
      for (int i = 0; i < next.length; i++) {
        TargetPort p = definition.ports().get(i);
        next[i] = SocketAddress.inetSocketAddress(p.port(), newIp);
      }
      addresses = next;
      ip = newIp;
    }
    ready = newIp != null && !terminating && Readiness.isPodReady(pod);
    return changed;
  }

  /** Whether the pod has failed or finished: its sandbox is lost. */
  static boolean failed(Pod pod) {
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    return "Failed".equals(phase) || "Succeeded".equals(phase);
  }

  boolean bound() {
    return sessionId != null;
  }

  String ip() {
    return ip;
  }

  @Override
  public String id() {
    return uid;
  }

  @Override
  public String name() {
    return podName;
  }

  @Override
  public RuntimeDefinition definition() {
    return definition;
  }

  @Override
  public SocketAddress address(int portIndex) {
    SocketAddress[] a = addresses;
    return a == null ? null : a[portIndex];
  }

  @Override
  public boolean alive() {
    return !gone && !stopping && !terminating;
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public String owner() {
    return owner;
  }

  void bind(String session, Instant created, String owner) {
    this.owner = owner;
    this.sessionId = session;
    this.sessionCreated = created;
    this.lastActivity = created;
  }

  private static Instant instant(String s) {
    if (s == null || s.isEmpty()) {
      return null;
    }
    try {
      return Instant.parse(s);
    } catch (RuntimeException e) {
      return null;
    }
  }

  @Override
  public String toString() {
    return "KubernetesSandbox[" + namespace + "/" + podName + " " + ip + "]";
  }
}
