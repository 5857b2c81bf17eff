package io.agentcube.runtime;

import java.util.Objects;

/** Names one runtime: kind, namespace and name. */
public record RuntimeRef(RuntimeKind kind, String namespace, String name) {

  public RuntimeRef {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
  }

  @Override
  public String toString() {
    return kind.kind() + " " + namespace + "/" + name;
  }
}
