package io.agentcube.sandbox.kubernetes;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.Durations;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.DefinitionCodec;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxClaimConflict;
import io.agentcube.sandbox.SandboxListener;
import io.agentcube.sandbox.SandboxRecord;
import io.agentcube.sandbox.StopRetry;
import io.agentcube.session.EndReason;
import io.agentcube.session.ExpiryAuthority;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandboxes are pods (design.md §7, §8).
 *
 * <h2>State</h2>
 * The pod informer (pods labelled {@code app.kubernetes.io/managed-by=agentcube-proxy}) is this
 * replica's whole view: one {@link KubernetesSandbox} per pod, indexed by session id and by pool
 * (warm and Ready). Routing reads it ({@code podIP:port}); no API call is made per forwarded
 * request. Every API call runs on a worker thread with the client's request timeout.
 *
 * <h2>Claim protocol</h2>
 * A warm Ready pod is bound by one merge patch that sets {@code state=bound}, the session id and
 * its times, and carries the pod's {@code resourceVersion}: the API server refuses it (409) when
 * anyone changed the pod since this replica saw it, so two replicas never bind one pod; the loser
 * gets {@link SandboxClaimConflict} and tries the next candidate.
 *
 * <h2>Shared sessions</h2>
 * A bound pod is a session any replica serves: the first time the watch shows a bound pod its
 * listeners are told ({@link SandboxListener#found}); a request that beats the watch does one
 * labelled list ({@link #find}). Activity is an annotation written at most once per flush interval
 * per session ({@link #recordActivity}); the leader ({@link LeaderElection}) alone ends sessions for
 * idleness, reading that annotation ({@link #expiryAuthority}). An end annotates the pod with its
 * reason, then deletes it; other replicas end their copy with that reason
 * ({@link SandboxListener#endedElsewhere}); a pod deleted or failed without one is lost.
 *
 * <h2>Close is not stop</h2>
 * {@link #close} stops watching and releases the Lease; it deletes no pod.
 */
public final class KubernetesBackend implements SandboxBackend {

  private static final Logger log = LoggerFactory.getLogger(KubernetesBackend.class);

  private final Vertx vertx;
  private final KubernetesClient client;
  private final KubernetesOptions options;
  private final RuntimeObjects runtimes;
  private final LeaderElection leader;
  private final ApiCalls api;
  private final NetClient probe;
  private final List<SharedIndexInformer<Pod>> informers = new ArrayList<>();
  private final List<SandboxListener> listeners = new CopyOnWriteArrayList<>();
  /** Every managed pod this replica sees, by uid; removed when the pod is deleted. */
  private final Map<String, KubernetesSandbox> byUid = new ConcurrentHashMap<>();
  private final Map<String, KubernetesSandbox> bySession = new ConcurrentHashMap<>();
  /** Warm, Ready, not terminating pods per pool key: the claim candidates. */
  private final Map<String, Set<KubernetesSandbox>> warmReady = new ConcurrentHashMap<>();
  /** Pods this replica created, by name, until the watch shows them Ready (or they fail). */
  private final Map<String, Promise<KubernetesSandbox>> starting = new ConcurrentHashMap<>();
  /** Pods this replica created bound to a session (cold starts): not "found", they are its own. */
  private final Set<String> createdBound = ConcurrentHashMap.newKeySet();
  /** Told of every pod event after this replica's own bookkeeping (the pools' reconciler). */
  private volatile Runnable onPodEvent = () -> { };
  private volatile boolean closed;

  private KubernetesBackend(Vertx vertx, KubernetesClient client, KubernetesOptions options,
      RuntimeObjects runtimes, ApiCalls api) {
    this.api = api;
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.runtimes = runtimes;
    this.leader = new LeaderElection(client, options);
    this.probe = vertx.createNetClient(new NetClientOptions().setConnectTimeout(2000));
  }

  /**
   * Starts the pod informers and the leader election; completes when the informers have synced,
   * so that {@link #sandboxes()} lists every bound pod.
   */
  static Future<KubernetesBackend> create(Vertx vertx, KubernetesClient client,
      KubernetesOptions options, RuntimeObjects runtimes, ApiCalls api) {
    KubernetesBackend b = new KubernetesBackend(vertx, client, options, runtimes, api);
    return b.vertx.executeBlocking(() -> {
      ResourceEventHandler<Pod> handler = new ResourceEventHandler<>() {
        @Override
        public void onAdd(Pod pod) {
          b.observed(pod);
        }

        @Override
        public void onUpdate(Pod oldPod, Pod pod) {
          b.observed(pod);
        }

        @Override
        public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
          b.deleted(pod);
        }
      };
      List<CompletableFuture<?>> synced = new ArrayList<>();
      for (String ns : options.namespaces().isEmpty() ? java.util.Collections.<String>singletonList(null)
          : options.namespaces()) {
        var pods = ns == null ? client.pods().inAnyNamespace() : client.pods().inNamespace(ns);
        SharedIndexInformer<Pod> informer = pods.withLabel(Labels.MANAGED_BY, Labels.MANAGER)
            .runnableInformer(0);
        informer.addEventHandler(handler);
        b.informers.add(informer);
        synced.add(informer.start().toCompletableFuture());
      }
      CompletableFuture.allOf(synced.toArray(CompletableFuture[]::new))
          .get(options.apiTimeout().toMillis() * 3, java.util.concurrent.TimeUnit.MILLISECONDS);
      b.leader.start();
      return b;
    }, false);
  }

  @Override
  public String name() {
    return "kubernetes";
  }

  @Override
  public List<String> problems(RuntimeDefinition d) {
    if (d.template().pod() == null || d.template().pod().getSpec() == null
        || d.template().pod().getSpec().getContainers() == null
        || d.template().pod().getSpec().getContainers().isEmpty()) {
      return List.of("spec: no pod can be built (a pod template with a container is required)");
    }
    String image = d.template().pod().getSpec().getContainers().get(0).getImage();
    if (image == null || image.isEmpty()) {
      return List.of(d.ref().kind() == io.agentcube.runtime.RuntimeKind.CODE_INTERPRETER
          ? "spec.template.image: required by the kubernetes backend"
          : "spec.podTemplate.spec.containers[0].image: required by the kubernetes backend");
    }
    return List.of();
  }

  // ---- watch

  private void observed(Pod pod) {
    if (closed || !options.serves(pod.getMetadata().getNamespace())) {
      return;
    }
    KubernetesSandbox known = byUid.get(pod.getMetadata().getUid());
    if (known == null) {
      RuntimeDefinition d = definitionOf(pod);
      if (d == null) {
        return;
      }
      known = byUid.computeIfAbsent(pod.getMetadata().getUid(), uid -> new KubernetesSandbox(pod, d));
    }
    KubernetesSandbox s = known;
    boolean moved = s.observe(pod);
    index(s);
    if (moved) {
      log.info("sandbox address changed pod={}/{} ip={}", s.namespace, s.podName, s.ip());
      listeners.forEach(l -> l.addressChanged(s));
    }
    if (KubernetesSandbox.failed(pod)) {
      ended(s);
      Promise<KubernetesSandbox> waiter = starting.remove(s.podName);
      if (waiter != null) {
        String why = pod.getStatus().getReason() != null ? pod.getStatus().getReason()
            : pod.getStatus().getMessage() != null ? pod.getStatus().getMessage() : pod.getStatus().getPhase();
        waiter.tryFail(new AgentCubeException(ErrorCode.SANDBOX_UNREACHABLE, "pod " + s.namespace + "/"
            + s.podName + " failed before it was ready (" + why + ")"));
      } else if (s.beginStop()) {
        // restartPolicy Never: a failed pod never serves again, and nothing else would delete it
        // (stop() skips a gone sandbox; a warm one is only dropped from the pool), so it would
        // stay in the API server for good. Deleted here, once per replica that sees it fail (a
        // second delete is a 404, which is success). A failed start is deleted by create().
        // Pinned by LifecycleContract.sandboxKilledFromOutside_* on LifecycleKubeIT.
        deleteUntilDone(s.namespace, s.podName).onComplete(s.stopped);
      }
    } else if (s.ready) {
      Promise<KubernetesSandbox> waiter = starting.remove(s.podName);
      if (waiter != null) {
        connectCheck(s, waiter, 0);
      }
    }
    if (s.bound() && !s.announced && createdBound.remove(s.podName)) {
      s.announced = true;
    }
    if (s.bound() && !s.announced && s.alive() && s.sessionCreated != null) {
      s.announced = true;
      SandboxRecord r = new SandboxRecord(s, s.sessionId(), s.sessionCreated, s.lastActivity);
      listeners.forEach(l -> l.found(r));
    }
    onPodEvent.run();
  }

  private void deleted(Pod pod) {
    createdBound.remove(pod.getMetadata().getName());
    KubernetesSandbox s = byUid.remove(pod.getMetadata().getUid());
    if (s == null) {
      return;
    }
    s.observe(pod);
    ended(s);
    Promise<KubernetesSandbox> waiter = starting.remove(s.podName);
    if (waiter != null) {
      waiter.tryFail("pod " + s.namespace + "/" + s.podName + " was deleted before it was ready");
    }
    onPodEvent.run();
  }

  /** The pod is gone or failed: its session ends, with the reason its ender wrote if any. */
  private void ended(KubernetesSandbox s) {
    boolean wasAlive = !s.gone;
    s.gone = true;
    unindex(s);
    if (!wasAlive || s.stopping) {
      return;
    }
    EndReason reason = reasonOf(s.endReason);
    if (reason != null && s.bound()) {
      listeners.forEach(l -> l.endedElsewhere(s, reason));
    } else {
      log.warn("sandbox pod lost pod={}/{} session={}", s.namespace, s.podName, s.bound());
      listeners.forEach(l -> l.lost(s));
    }
  }

  private void index(KubernetesSandbox s) {
    String key = Labels.poolKey(s.definition());
    if (s.bound()) {
      bySession.put(s.sessionId(), s);
    }
    if (!s.bound() && s.ready && s.alive()) {
      warmReady.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(s);
    } else {
      Set<KubernetesSandbox> set = warmReady.get(key);
      if (set != null) {
        set.remove(s);
      }
    }
  }

  private void unindex(KubernetesSandbox s) {
    if (s.sessionId() != null) {
      bySession.remove(s.sessionId(), s);
    }
    Set<KubernetesSandbox> set = warmReady.get(Labels.poolKey(s.definition()));
    if (set != null) {
      set.remove(s);
    }
  }

  private static RuntimeDefinition definitionOf(Pod pod) {
    Map<String, String> a = pod.getMetadata().getAnnotations();
    String json = a == null ? null : a.get(Labels.DEFINITION);
    if (json == null) {
      return null;
    }
    try {
      return DefinitionCodec.decode(new JsonObject(json));
    } catch (RuntimeException e) {
      log.warn("pod with an unreadable definition ignored pod={}/{} cause={}",
          pod.getMetadata().getNamespace(), pod.getMetadata().getName(), e.toString());
      return null;
    }
  }

  private static EndReason reasonOf(String tag) {
    if (tag == null) {
      return null;
    }
    for (EndReason r : EndReason.values()) {
      if (r.tag().equals(tag)) {
        return r;
      }
    }
    return null;
  }

  // ---- the pools' view (package-private: KubernetesPools)

  /** Warm Ready pods of {@code d}'s pool now; a snapshot. */
  List<KubernetesSandbox> warmReady(RuntimeDefinition d) {
    Set<KubernetesSandbox> set = warmReady.get(Labels.poolKey(d));
    return set == null ? List.of() : new ArrayList<>(set);
  }

  /** Every warm (unbound, not terminating) pod this replica sees; a snapshot. */
  List<KubernetesSandbox> warmPods() {
    List<KubernetesSandbox> out = new ArrayList<>();
    for (KubernetesSandbox s : byUid.values()) {
      if (!s.bound() && s.alive()) {
        out.add(s);
      }
    }
    return out;
  }

  /** The pod {@code namespace/name} as this replica sees it, or {@code null}. */
  KubernetesSandbox byName(String namespace, String name) {
    for (KubernetesSandbox s : byUid.values()) {
      if (s.podName.equals(name) && s.namespace.equals(namespace)) {
        return s;
      }
    }
    return null;
  }

  boolean isLeader() {
    return leader.isLeader();
  }

  void onLeadership(Runnable change) {
    leader.onChange(change);
  }

  void onPodEvent(Runnable r) {
    onPodEvent = r;
  }

  // ---- lifecycle of a sandbox

  @Override
  public Future<Sandbox> start(RuntimeDefinition d) {
    return create(d, null, null, (String) null).map(s -> s);
  }

  /**
   * Creates a pod of {@code d} (warm, or bound to {@code sessionId} from the start) and completes
   * when it is Ready and its first port accepts a connection; fails (and deletes the pod) when it
   * is not within the start timeout.
   */
  Future<KubernetesSandbox> create(RuntimeDefinition d, String sessionId, Instant createdAt,
      String sessionOwner) {
    return create(d, sessionId, createdAt, sessionOwner, name -> { });
  }

  /** As above; {@code named} learns the pod's name before it is created. */
  Future<KubernetesSandbox> create(RuntimeDefinition d, String sessionId, Instant createdAt,
      Consumer<String> named) {
    return create(d, sessionId, createdAt, null, named);
  }

  private Future<KubernetesSandbox> create(RuntimeDefinition d, String sessionId, Instant createdAt,
      String sessionOwner, Consumer<String> named) {
    Pod pod;
    try {
      pod = PodFactory.build(d, runtimes.owner(d.ref()), options.extraEnv().apply(d), sessionId,
          createdAt, sessionOwner);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new AgentCubeException(ErrorCode.SANDBOX_UNREACHABLE, e.getMessage()));
    }
    String name = pod.getMetadata().getName();
    String namespace = pod.getMetadata().getNamespace();
    named.accept(name);
    Promise<KubernetesSandbox> ready = Promise.promise();
    starting.put(name, ready);
    if (sessionId != null) {
      createdBound.add(name);
    }
    long timeoutMs = d.template().pod() == null ? 60_000 : startTimeout().toMillis();
    long timer = vertx.setTimer(timeoutMs, id -> {
      if (starting.remove(name, ready)) {
        ready.tryFail(new AgentCubeException(ErrorCode.COLD_START_TIMEOUT, "pod " + namespace + "/"
            + name + " was not ready within " + Durations.format(Duration.ofMillis(timeoutMs))));
      }
    });
    blocking("pod_create", () -> client.pods().inNamespace(namespace).resource(pod).create())
        .onFailure(e -> {
          starting.remove(name, ready);
          ready.tryFail(new AgentCubeException(ErrorCode.SANDBOX_UNREACHABLE,
              "cannot create a pod for " + d.ref() + ": " + apiMessage(e), e));
        });
    return ready.future().andThen(ar -> vertx.cancelTimer(timer)).recover(err -> {
      // Whatever failed, nothing is left running: the pod (if it was created) goes, and the
      // runtime gets an Event saying why (kubectl describe shows it).
      event(d, err instanceof AgentCubeException a && a.code() == ErrorCode.COLD_START_TIMEOUT
          ? "SandboxStartTimeout" : "SandboxStartFailed", err.getMessage());
      createdBound.remove(name);
      KubernetesSandbox seen = byName(namespace, name);
      Future<Void> deleted = deleteUntilDone(namespace, name);
      if (seen != null && seen.beginStop()) {
        unindex(seen);
        deleted.onComplete(seen.stopped);
      }
      return Future.failedFuture(err);
    });
  }

  private volatile Duration startTimeout = Duration.ofSeconds(60);

  /** How long a new pod may take to become ready (the pools' start timeout). */
  void startTimeout(Duration timeout) {
    this.startTimeout = timeout;
  }

  private Duration startTimeout() {
    return startTimeout;
  }

  /** Ready by its condition; ready for us once its first port accepts a connection too. */
  private void connectCheck(KubernetesSandbox s, Promise<KubernetesSandbox> ready, int attempt) {
    probe.connect(s.address(0)).onComplete(ar -> {
      if (ar.succeeded()) {
        ar.result().close();
        ready.tryComplete(s);
      } else if (attempt < 50 && !s.gone) {
        vertx.setTimer(Math.min(200, 5L << Math.min(attempt, 6)), id -> connectCheck(s, ready, attempt + 1));
      } else {
        ready.tryFail("pod " + s.namespace + "/" + s.podName + " is Ready but " + s.address(0)
            + " refuses connections");
      }
    });
  }

  @Override
  public Future<Sandbox> claim(Sandbox sandbox, String sessionId, Instant createdAt) {
    return claim(sandbox, sessionId, createdAt, null);
  }

  @Override
  public Future<Sandbox> claim(Sandbox sandbox, String sessionId, Instant createdAt, String owner) {
    KubernetesSandbox s = (KubernetesSandbox) sandbox;
    if (sessionId.equals(s.sessionId())) {
      return Future.succeededFuture(s); // created bound to this session (a cold start)
    }
    if (s.bound() || !s.alive()) {
      return Future.failedFuture(new SandboxClaimConflict("pod " + s.podName + " is not warm"));
    }
    String rv = s.resourceVersion;
    JsonObject annotations = new JsonObject().put(Labels.SESSION_CREATED, createdAt.toString())
        .put(Labels.LAST_ACTIVITY, createdAt.toString());
    if (owner != null) {
      annotations.put(Labels.SESSION_OWNER, owner);
    }
    JsonObject patch = new JsonObject().put("metadata", new JsonObject()
        .put("resourceVersion", rv)
        .put("labels", new JsonObject().put(Labels.STATE, Labels.BOUND).put(Labels.SESSION_ID, sessionId))
        .put("annotations", annotations));
    unindex(s); // not a candidate for this replica's other claims meanwhile
    return blocking("pod_claim", () -> patch(s, patch))
        .transform(ar -> {
          if (ar.succeeded()) {
            s.bind(sessionId, createdAt, owner);
            s.announced = true; // this replica binds it: no "found" for its own claim
            s.resourceVersion = ar.result().getMetadata().getResourceVersion();
            bySession.put(sessionId, s);
            return Future.succeededFuture(s);
          }
          if (code(ar.cause()) == 409 || code(ar.cause()) == 404) {
            return Future.failedFuture(new SandboxClaimConflict("pod " + s.podName + " was claimed elsewhere"));
          }
          index(s);
          return Future.failedFuture(new AgentCubeException(ErrorCode.SANDBOX_UNREACHABLE,
              "cannot claim pod " + s.podName + ": " + apiMessage(ar.cause()), ar.cause()));
        });
  }

  @Override
  public Future<Void> stop(Sandbox sandbox) {
    return stop(sandbox, null);
  }

  @Override
  public Future<Void> stop(Sandbox sandbox, EndReason reason) {
    KubernetesSandbox s = (KubernetesSandbox) sandbox;
    if (s.gone && !s.stopping) {
      return Future.succeededFuture();
    }
    if (!s.beginStop()) {
      return s.stopped.future(); // the first stop's end, not before
    }
    unindex(s);
    Future<?> annotate = Future.succeededFuture();
    if (reason != null && reason != EndReason.SANDBOX_LOST && s.bound()) {
      // The reason first, so that the other replicas end their copy of the session with it.
      JsonObject patch = new JsonObject().put("metadata", new JsonObject()
          .put("annotations", new JsonObject().put(Labels.END_REASON, reason.tag())));
      annotate = blocking("pod_patch", () -> patch(s, patch))
          .recover(e -> Future.succeededFuture());
    }
    // A failed delete (API server unreachable, timeout) is tried again until it goes through:
    // a pod whose session ended must not run on unnoticed.
    annotate.onComplete(x -> deleteUntilDone(s.namespace, s.podName).onComplete(s.stopped));
    return s.stopped.future();
  }

  /** Deletes the pod, trying again (1 s doubling to 30 s) until the API server took it. */
  private Future<Void> deleteUntilDone(String namespace, String name) {
    return StopRetry.untilDone(vertx, "pod " + namespace + "/" + name, () -> delete(namespace, name),
        1_000, 30_000);
  }

  /** The last Event written per runtime (nanoTime), so a failing runtime makes one per 10 s. */
  private final Map<io.agentcube.runtime.RuntimeRef, Long> lastEvent = new ConcurrentHashMap<>();

  /** A Warning Event on the runtime object; at most one per runtime per 10 s; never fails. */
  private void event(RuntimeDefinition d, String reason, String message) {
    long now = System.nanoTime();
    Long before = lastEvent.get(d.ref());
    var owner = runtimes.owner(d.ref());
    if (owner == null || (before != null && now - before < 10_000_000_000L)) {
      return;
    }
    lastEvent.put(d.ref(), now);
    String at = Instant.now().toString();
    var ev = new io.fabric8.kubernetes.api.model.EventBuilder()
        .withNewMetadata().withGenerateName(d.ref().name() + ".").withNamespace(d.ref().namespace()).endMetadata()
        .withNewInvolvedObject().withApiVersion(owner.getApiVersion()).withKind(owner.getKind())
          .withName(owner.getName()).withNamespace(d.ref().namespace()).withUid(owner.getUid())
        .endInvolvedObject()
        .withType("Warning").withReason(reason)
        .withMessage(message == null ? reason : message.length() > 1000 ? message.substring(0, 1000) : message)
        .withNewSource().withComponent(Labels.MANAGER).endSource()
        .withFirstTimestamp(at).withLastTimestamp(at).withCount(1)
        .build();
    blocking("event_create", () -> client.v1().events().inNamespace(d.ref().namespace()).resource(ev).create())
        .onFailure(e -> log.debug("event not written runtime={} cause={}", d.label(), e.getMessage()));
  }

  /** Deletes a pod at once (no grace: a sandbox has nothing to save); "already gone" is success. */
  Future<Void> delete(String namespace, String name) {
    return blocking("pod_delete", () -> {
      client.pods().inNamespace(namespace).withName(name).withGracePeriod(0).delete();
      return null;
    });
  }

  @Override
  public Future<List<SandboxRecord>> sandboxes() {
    List<SandboxRecord> out = new ArrayList<>();
    for (KubernetesSandbox s : byUid.values()) {
      if (s.bound() && s.alive() && s.sessionCreated != null) {
        s.announced = true;
        out.add(new SandboxRecord(s, s.sessionId(), s.sessionCreated, s.lastActivity));
      }
    }
    return Future.succeededFuture(out);
  }

  @Override
  public Future<SandboxRecord> find(String sessionId) {
    KubernetesSandbox known = bySession.get(sessionId);
    if (known != null && known.alive()) {
      return Future.succeededFuture(new SandboxRecord(known, sessionId, known.sessionCreated, known.lastActivity));
    }
    if (!Labels.isLabelValue(sessionId)) {
      return Future.succeededFuture();
    }
    return blocking("pod_list", () -> (options.namespaces().isEmpty()
        ? client.pods().inAnyNamespace().withLabel(Labels.MANAGED_BY, Labels.MANAGER)
            .withLabel(Labels.SESSION_ID, sessionId).list().getItems()
        : findIn(sessionId)))
        .map(pods -> {
          for (Pod pod : pods) {
            observed(pod);
            KubernetesSandbox s = bySession.get(sessionId);
            if (s != null && s.alive() && s.sessionCreated != null) {
              s.announced = true;
              return new SandboxRecord(s, sessionId, s.sessionCreated, s.lastActivity);
            }
          }
          return null;
        });
  }

  private List<Pod> findIn(String sessionId) {
    List<Pod> pods = new ArrayList<>();
    for (String ns : options.namespaces()) {
      pods.addAll(client.pods().inNamespace(ns).withLabel(Labels.MANAGED_BY, Labels.MANAGER)
          .withLabel(Labels.SESSION_ID, sessionId).list().getItems());
    }
    return pods;
  }

  @Override
  public Future<Void> recordActivity(Sandbox sandbox, Instant lastActivity) {
    KubernetesSandbox s = (KubernetesSandbox) sandbox;
    if (!s.alive()) {
      return Future.succeededFuture();
    }
    JsonObject patch = new JsonObject().put("metadata", new JsonObject()
        .put("annotations", new JsonObject().put(Labels.LAST_ACTIVITY, lastActivity.toString())));
    return blocking("pod_patch", () -> patch(s, patch)).mapEmpty();
  }

  @Override
  public void addListener(SandboxListener listener) {
    listeners.add(listener);
  }

  @Override
  public ExpiryAuthority expiryAuthority() {
    return new ExpiryAuthority() {
      @Override
      public boolean endsIdleSessions() {
        return leader.isLeader();
      }

      @Override
      public Instant activityElsewhere(String id) {
        KubernetesSandbox s = bySession.get(id);
        return s == null ? null : s.lastActivity;
      }

      @Override
      public void onChange(Runnable onChange) {
        leader.onChange(onChange);
      }

      @Override
      public String toString() {
        return "kubernetes-leader";
      }
    };
  }

  @Override
  public boolean keepsSandboxesOnClose() {
    return true;
  }

  @Override
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    // Releasing the Lease is a blocking API call (and the client's HTTP runs on this Vert.x):
    // never on an event loop, or it waits on itself.
    return vertx.executeBlocking(() -> {
      leader.close();
      informers.forEach(SharedIndexInformer::close);
      return null;
    }, false).eventually(() -> probe.close()).mapEmpty();
  }

  // ---- helpers

  /**
   * One JSON merge patch of the pod (blocking). Through {@code resource(stub)}: fabric8's
   * {@code withName(n).patch(..)} reads the pod first, one more API call per claim and flush.
   */
  private Pod patch(KubernetesSandbox s, JsonObject patch) {
    Pod stub = new PodBuilder().withNewMetadata().withNamespace(s.namespace).withName(s.podName)
        .endMetadata().build();
    return client.pods().inNamespace(s.namespace).resource(stub)
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch.encode());
  }

  /** Runs a blocking fabric8 call on a worker thread, timed as {@code operation} ({@link ApiCalls}). */
  <T> Future<T> blocking(String operation, Callable<T> call) {
    return vertx.executeBlocking(() -> api.call(operation, call), false);
  }

  @Override
  public void observeCalls(io.agentcube.sandbox.BackendCalls calls) {
    api.observe(calls);
  }

  static int code(Throwable e) {
    return e instanceof KubernetesClientException k ? k.getCode() : -1;
  }

  /** The API server's message without the client's request dump. */
  static String apiMessage(Throwable e) {
    if (e instanceof KubernetesClientException k && k.getStatus() != null && k.getStatus().getMessage() != null) {
      return k.getStatus().getMessage();
    }
    return String.valueOf(e.getMessage());
  }

  /** For the pools: run on pod events and leadership changes. */
  void listen(Consumer<KubernetesBackend> reconcile) {
    onPodEvent(() -> reconcile.accept(this));
    leader.onChange(() -> reconcile.accept(this));
  }
}
