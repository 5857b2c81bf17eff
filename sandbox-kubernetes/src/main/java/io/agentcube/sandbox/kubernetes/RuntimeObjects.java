package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.EndpointDefinition;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeParser;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.RuntimeSource;
import io.agentcube.runtime.RuntimeStatus;
import io.agentcube.runtime.RuntimeValidationException;
import io.agentcube.runtime.api.StatusCondition;
import io.agentcube.runtime.api.WarmPoolStatus;
import io.agentcube.sandbox.DefinitionCodec;
import io.agentcube.runtime.api.AgentEndpoint;
import io.agentcube.runtime.api.AgentRuntime;
import io.agentcube.runtime.api.CodeInterpreter;
import io.agentcube.runtime.api.CodeInterpreterEndpoint;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.apps.ControllerRevisionBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.Map;
import java.util.function.BooleanSupplier;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime API's objects from the API server: informers on the four kinds, read into
 * definitions by the same parser and validation as files ({@link RuntimeParser}). It is the
 * Kubernetes {@link RuntimeSource}, and it knows each runtime's uid for the owner references of
 * its pods.
 *
 * <h2>Versions</h2>
 * Each template of a runtime is a {@code ControllerRevision} owned by the runtime, named
 * {@code <name>-<ar|ci>-<template hash>} and numbered 1, 2, … in the order the leader first saw
 * the templates, so every replica names a version alike: the runtime's version annotation when it
 * has one, else {@code v<revision>}. The leader creates the revision of a template it sees
 * without one; other replicas serve that template once the revision exists (within a reload tick
 * of the leader's). Old revisions are kept (not pruned yet).
 *
 * <h2>Status</h2>
 * The leader writes each runtime's status subresource ({@link #publish}) only when it differs
 * from what the object shows; a condition keeps its {@code lastTransitionTime} until its status
 * changes.
 *
 * <p>{@link #load} reads the informers' caches and makes API calls only as the leader creating
 * a revision; it reports {@code changed} when any event arrived since the previous load.
 * Thread-safe.
 */
final class RuntimeObjects implements RuntimeSource, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RuntimeObjects.class);

  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private final List<SharedIndexInformer<AgentRuntime>> agents = new ArrayList<>();
  private final List<SharedIndexInformer<CodeInterpreter>> interpreters = new ArrayList<>();
  private final List<SharedIndexInformer<AgentEndpoint>> agentEndpoints = new ArrayList<>();
  private final List<SharedIndexInformer<CodeInterpreterEndpoint>> interpreterEndpoints = new ArrayList<>();
  private final List<SharedIndexInformer<ControllerRevision>> revisions = new ArrayList<>();
  private final AtomicBoolean dirty = new AtomicBoolean(true);
  private final KubernetesClient client;
  private final ApiCalls api;
  /** Whether this replica leads (set by the platform once the election runs). */
  private volatile BooleanSupplier leader = () -> false;

  RuntimeObjects(KubernetesClient client, List<String> namespaces, ApiCalls api) {
    this.client = client;
    this.api = api;
    ResourceEventHandler<HasMetadata> marker = new ResourceEventHandler<>() {
      @Override
      public void onAdd(HasMetadata obj) {
        dirty.set(true);
      }

      @Override
      public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
        dirty.set(true);
      }

      @Override
      public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
        dirty.set(true);
      }
    };
    for (String ns : namespaces.isEmpty() ? java.util.Collections.<String>singletonList(null) : namespaces) {
      agents.add(inform(client.resources(AgentRuntime.class), ns, marker));
      interpreters.add(inform(client.resources(CodeInterpreter.class), ns, marker));
      agentEndpoints.add(inform(client.resources(AgentEndpoint.class), ns, marker));
      interpreterEndpoints.add(inform(client.resources(CodeInterpreterEndpoint.class), ns, marker));
      var revs = ns == null ? client.apps().controllerRevisions().inAnyNamespace()
          : client.apps().controllerRevisions().inNamespace(ns);
      SharedIndexInformer<ControllerRevision> r = revs.withLabel(Labels.MANAGED_BY, Labels.MANAGER)
          .runnableInformer(0);
      r.addEventHandler((ResourceEventHandler<ControllerRevision>) (ResourceEventHandler<?>) marker);
      informers.add(r);
      revisions.add(r);
    }
  }

  @SuppressWarnings("unchecked")
  private <T extends HasMetadata> SharedIndexInformer<T> inform(
      MixedOperation<T, ?, ? extends Resource<T>> op, String namespace,
      ResourceEventHandler<HasMetadata> handler) {
    SharedIndexInformer<T> informer = namespace == null
        ? op.inAnyNamespace().runnableInformer(0)
        : op.inNamespace(namespace).runnableInformer(0);
    informer.addEventHandler((ResourceEventHandler<T>) (ResourceEventHandler<?>) handler);
    informers.add(informer);
    return informer;
  }

  /** Starts the informers; completes when every one has listed (synced). */
  CompletableFuture<Void> start() {
    return CompletableFuture.allOf(informers.stream().map(i -> i.start().toCompletableFuture())
        .toArray(CompletableFuture[]::new));
  }

  @Override
  public Loaded load() {
    boolean changed = dirty.getAndSet(false);
    List<String> errors = new ArrayList<>();
    List<RuntimeDefinition> runtimes = new ArrayList<>();
    List<EndpointDefinition> endpoints = new ArrayList<>();
    List<RuntimeDefinition> declared = new ArrayList<>();
    for (AgentRuntime r : items(agents)) {
      read(errors, r, () -> declared.add(RuntimeParser.toDefinition(r, source(r))));
    }
    for (CodeInterpreter ci : items(interpreters)) {
      read(errors, ci, () -> declared.add(RuntimeParser.toDefinition(ci, source(ci))));
    }
    for (RuntimeDefinition d : declared) {
      RuntimeDefinition named = named(d);
      if (named != null) {
        runtimes.add(named);
      } else {
        dirty.set(true); // look again at the next load: the leader records the version meanwhile
      }
    }
    for (AgentEndpoint e : items(agentEndpoints)) {
      read(errors, e, () -> endpoints.add(RuntimeParser.toEndpoint(e)));
    }
    for (CodeInterpreterEndpoint e : items(interpreterEndpoints)) {
      read(errors, e, () -> endpoints.add(RuntimeParser.toEndpoint(e)));
    }
    return new Loaded(runtimes, endpoints, errors, changed);
  }

  private static void read(List<String> errors, HasMetadata o, Runnable convert) {
    try {
      convert.run();
    } catch (RuntimeValidationException e) {
      // The API server validated the schema; what is left are our own rules (durations, ports).
      errors.add(source(o) + ": " + e.getMessage());
    } catch (RuntimeException e) {
      log.warn("runtime object unreadable object={} cause={}", source(o), e.toString());
      errors.add(source(o) + ": cannot be read: " + e.getMessage());
    }
  }

  private static <T> List<T> items(List<SharedIndexInformer<T>> informers) {
    List<T> all = new ArrayList<>();
    for (SharedIndexInformer<T> i : informers) {
      all.addAll(i.getStore().list());
    }
    return all;
  }

  private static String source(HasMetadata o) {
    return o.getKind() + " " + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
  }

  void leader(BooleanSupplier isLeader) {
    this.leader = isLeader;
  }

  /**
   * {@code d} named by its revision (or its version annotation); {@code null} when its template
   * has no revision yet and this replica is not the one to create it.
   */
  private RuntimeDefinition named(RuntimeDefinition d) {
    ControllerRevision rev = revision(d.ref(), d.templateHash());
    if (rev == null) {
      HasMetadata owner = object(d.ref());
      if (!leader.getAsBoolean() || owner == null) {
        return null;
      }
      rev = createRevision(d, owner);
      if (rev == null) {
        return null;
      }
    }
    return d.version() != null ? d : d.withVersion("v" + rev.getRevision());
  }

  /** The leader records a new template as the next revision of its runtime. Blocking. */
  private ControllerRevision createRevision(RuntimeDefinition d, HasMetadata owner) {
    long next = 1;
    for (ControllerRevision r : revisionsOf(d.ref())) {
      next = Math.max(next, r.getRevision() + 1);
    }
    ControllerRevision rev = new ControllerRevisionBuilder()
        .withNewMetadata()
          .withName(revisionName(d.ref(), d.templateHash()))
          .withNamespace(d.ref().namespace())
          .addToLabels(Labels.MANAGED_BY, Labels.MANAGER)
          .addToLabels(Labels.KIND, d.ref().kind().kind())
          .addToLabels(Labels.RUNTIME, d.ref().name())
          .addToLabels(Labels.TEMPLATE_HASH, d.templateHash())
          .withOwnerReferences(ownerReference(owner))
        .endMetadata()
        .withRevision(next)
        .withData(Map.of("definition", client.getKubernetesSerialization()
            .unmarshal(DefinitionCodec.encode(d).encode(), Map.class)))
        .build();
    try {
      ControllerRevision created = api.unchecked("revision_create", () -> client.apps()
          .controllerRevisions().inNamespace(d.ref().namespace()).resource(rev).create());
      log.info("runtime version recorded runtime={} version=v{} hash={}", d.label(), next, d.templateHash());
      return created;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return null; // another leader's, meanwhile: the informer brings it
      }
      log.warn("cannot record runtime version runtime={} cause={}", d.label(), e.getMessage());
      return null;
    }
  }

  private static String revisionName(RuntimeRef ref, String hash) {
    return ref.name() + "-" + (ref.kind() == io.agentcube.runtime.RuntimeKind.AGENT_RUNTIME ? "ar" : "ci")
        + "-" + hash.toLowerCase(java.util.Locale.ROOT);
  }

  private ControllerRevision revision(RuntimeRef ref, String hash) {
    String key = ref.namespace() + "/" + revisionName(ref, hash);
    for (SharedIndexInformer<ControllerRevision> i : revisions) {
      ControllerRevision r = i.getStore().getByKey(key);
      if (r != null) {
        return r;
      }
    }
    return null;
  }

  private List<ControllerRevision> revisionsOf(RuntimeRef ref) {
    List<ControllerRevision> out = new ArrayList<>();
    for (ControllerRevision r : items(revisions)) {
      Map<String, String> l = r.getMetadata().getLabels();
      if (ref.namespace().equals(r.getMetadata().getNamespace()) && l != null
          && ref.name().equals(l.get(Labels.RUNTIME)) && ref.kind().kind().equals(l.get(Labels.KIND))) {
        out.add(r);
      }
    }
    return out;
  }

  /** The runtime object of {@code ref} from the cache, or {@code null}. */
  private HasMetadata object(RuntimeRef ref) {
    String key = ref.namespace() + "/" + ref.name();
    List<? extends SharedIndexInformer<? extends HasMetadata>> from = switch (ref.kind()) {
      case AGENT_RUNTIME -> agents;
      case CODE_INTERPRETER -> interpreters;
    };
    for (SharedIndexInformer<? extends HasMetadata> i : from) {
      HasMetadata o = i.getStore().getByKey(key);
      if (o != null) {
        return o;
      }
    }
    return null;
  }

  private static OwnerReference ownerReference(HasMetadata o) {
    return new OwnerReferenceBuilder().withApiVersion(o.getApiVersion()).withKind(o.getKind())
        .withName(o.getMetadata().getName()).withUid(o.getMetadata().getUid())
        .withController(true).withBlockOwnerDeletion(false).build();
  }

  /** The owner reference for pods of {@code ref}, or {@code null} when the object is not cached. */
  OwnerReference owner(RuntimeRef ref) {
    HasMetadata o = object(ref);
    return o == null ? null : ownerReference(o);
  }

  @Override
  public void publish(Map<RuntimeRef, RuntimeStatus> statuses) {
    if (!leader.getAsBoolean()) {
      return;
    }
    for (var e : statuses.entrySet()) {
      HasMetadata o = object(e.getKey());
      if (o == null) {
        continue;
      }
      io.agentcube.runtime.api.RuntimeStatus current = o instanceof AgentRuntime a ? a.getStatus()
          : ((CodeInterpreter) o).getStatus();
      io.agentcube.runtime.api.RuntimeStatus next = toApi(e.getKey(), e.getValue(), current,
          o.getMetadata().getGeneration());
      if (next.equals(current)) {
        continue; // no no-op writes
      }
      try {
        var op = o instanceof AgentRuntime ? client.resources(AgentRuntime.class)
            : client.resources(CodeInterpreter.class);
        api.unchecked("status_patch", () -> op.inNamespace(o.getMetadata().getNamespace())
            .withName(o.getMetadata().getName()).subresource("status")
            .patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\":" + client.getKubernetesSerialization().asJson(next) + "}"));
      } catch (KubernetesClientException ex) {
        log.warn("runtime status not written runtime={} cause={}", e.getKey(), ex.getMessage());
      }
    }
  }

  private io.agentcube.runtime.api.RuntimeStatus toApi(RuntimeRef ref, RuntimeStatus s,
      io.agentcube.runtime.api.RuntimeStatus current, Long generation) {
    io.agentcube.runtime.api.RuntimeStatus out = new io.agentcube.runtime.api.RuntimeStatus();
    RuntimeStatus.Condition c = s.readyCondition();
    StatusCondition condition = new StatusCondition();
    condition.setType(c.type());
    condition.setStatus(c.status());
    condition.setReason(c.reason());
    condition.setMessage(c.message());
    condition.setObservedGeneration(generation);
    StatusCondition before = current == null || current.getConditions() == null ? null
        : current.getConditions().stream().filter(x -> c.type().equals(x.getType())).findFirst().orElse(null);
    condition.setLastTransitionTime(before != null && c.status().equals(before.getStatus())
        && before.getLastTransitionTime() != null ? before.getLastTransitionTime()
        : java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    out.setConditions(List.of(condition));
    out.setReady(s.ready());
    out.setDefaultVersion(s.defaultVersion());
    Map<String, String> versions = new java.util.TreeMap<>();
    for (ControllerRevision r : revisionsOf(ref)) {
      versions.put("v" + r.getRevision(), r.getMetadata().getLabels().get(Labels.TEMPLATE_HASH));
    }
    versions.putAll(s.versions());
    out.setVersions(versions);
    WarmPoolStatus warm = new WarmPoolStatus();
    warm.setDesired(s.warmDesired());
    warm.setReady(s.warmReady());
    out.setWarmPool(warm);
    out.setActiveSessions(s.activeSessions());
    return out;
  }

  @Override
  public void close() {
    informers.forEach(SharedIndexInformer::close);
  }
}
