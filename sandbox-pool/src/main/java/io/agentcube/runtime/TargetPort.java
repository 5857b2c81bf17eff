package io.agentcube.runtime;

/**
 * A port of a sandbox that requests may be forwarded to.
 *
 * @param name optional name; gives the process backend's {@code AGENTCUBE_PORT_<NAME>} variable
 * @param port the port inside the sandbox (Kubernetes); the process backend picks its own
 * @param protocol {@code HTTP} or {@code HTTPS}
 * @param pathPrefix requests whose forwarded path starts with it go to this port (longest wins)
 */
public record TargetPort(String name, int port, Protocol protocol, String pathPrefix) {

  /** How the proxy talks to a target port. */
  public enum Protocol { HTTP, HTTPS }
}
