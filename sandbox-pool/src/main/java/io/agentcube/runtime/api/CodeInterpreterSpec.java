package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import java.util.List;
import java.util.Objects;

/** {@code spec} of a {@link CodeInterpreter}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"ports", "template", "sessionTimeout", "maxSessionDuration", "warmPoolSize", "authMode",
    "languages"})
public class CodeInterpreterSpec {

  /** How the proxy authenticates itself to the sandbox. */
  public enum AuthMode {
    /** A per-session RS256 JWT; the sandbox gets the public key in PICOD_AUTH_PUBLIC_KEY. */
    @JsonProperty("picod") PICOD,
    /** Requests are forwarded untouched. */
    @JsonProperty("none") NONE
  }

  /** When {@code ports} is left out: port 8080, HTTP, every path. */
  public static final List<TargetPortSpec> DEFAULT_PORTS = AgentRuntimeSpec.DEFAULT_PORTS;
  public static final String DEFAULT_SESSION_TIMEOUT = AgentRuntimeSpec.DEFAULT_SESSION_TIMEOUT;
  public static final String DEFAULT_MAX_SESSION_DURATION = AgentRuntimeSpec.DEFAULT_MAX_SESSION_DURATION;
  public static final int DEFAULT_WARM_POOL_SIZE = 0;
  public static final AuthMode DEFAULT_AUTH_MODE = AuthMode.PICOD;

  @Default("[{\"port\":8080,\"protocol\":\"HTTP\",\"pathPrefix\":\"/\"}]")
  @JsonPropertyDescription("The ports requests may be forwarded to.")
  private List<TargetPortSpec> ports;

  @JsonPropertyDescription("The sandbox container.")
  private CodeInterpreterTemplate template;

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

  @Default("picod")
  @JsonPropertyDescription("picod (the default): calls carry a per-session JWT; none: forwarded untouched.")
  private AuthMode authMode;

  @JsonPropertyDescription("Languages the interpreter offers, e.g. [python, bash]; informational.")
  private List<String> languages;

  public List<TargetPortSpec> getPorts() {
    return ports;
  }

  public void setPorts(List<TargetPortSpec> ports) {
    this.ports = ports;
  }

  public CodeInterpreterTemplate getTemplate() {
    return template;
  }

  public void setTemplate(CodeInterpreterTemplate template) {
    this.template = template;
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

  public AuthMode getAuthMode() {
    return authMode;
  }

  public void setAuthMode(AuthMode authMode) {
    this.authMode = authMode;
  }

  public List<String> getLanguages() {
    return languages;
  }

  public void setLanguages(List<String> languages) {
    this.languages = languages;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CodeInterpreterSpec s && Objects.equals(ports, s.ports) && Objects.equals(template, s.template)
        && Objects.equals(sessionTimeout, s.sessionTimeout) && Objects.equals(maxSessionDuration, s.maxSessionDuration)
        && Objects.equals(warmPoolSize, s.warmPoolSize) && authMode == s.authMode
        && Objects.equals(languages, s.languages);
  }

  @Override
  public int hashCode() {
    return Objects.hash(ports, template, sessionTimeout, maxSessionDuration, warmPoolSize, authMode, languages);
  }

  @Override
  public String toString() {
    return "CodeInterpreterSpec{ports=" + ports + ", template=" + template + ", sessionTimeout=" + sessionTimeout
        + ", maxSessionDuration=" + maxSessionDuration + ", warmPoolSize=" + warmPoolSize + ", authMode=" + authMode
        + ", languages=" + languages + "}";
  }
}
