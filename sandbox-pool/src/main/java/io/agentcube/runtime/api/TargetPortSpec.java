package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.Objects;

/** One entry of {@code spec.targetPort} (AgentRuntime) or {@code spec.ports} (CodeInterpreter). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "port", "protocol", "pathPrefix"})
public class TargetPortSpec {

  /** How the proxy talks to the port. */
  public enum Protocol { HTTP, HTTPS }

  @JsonPropertyDescription("Optional name of the port; names are unique within a runtime.")
  private String name;

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("The port the sandbox listens on.")
  private Integer port;

  @Default("HTTP")
  @JsonPropertyDescription("HTTP (the default) or HTTPS.")
  private Protocol protocol;

  @Pattern("^/.*")
  @JsonPropertyDescription("Requests whose path starts with this prefix go to this port; the longest prefix wins, "
      + "and requests matching none go to the first port.")
  private String pathPrefix;

  public TargetPortSpec() {}

  public TargetPortSpec(String name, Integer port, Protocol protocol, String pathPrefix) {
    this.name = name;
    this.port = port;
    this.protocol = protocol;
    this.pathPrefix = pathPrefix;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer port) {
    this.port = port;
  }

  public Protocol getProtocol() {
    return protocol;
  }

  public void setProtocol(Protocol protocol) {
    this.protocol = protocol;
  }

  public String getPathPrefix() {
    return pathPrefix;
  }

  public void setPathPrefix(String pathPrefix) {
    this.pathPrefix = pathPrefix;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TargetPortSpec t && Objects.equals(name, t.name) && Objects.equals(port, t.port)
        && protocol == t.protocol && Objects.equals(pathPrefix, t.pathPrefix);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, port, protocol, pathPrefix);
  }

  @Override
  public String toString() {
    return "TargetPortSpec{name=" + name + ", port=" + port + ", protocol=" + protocol + ", pathPrefix=" + pathPrefix + "}";
  }
}
