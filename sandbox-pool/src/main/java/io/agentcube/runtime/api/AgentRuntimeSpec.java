package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.List;
import java.util.Objects;

/**
 * {@code spec} of an {@link AgentRuntime}. AgentCube's names ({@code targetPort},
 * {@code podTemplate}) are canonical and written; the seed spellings {@code ports} and
 * {@code template} are accepted on read.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"targetPort", "podTemplate", "sessionTimeout", "maxSessionDuration", "warmPoolSize"})
public class AgentRuntimeSpec {

  /** When {@code targetPort} is left out: port 8080, HTTP, every path. */
  public static final List<TargetPortSpec> DEFAULT_PORTS =
      List.of(new TargetPortSpec(null, 8080, TargetPortSpec.Protocol.HTTP, "/"));
  public static final String DEFAULT_SESSION_TIMEOUT = "15m";
  public static final String DEFAULT_MAX_SESSION_DURATION = "8h";
  public static final int DEFAULT_WARM_POOL_SIZE = 0;

  @Default("[{\"port\":8080,\"protocol\":\"HTTP\",\"pathPrefix\":\"/\"}]")
  @JsonProperty("targetPort")
  @JsonAlias("ports")
  @JsonPropertyDescription("The ports requests may be forwarded to (alias: ports). "
      + "Default: one port 8080, HTTP, pathPrefix /.")
  private List<TargetPortSpec> targetPort;

  @Required
  @JsonProperty("podTemplate")
  @JsonAlias("template")
  @JsonPropertyDescription("The sandbox pod (alias: template).")
  private PodTemplate podTemplate;

  @Default(DEFAULT_SESSION_TIMEOUT)
  @Pattern(RuntimeApi.DURATION_PATTERN)
  @JsonPropertyDescription("A session idle for this long is ended, e.g. 90s, 15m, 1h30m.")
  private String sessionTimeout;

  @Default(DEFAULT_MAX_SESSION_DURATION)
  @Pattern(RuntimeApi.DURATION_PATTERN)
  @JsonPropertyDescription("A session is ended this long after it started, active or not.")
  private String maxSessionDuration;

  @Default("0")
  @Min(0)
  @JsonPropertyDescription("Sandboxes kept started and unclaimed per version in use.")
  private Integer warmPoolSize;

  public List<TargetPortSpec> getTargetPort() {
    return targetPort;
  }

  public void setTargetPort(List<TargetPortSpec> targetPort) {
    this.targetPort = targetPort;
  }

  public PodTemplate getPodTemplate() {
    return podTemplate;
  }

  public void setPodTemplate(PodTemplate podTemplate) {
    this.podTemplate = podTemplate;
  }

  public String getSessionTimeout() {
    return sessionTimeout;
  }

  public void setSessionTimeout(String sessionTimeout) {
    this.sessionTimeout = sessionTimeout;
  }

  public String getMaxSessionDuration() {
    return maxSessionDuration;
  }

  public void setMaxSessionDuration(String maxSessionDuration) {
    this.maxSessionDuration = maxSessionDuration;
  }

  public Integer getWarmPoolSize() {
    return warmPoolSize;
  }

  public void setWarmPoolSize(Integer warmPoolSize) {
    this.warmPoolSize = warmPoolSize;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AgentRuntimeSpec s && Objects.equals(targetPort, s.targetPort)
        && Objects.equals(podTemplate, s.podTemplate) && Objects.equals(sessionTimeout, s.sessionTimeout)
        && Objects.equals(maxSessionDuration, s.maxSessionDuration) && Objects.equals(warmPoolSize, s.warmPoolSize);
  }

  @Override
  public int hashCode() {
    return Objects.hash(targetPort, podTemplate, sessionTimeout, maxSessionDuration, warmPoolSize);
  }

  @Override
  public String toString() {
    return "AgentRuntimeSpec{targetPort=" + targetPort + ", podTemplate=" + podTemplate + ", sessionTimeout="
        + sessionTimeout + ", maxSessionDuration=" + maxSessionDuration + ", warmPoolSize=" + warmPoolSize + "}";
  }
}
