package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.Objects;

/** {@code spec} of an {@link AgentEndpoint} or a {@link CodeInterpreterEndpoint}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"target", "version"})
public class EndpointSpec {

  @Required
  @Size(min = 1, max = 63)
  @Pattern(RuntimeApi.DNS_LABEL_PATTERN)
  @JsonPropertyDescription("The runtime's name, in this namespace.")
  private String target;

  @JsonPropertyDescription("The version to pin; the runtime's status.defaultVersion when empty.")
  private String version;

  public EndpointSpec() {}

  public EndpointSpec(String target, String version) {
    this.target = target;
    this.version = version;
  }

  public String getTarget() {
    return target;
  }

  public void setTarget(String target) {
    this.target = target;
  }

  public String getVersion() {
    return version;
  }

  public void setVersion(String version) {
    this.version = version;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EndpointSpec s && Objects.equals(target, s.target) && Objects.equals(version, s.version);
  }

  @Override
  public int hashCode() {
    return Objects.hash(target, version);
  }

  @Override
  public String toString() {
    return "EndpointSpec{target=" + target + ", version=" + version + "}";
  }
}
