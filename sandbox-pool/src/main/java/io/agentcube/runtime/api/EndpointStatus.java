package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;
import java.util.Objects;

/** {@code status} of an {@link AgentEndpoint} or a {@link CodeInterpreterEndpoint}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"conditions", "resolvedVersion"})
public class EndpointStatus {

  @JsonPropertyDescription("Observations; Ready is False while the target or its version does not exist.")
  private List<StatusCondition> conditions;

  @JsonPropertyDescription("The version requests through this endpoint get.")
  private String resolvedVersion;

  public List<StatusCondition> getConditions() {
    return conditions;
  }

  public void setConditions(List<StatusCondition> conditions) {
    this.conditions = conditions;
  }

  public String getResolvedVersion() {
    return resolvedVersion;
  }

  public void setResolvedVersion(String resolvedVersion) {
    this.resolvedVersion = resolvedVersion;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EndpointStatus s && Objects.equals(conditions, s.conditions)
        && Objects.equals(resolvedVersion, s.resolvedVersion);
  }

  @Override
  public int hashCode() {
    return Objects.hash(conditions, resolvedVersion);
  }

  @Override
  public String toString() {
    return "EndpointStatus{resolvedVersion=" + resolvedVersion + ", conditions=" + conditions + "}";
  }
}
