package io.agentcube.runtime;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The runtimes and endpoints declared now, with every runtime's versions.
 *
 * <h2>Versions</h2>
 * Each distinct template of a runtime (its {@link RuntimeDefinition#templateHash()}) is a version.
 * It is named by the runtime's {@code runtime.agentcube.volcano.sh/version} annotation when set,
 * else {@code v1}, {@code v2}, … in the order templates appear. The version of the template
 * declared now is the runtime's default version; declaring an older template again makes that
 * version the default again. A version stays known while it is the default, an endpoint pins it,
 * or a live session uses it; of the others only the {@value #KEPT_UNUSED} newest are kept.
 * Changing only non-template fields ({@code warmPoolSize}, timeouts) updates the current version
 * in place.
 *
 * <h2>Endpoints</h2>
 * An endpoint resolves to its target runtime's pinned version, or to the default version when it
 * pins none. An endpoint whose target does not exist or whose version is unknown is not ready;
 * new sessions through it get {@code 404 ENDPOINT_NOT_FOUND} with the reason.
 *
 * <h2>Concurrency</h2>
 * {@link #apply} is serialised; it builds a new immutable {@link Snapshot} and publishes it with
 * one volatile write, so lookups on the request path take no lock.
 */
public final class RuntimeCatalog {

  /** Unused versions kept per runtime, newest first. */
  public static final int KEPT_UNUSED = 10;

  /** One version of a runtime. {@code seq} orders versions by when their template was declared. */
  public record Version(String name, String hash, RuntimeDefinition definition, long seq) {}

  /** A runtime: its versions (oldest first) and the one declared now. */
  public record Entry(RuntimeRef ref, List<Version> versions, Version current, long generation) {
    public Version version(String name) {
      for (Version v : versions) {
        if (v.name().equals(name)) {
          return v;
        }
      }
      return null;
    }
  }

  /** An endpoint and what it resolves to now ({@code resolved} null with a {@code problem}). */
  public record Endpoint(EndpointDefinition definition, RuntimeDefinition resolved, String problem) {}

  /** Everything, immutable. */
  public record Snapshot(Map<RuntimeRef, Entry> runtimes, Map<String, Endpoint> endpoints) {}

  private volatile Snapshot snapshot = new Snapshot(Map.of(), Map.of());
  private long seq;
  /** Highest numeric suffix handed out per runtime, so that names are never reused. */
  private final Map<RuntimeRef, Integer> counters = new HashMap<>();

  private static String endpointKey(RuntimeKind kind, String namespace, String name) {
    return kind.name() + "/" + namespace + "/" + name;
  }

  public Snapshot snapshot() {
    return snapshot;
  }

  /**
   * Declares exactly {@code runtimes} and {@code endpoints} from now on.
   *
   * @param inUse whether a live session still runs on a version (ref and template hash)
   */
  public synchronized Snapshot apply(Collection<RuntimeDefinition> runtimes,
      Collection<EndpointDefinition> endpoints, Predicate<RuntimeDefinition> inUse) {
    Snapshot before = snapshot;
    Map<RuntimeRef, Entry> next = new LinkedHashMap<>();
    for (RuntimeDefinition d : runtimes) {
      next.put(d.ref(), declare(before.runtimes().get(d.ref()), d));
    }
    Map<String, Endpoint> eps = new LinkedHashMap<>();
    for (EndpointDefinition e : endpoints) {
      eps.put(endpointKey(e.kind(), e.namespace(), e.name()), resolve(e, next));
    }
    // Forget old versions nobody uses, beyond the newest KEPT_UNUSED.
    for (Map.Entry<RuntimeRef, Entry> me : next.entrySet()) {
      Entry entry = me.getValue();
      Set<String> pinned = new java.util.HashSet<>();
      for (Endpoint ep : eps.values()) {
        if (ep.resolved() != null && ep.resolved().ref().equals(entry.ref())) {
          pinned.add(ep.resolved().version());
        }
      }
      List<Version> kept = new ArrayList<>();
      int unused = 0;
      List<Version> newestFirst = new ArrayList<>(entry.versions());
      java.util.Collections.reverse(newestFirst);
      for (Version v : newestFirst) {
        boolean used = v == entry.current() || pinned.contains(v.name()) || inUse.test(v.definition());
        if (used || unused++ < KEPT_UNUSED) {
          kept.add(0, v);
        }
      }
      if (kept.size() != entry.versions().size()) {
        me.setValue(new Entry(entry.ref(), List.copyOf(kept), entry.current(), entry.generation()));
      }
    }
    snapshot = new Snapshot(Map.copyOf(next), Map.copyOf(eps));
    return snapshot;
  }

  private Entry declare(Entry old, RuntimeDefinition d) {
    String annotated = d.version();
    List<Version> versions = old == null ? new ArrayList<>() : new ArrayList<>(old.versions());
    long generation = old == null ? 1 : old.generation();
    Version match = null;
    for (Version v : versions) {
      if (v.hash().equals(d.templateHash()) && (annotated == null || annotated.equals(v.name()))) {
        match = v;
      }
    }
    Version current;
    if (match != null) {
      current = new Version(match.name(), match.hash(), d.withVersion(match.name()),
          old.current() == match ? match.seq() : ++seq);
      if (old.current() != match || !match.definition().equals(current.definition())) {
        generation++;
      }
      versions.remove(match);
    } else {
      String name = annotated;
      if (name == null) {
        int n = counters.merge(d.ref(), 1, Integer::sum);
        name = "v" + n;
        while (hasName(versions, name)) {
          name = "v" + counters.merge(d.ref(), 1, Integer::sum);
        }
      } else {
        // A reused name now means the new template; the old one of that name is retired.
        String reused = name;
        versions.removeIf(v -> v.name().equals(reused));
      }
      current = new Version(name, d.templateHash(), d.withVersion(name), ++seq);
      if (old != null) {
        generation++;
      }
    }
    versions.add(current);
    versions.sort(java.util.Comparator.comparingLong(Version::seq));
    return new Entry(d.ref(), List.copyOf(versions), current, generation);
  }

  private static boolean hasName(List<Version> versions, String name) {
    return versions.stream().anyMatch(v -> v.name().equals(name));
  }

  private static Endpoint resolve(EndpointDefinition e, Map<RuntimeRef, Entry> runtimes) {
    Entry target = runtimes.get(e.targetRef());
    if (target == null) {
      return new Endpoint(e, null, "target " + e.targetRef() + " does not exist");
    }
    if (e.version() == null || e.version().isEmpty()) {
      return new Endpoint(e, target.current().definition(), null);
    }
    Version v = target.version(e.version());
    if (v == null) {
      return new Endpoint(e, null, "version '" + e.version() + "' of " + e.targetRef()
          + " is unknown (known: " + target.versions().stream().map(Version::name).toList() + ")");
    }
    return new Endpoint(e, v.definition(), null);
  }

  /** The version new sessions of a runtime get, or {@code null} when it is not declared. */
  public RuntimeDefinition current(RuntimeKind kind, String namespace, String name) {
    Entry e = snapshot.runtimes().get(new RuntimeRef(kind, namespace, name));
    return e == null ? null : e.current().definition();
  }

  /**
   * The version a new session of runtime {@code name} gets through endpoint {@code endpoint}.
   *
   * @throws AgentCubeException {@code ENDPOINT_NOT_FOUND} when there is no such endpoint, it
   *     targets another runtime, or it is not ready (the message says why)
   */
  public RuntimeDefinition throughEndpoint(RuntimeKind kind, String namespace, String name, String endpoint) {
    Endpoint ep = snapshot.endpoints().get(endpointKey(kind, namespace, endpoint));
    String kindName = kind == RuntimeKind.AGENT_RUNTIME ? "AgentEndpoint" : "CodeInterpreterEndpoint";
    if (ep == null) {
      throw AgentCubeException.stackless(ErrorCode.ENDPOINT_NOT_FOUND,
          kindName + " " + namespace + "/" + endpoint + " not found");
    }
    if (!ep.definition().target().equals(name)) {
      throw AgentCubeException.stackless(ErrorCode.ENDPOINT_NOT_FOUND, kindName + " " + namespace
          + "/" + endpoint + " targets '" + ep.definition().target() + "', not '" + name + "'");
    }
    if (ep.resolved() == null) {
      throw AgentCubeException.stackless(ErrorCode.ENDPOINT_NOT_FOUND,
          kindName + " " + namespace + "/" + endpoint + " is not ready: " + ep.problem());
    }
    return ep.resolved();
  }

  /** The versions that need a warm pool: every runtime's current one and every pinned one. */
  public List<RuntimeDefinition> pooledVersions() {
    Snapshot s = snapshot;
    Map<String, RuntimeDefinition> out = new LinkedHashMap<>();
    for (Entry e : s.runtimes().values()) {
      out.put(e.ref() + "#" + e.current().hash(), e.current().definition());
    }
    for (Endpoint ep : s.endpoints().values()) {
      if (ep.resolved() != null) {
        out.putIfAbsent(ep.resolved().ref() + "#" + ep.resolved().templateHash(), ep.resolved());
      }
    }
    return List.copyOf(out.values());
  }
}
