package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** {@code status} of an {@link AgentRuntime} or a {@link CodeInterpreter}; both backends compute it alike. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"conditions", "ready", "defaultVersion", "versions", "warmPool", "activeSessions"})
public class RuntimeStatus {

  @JsonPropertyDescription("Observations; Ready carries observedGeneration.")
  private List<StatusCondition> conditions;

  @JsonPropertyDescription("Whether new sessions can be served.")
  private Boolean ready;

  @JsonPropertyDescription("The version new sessions get: the newest.")
  private String defaultVersion;

  @JsonPropertyDescription("Version name to template hash, for every version kept.")
  private Map<String, String> versions;

  @JsonPropertyDescription("Warm sandboxes wanted and ready.")
  private WarmPoolStatus warmPool;

  @JsonPropertyDescription("Sessions currently open.")
  private Integer activeSessions;

  public List<StatusCondition> getConditions() {
    return conditions;
  }

  public void setConditions(List<StatusCondition> conditions) {
    this.conditions = conditions;
  }

  public Boolean getReady() {
    return ready;
  }

  public void setReady(Boolean ready) {
    this.ready = ready;
  }

  public String getDefaultVersion() {
    return defaultVersion;
  }

  public void setDefaultVersion(String defaultVersion) {
    this.defaultVersion = defaultVersion;
  }

  public Map<String, String> getVersions() {
    return versions;
  }

  public void setVersions(Map<String, String> versions) {
    this.versions = versions;
  }

  public WarmPoolStatus getWarmPool() {
    return warmPool;
  }

  public void setWarmPool(WarmPoolStatus warmPool) {
    this.warmPool = warmPool;
  }

  public Integer getActiveSessions() {
    return activeSessions;
  }

  public void setActiveSessions(Integer activeSessions) {
    this.activeSessions = activeSessions;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RuntimeStatus s && Objects.equals(conditions, s.conditions) && Objects.equals(ready, s.ready)
        && Objects.equals(defaultVersion, s.defaultVersion) && Objects.equals(versions, s.versions)
        && Objects.equals(warmPool, s.warmPool) && Objects.equals(activeSessions, s.activeSessions);
  }

  @Override
  public int hashCode() {
    return Objects.hash(conditions, ready, defaultVersion, versions, warmPool, activeSessions);
  }

  @Override
  public String toString() {
    return "RuntimeStatus{ready=" + ready + ", defaultVersion=" + defaultVersion + ", versions=" + versions
        + ", warmPool=" + warmPool + ", activeSessions=" + activeSessions + ", conditions=" + conditions + "}";
  }
}
