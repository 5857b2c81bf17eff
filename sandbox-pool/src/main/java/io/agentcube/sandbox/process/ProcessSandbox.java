package io.agentcube.sandbox.process;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.Sandbox;
import io.vertx.core.Future;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/** A sandbox that is a local process tree with its own working directory. */
final class ProcessSandbox implements Sandbox {

  private final String id;
  private final String name;
  private final RuntimeDefinition definition;
  private final SocketAddress[] addresses;
  private final Path dir;
  final Process process;
  /** Set once when the proxy decides to stop it: its exit is then not a loss. */
  final AtomicBoolean stopping = new AtomicBoolean();
  /** Completed when stop finished (tree dead, directory removed). */
  volatile Future<Void> stopped;

  ProcessSandbox(String id, String name, RuntimeDefinition definition, SocketAddress[] addresses,
      Path dir, Process process) {
    this.id = id;
    this.name = name;
    this.definition = definition;
    this.addresses = addresses;
    this.dir = dir;
    this.process = process;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public RuntimeDefinition definition() {
    return definition;
  }

  @Override
  public SocketAddress address(int portIndex) {
    return addresses[portIndex];
  }

  @Override
  public boolean alive() {
    return process.isAlive() && !stopping.get();
  }

  Path dir() {
    return dir;
  }

  long pid() {
    return process.pid();
  }

  @Override
  public String toString() {
    return "ProcessSandbox[" + id + " pid=" + process.pid() + " " + addresses[0] + "]";
  }
}
