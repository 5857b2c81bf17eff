package io.agentcube.sandboxd;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The one workspace of a single-mode daemon (a sandbox per pod): the configured directory, the
 * session from {@code AGENTCUBE_SESSION_ID} or the first token, the network on (the pod is the
 * boundary there).
 *
 * <p>Environment. A single-mode daemon is given its sandbox's environment as its own: a pod's
 * {@code env}, or the template environment the process backend starts it with. So its commands
 * get the daemon's environment, minus what is sandboxd's own: {@code PICOD_AUTH_PUBLIC_KEY},
 * {@code AGENTCUBE_HOST_TOKEN_KEY},
 * {@code AGENTCUBE_SESSION_ID}, {@code PORT} and every {@code SANDBOXD_*} setting. Jailed,
 * {@code HOME} and {@code TMPDIR} stay the jail's too: the daemon's values name paths the jail
 * does not show. (A host's daemon environment reaches no command at all: its sandboxes get theirs when
 * created.)
 *
 * <p>In the jail, a single-mode command sees the workspace at its own host path (so paths mean
 * the same to a client with and without the jail), the jail's base system and the
 * {@code --read-only} paths. It runs as sandboxd's own user: there is no other sandbox to keep
 * apart from, and the workspace's files keep their owner.
 */
final class SingleWorkspace implements Workspaces {

  /** Variables whose daemon values name paths a jailed command does not see. */
  private static final Set<String> JAIL_OWN = Set.of("HOME", "TMPDIR");

  private final Workspace workspace;

  private SingleWorkspace(Workspace workspace) {
    this.workspace = workspace;
  }

  /**
   * @throws IOException when the workspace cannot be created or opened
   */
  static SingleWorkspace open(SandboxdOptions options, Map<String, String> daemonEnv,
      boolean jailed) throws IOException {
    WorkspacePaths paths = new WorkspacePaths(options.workspace());
    Map<String, String> env = new TreeMap<>();
    daemonEnv.forEach((name, value) -> {
      if (!sandboxdOwn(name) && !(jailed && JAIL_OWN.contains(name))) {
        env.put(name, value);
      }
    });
    return new SingleWorkspace(new Workspace(null, paths, env, true, -1, options.readOnly(),
        new SessionPin(options.sessionId()), options.maxExecutionsPerSandbox()));
  }

  /** sandboxd's own settings and secret, never a command's. */
  static boolean sandboxdOwn(String name) {
    return name.equals("PICOD_AUTH_PUBLIC_KEY") || name.equals("AGENTCUBE_HOST_TOKEN_KEY")
        || name.equals("AGENTCUBE_SESSION_ID")
        || name.equals("PORT") || name.startsWith("SANDBOXD_");
  }

  @Override
  public Workspace admit(TokenVerifier.Claims claims) {
    if (claims != null) {
      workspace.session().admit(claims.sessionId());
    }
    return workspace;
  }

  Workspace workspace() {
    return workspace;
  }

  @Override
  public void close() {
    workspace.close(Duration.ofSeconds(5));
  }
}
