package io.agentcube.sandbox.process;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.Sandbox;
import io.vertx.core.net.SocketAddress;

/**
 * A code-interpreter sandbox that is a workspace on the {@link SandboxHost}: no process of its
 * own, the host's address, and the workspace selected by the {@code sandbox_id} of the session's
 * token.
 */
final class HostedSandbox implements Sandbox {

  private final String id;
  private final RuntimeDefinition definition;
  private final SocketAddress address;
  /** The host process this workspace lives in: the sandbox is lost when that one ends. */
  final SandboxHost.Instance host;
  private volatile String sessionId;
  private volatile String owner;
  private volatile boolean gone;
  /** Completed when it is gone: its stop finished, or it was lost with its host. */
  final io.vertx.core.Promise<Void> stopped = io.vertx.core.Promise.promise();

  HostedSandbox(String id, RuntimeDefinition definition, SandboxHost.Instance host) {
    this.id = id;
    this.definition = definition;
    this.host = host;
    this.address = host.address();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String name() {
    return definition.ref().name() + "-" + definition.version() + "-" + id;
  }

  @Override
  public RuntimeDefinition definition() {
    return definition;
  }

  @Override
  public SocketAddress address(int portIndex) {
    return address;
  }

  @Override
  public boolean alive() {
    return !gone && host.alive();
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public boolean onHost() {
    return true;
  }

  @Override
  public String owner() {
    return owner;
  }

  void bind(String session, String owner) {
    this.owner = owner; // before the id: a reader that sees the id sees its owner
    this.sessionId = session;
  }

  /** Marks it ended (stopped, or lost with its host); true the first time. */
  synchronized boolean end() {
    if (gone) {
      return false;
    }
    gone = true;
    return true;
  }

  @Override
  public String toString() {
    return "HostedSandbox[" + id + " on " + address + "]";
  }
}
