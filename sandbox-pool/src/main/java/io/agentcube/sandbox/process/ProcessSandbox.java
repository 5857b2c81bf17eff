package io.agentcube.sandbox.process;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.Sandbox;
import io.vertx.core.Promise;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A sandbox that is a local process tree with its own working directory: a child of this proxy,
 * or one adopted from a previous run (then only a {@link ProcessHandle}, whose exit the JDK notices
 * by polling, within a few seconds).
 */
final class ProcessSandbox implements Sandbox {

  private final String id;
  private final String name;
  private final RuntimeDefinition definition;
  private final SocketAddress[] addresses;
  private final Path dir;
  final ProcessHandle process;
  /** The {@link Process} when this proxy spawned it (for its exit code), else {@code null}. */
  final Process child;
  /** The marker as last written; guarded by this. */
  private SandboxMarker marker;
  private volatile String sessionId;
  private volatile boolean exited;
  /** Set once when the proxy decides to stop it: its exit is then not a loss. */
  final AtomicBoolean stopping = new AtomicBoolean();
  /** Its own uid when jailed as root, else -1. */
  volatile int uid = -1;
  /**
   * Completed when the stop finished (tree dead, directory removed). Exists from the start, so
   * that a second stop, or one racing the first, waits for the same end.
   */
  final Promise<Void> stopped = Promise.promise();

  ProcessSandbox(SandboxMarker marker, SocketAddress[] addresses, Path dir, ProcessHandle process,
      Process child) {
    this.child = child;
    this.id = marker.sandboxId();
    this.name = marker.name();
    this.definition = marker.definition();
    this.addresses = addresses;
    this.dir = dir;
    this.process = process;
    this.marker = marker;
    this.sessionId = marker.sessionId();
    process.onExit().thenRun(() -> exited = true);
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
    return !exited && !stopping.get();
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public synchronized String owner() {
    return marker.sessionOwner();
  }

  /** The exit code, when this proxy spawned it and it has exited; else -1. */
  int exitCode() {
    return child != null && !child.isAlive() ? child.exitValue() : -1;
  }

  /** Rewrites the marker with {@code change} applied. Blocking. */
  synchronized void updateMarker(java.util.function.UnaryOperator<SandboxMarker> change)
      throws java.io.IOException {
    SandboxMarker next = change.apply(marker);
    next.write(dir);
    marker = next;
    sessionId = next.sessionId();
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
