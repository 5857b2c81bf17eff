package io.agentcube.runtime;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The runtimes served now, looked up on every new session. Replaced whole on each change
 * (copy-on-write), so a lookup is one volatile read and one hash lookup with no lock.
 */
public final class RuntimeRegistry {

  private volatile Map<RuntimeRef, RuntimeDefinition> current = Map.of();

  /** The served definition of a runtime, or {@code null}. */
  public RuntimeDefinition find(RuntimeKind kind, String namespace, String name) {
    return current.get(new RuntimeRef(kind, namespace, name));
  }

  public Collection<RuntimeDefinition> all() {
    return current.values();
  }

  /** Serves exactly {@code definitions} from now on. */
  public void replace(Collection<RuntimeDefinition> definitions) {
    Map<RuntimeRef, RuntimeDefinition> next = new HashMap<>();
    for (RuntimeDefinition d : definitions) {
      next.put(d.ref(), d);
    }
    current = Map.copyOf(next);
  }

  public List<RuntimeDefinition> list() {
    return List.copyOf(current.values());
  }
}
