package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.RuntimeDefinition;

/**
 * The labels and annotations sandbox pods carry (design.md §7): what every replica rebuilds its
 * view of pools and sessions from.
 *
 * <p>Labels (selectable): managed-by, runtime kind and name, version, template hash, state
 * ({@code warm} until claimed, then {@code bound}) and the session id. Annotations: what serving
 * needs of the version ({@link io.agentcube.sandbox.DefinitionCodec}), the session's creation and
 * last activity, and why it ended (set just before the pod is deleted, so other replicas report the
 * right reason).
 */
final class Labels {

  static final String PREFIX = "runtime.agentcube.volcano.sh/";
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  static final String MANAGER = "agentcube-proxy";
  static final String KIND = PREFIX + "kind";
  static final String RUNTIME = PREFIX + "runtime";
  static final String VERSION = PREFIX + "version";
  static final String TEMPLATE_HASH = PREFIX + "template-hash";
  static final String STATE = PREFIX + "state";
  static final String SESSION_ID = PREFIX + "session-id";
  static final String WARM = "warm";
  static final String BOUND = "bound";

  static final String DEFINITION = PREFIX + "definition";
  static final String SESSION_CREATED = PREFIX + "session-created";
  static final String LAST_ACTIVITY = PREFIX + "last-activity";
  static final String END_REASON = PREFIX + "end-reason";
  /** The authenticated subject that created the session (any string: an annotation, not a label). */
  static final String SESSION_OWNER = PREFIX + "session-owner";

  private Labels() {}

  /**
   * Whether {@code value} may be a label value (63 characters at most of {@code [A-Za-z0-9._-]},
   * starting and ending with a letter or digit). Generated session ids always are; an id from a
   * client that is not cannot name a pod, so it is unknown.
   */
  static boolean isLabelValue(String value) {
    int n = value.length();
    if (n == 0 || n > 63 || !alnum(value.charAt(0)) || !alnum(value.charAt(n - 1))) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (!alnum(c) && c != '-' && c != '_' && c != '.') {
        return false;
      }
    }
    return true;
  }

  private static boolean alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  /** The pool a pod belongs to: runtime kind, namespace, name and template hash. */
  static String poolKey(RuntimeDefinition d) {
    return poolKey(d.ref().kind().name(), d.ref().namespace(), d.ref().name(), d.templateHash());
  }

  static String poolKey(String kind, String namespace, String name, String hash) {
    return kind + "/" + namespace + "/" + name + "#" + hash;
  }
}
