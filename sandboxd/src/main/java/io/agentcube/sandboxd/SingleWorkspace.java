package io.agentcube.sandboxd;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one workspace of a single-mode daemon (a sandbox per pod): the configured directory, the
 * session from {@code AGENTCUBE_SESSION_ID} or the first token, the daemon's {@code --pass-env}
 * variables, the network on (the pod is the boundary there).
 *
 * <p>In the jail, a single-mode command sees the workspace at its own host path (so paths mean
 * the same to a client with and without the jail), the jail's base system and the
 * {@code --read-only} paths. It runs as sandboxd's own user: there is no other sandbox to keep
 * apart from, and the workspace's files keep their owner.
 */
final class SingleWorkspace implements Workspaces {

  private final Workspace workspace;

  private SingleWorkspace(Workspace workspace) {
    this.workspace = workspace;
  }

  /**
   * @throws IOException when the workspace cannot be created or opened
   */
  static SingleWorkspace open(SandboxdOptions options, Map<String, String> daemonEnv)
      throws IOException {
    WorkspacePaths paths = new WorkspacePaths(options.workspace());
    Map<String, String> env = new LinkedHashMap<>();
    for (String name : options.passEnv()) {
      String value = daemonEnv.get(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    return new SingleWorkspace(new Workspace(null, paths, env, true, -1, options.readOnly(),
        new SessionPin(options.sessionId()), options.maxExecutionsPerSandbox()));
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
