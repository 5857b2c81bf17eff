package io.agentcube.proxy;

import io.agentcube.runtime.RuntimeCatalog;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.RuntimeStatus;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxPools;
import io.agentcube.session.Session;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Every runtime's status as the catalog, the pools and the live sessions show it now: what the
 * runtime listing answers and what a runtime source publishes ({@code RuntimeSource#publish}).
 * One pass over the sessions, one lookup per runtime.
 */
final class RuntimeStatuses {

  private RuntimeStatuses() {}

  static Map<RuntimeRef, RuntimeStatus> compute(RuntimeCatalog catalog, SandboxPools pools,
      SessionRouter sessions, Predicate<RuntimeRef> which) {
    Map<RuntimeRef, Integer> active = new HashMap<>();
    for (Session<Sandbox> s : sessions.list(x -> which.test(x.binding().definition().ref()))) {
      active.merge(s.binding().definition().ref(), 1, Integer::sum);
    }
    Map<RuntimeRef, RuntimeStatus> out = new LinkedHashMap<>();
    for (RuntimeCatalog.Entry e : catalog.snapshot().runtimes().values()) {
      if (!which.test(e.ref())) {
        continue;
      }
      RuntimeDefinition d = e.current().definition();
      SandboxPools.PoolView pool = pools.pool(d);
      out.put(e.ref(), RuntimeStatus.compute(e, pool == null ? 0 : pool.ready(),
          pool == null ? "no warm pool" : pool.lastStartError(), active.getOrDefault(e.ref(), 0)));
    }
    return out;
  }
}
