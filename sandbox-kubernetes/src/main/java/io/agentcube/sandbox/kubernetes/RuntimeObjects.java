package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.EndpointDefinition;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeParser;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.RuntimeSource;
import io.agentcube.runtime.RuntimeValidationException;
import io.agentcube.runtime.api.AgentEndpoint;
import io.agentcube.runtime.api.AgentRuntime;
import io.agentcube.runtime.api.CodeInterpreter;
import io.agentcube.runtime.api.CodeInterpreterEndpoint;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.Collection;
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
 * <p>{@link #load} reads the informers' caches (no API call); it reports {@code changed} when any
 * event arrived since the previous load. Thread-safe.
 */
final class RuntimeObjects implements RuntimeSource, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RuntimeObjects.class);

  private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
  private final List<SharedIndexInformer<AgentRuntime>> agents = new ArrayList<>();
  private final List<SharedIndexInformer<CodeInterpreter>> interpreters = new ArrayList<>();
  private final List<SharedIndexInformer<AgentEndpoint>> agentEndpoints = new ArrayList<>();
  private final List<SharedIndexInformer<CodeInterpreterEndpoint>> interpreterEndpoints = new ArrayList<>();
  private final AtomicBoolean dirty = new AtomicBoolean(true);

  RuntimeObjects(KubernetesClient client, List<String> namespaces) {
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
    for (AgentRuntime r : items(agents)) {
      read(errors, r, () -> runtimes.add(RuntimeParser.toDefinition(r, source(r))));
    }
    for (CodeInterpreter ci : items(interpreters)) {
      read(errors, ci, () -> runtimes.add(RuntimeParser.toDefinition(ci, source(ci))));
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

  /** The owner reference for pods of {@code ref}, or {@code null} when the object is not cached. */
  OwnerReference owner(RuntimeRef ref) {
    Collection<? extends HasMetadata> objects = switch (ref.kind()) {
      case AGENT_RUNTIME -> items(agents);
      case CODE_INTERPRETER -> items(interpreters);
    };
    for (HasMetadata o : objects) {
      if (ref.namespace().equals(o.getMetadata().getNamespace())
          && ref.name().equals(o.getMetadata().getName())) {
        return new OwnerReferenceBuilder().withApiVersion(o.getApiVersion()).withKind(o.getKind())
            .withName(o.getMetadata().getName()).withUid(o.getMetadata().getUid())
            .withController(true).withBlockOwnerDeletion(false).build();
      }
    }
    return null;
  }

  @Override
  public void close() {
    informers.forEach(SharedIndexInformer::close);
  }
}
