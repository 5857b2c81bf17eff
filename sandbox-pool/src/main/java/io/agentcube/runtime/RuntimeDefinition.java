package io.agentcube.runtime;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One version of a runtime, normalised from either kind: everything the pool, the backends and
 * the request path need. Immutable; a template change makes a new definition with a new
 * {@link #templateHash()}.
 *
 * @param version the version name ({@code v1}, or the runtime's version annotation); {@code null}
 *     straight from the parser when the runtime has no version annotation
 * @param templateHash a short hash over template and ports; equal hashes mean equal sandboxes
 * @param ports at least one; the first is the default target
 * @param source where the definition came from (a file path, or a Kubernetes object), for messages
 * @param declaredKind the {@code kind} as the document spelled it: {@code ref.kind().kind()}, or an
 *     alias of it ({@code CodeInterpreterRuntime}); informational, {@link #ref()} is canonical
 */
public record RuntimeDefinition(RuntimeRef ref, String version, String templateHash,
    List<TargetPort> ports, SandboxTemplate template, Duration sessionTimeout,
    Duration maxSessionDuration, int warmPoolSize, AuthMode authMode, List<String> languages,
    String source, String declaredKind) {

  public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofMinutes(15);
  public static final Duration DEFAULT_MAX_SESSION_DURATION = Duration.ofHours(8);

  public RuntimeDefinition {
    Objects.requireNonNull(ref, "ref");
    ports = List.copyOf(ports);
    languages = List.copyOf(languages);
    if (ports.isEmpty()) {
      throw new IllegalArgumentException("a runtime needs at least one port");
    }
    if (RuntimeKind.fromKind(declaredKind) != ref.kind()) {
      throw new IllegalArgumentException("declared kind '" + declaredKind + "' is not a spelling of " + ref.kind().kind());
    }
  }

  /** A definition declared with the canonical kind name. */
  public RuntimeDefinition(RuntimeRef ref, String version, String templateHash,
      List<TargetPort> ports, SandboxTemplate template, Duration sessionTimeout,
      Duration maxSessionDuration, int warmPoolSize, AuthMode authMode, List<String> languages,
      String source) {
    this(ref, version, templateHash, ports, template, sessionTimeout, maxSessionDuration, warmPoolSize,
        authMode, languages, source, ref.kind().kind());
  }

  /** This definition under another version name (the catalog names versions). */
  public RuntimeDefinition withVersion(String name) {
    return new RuntimeDefinition(ref, name, templateHash, ports, template, sessionTimeout,
        maxSessionDuration, warmPoolSize, authMode, languages, source, declaredKind);
  }

  /**
   * The index in {@link #ports()} of the port a request for {@code path} goes to: the port whose
   * {@code pathPrefix} is the longest prefix of the path, else the first port.
   */
  public int portIndexFor(String path) {
    int best = 0;
    int bestLength = -1;
    for (int i = 0; i < ports.size(); i++) {
      String prefix = ports.get(i).pathPrefix();
      if (prefix != null && prefix.length() > bestLength && path.startsWith(prefix)) {
        best = i;
        bestLength = prefix.length();
      }
    }
    return best;
  }

  /** A short label for logs and metrics: {@code namespace/name}. */
  public String label() {
    return ref.namespace() + "/" + ref.name();
  }
}
