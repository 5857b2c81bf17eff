package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.Objects;

/** One condition in a status, shaped like Kubernetes' {@code metav1.Condition}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"type", "status", "reason", "message", "observedGeneration", "lastTransitionTime"})
public class StatusCondition {

  /** The condition every kind reports. */
  public static final String READY = "Ready";

  @Required
  @JsonPropertyDescription("The kind of condition, e.g. Ready.")
  private String type;

  @Required
  @Pattern("^(True|False|Unknown)$")
  @JsonPropertyDescription("True, False or Unknown.")
  private String status;

  @JsonPropertyDescription("A CamelCase reason for the last transition.")
  private String reason;

  @JsonPropertyDescription("A human-readable message about the last transition.")
  private String message;

  @JsonPropertyDescription("The metadata.generation this condition was computed from.")
  private Long observedGeneration;

  @JsonPropertyDescription("When the status last changed (RFC 3339).")
  private String lastTransitionTime;

  public StatusCondition() {}

  public StatusCondition(String type, String status, String reason, String message, Long observedGeneration,
      String lastTransitionTime) {
    this.type = type;
    this.status = status;
    this.reason = reason;
    this.message = message;
    this.observedGeneration = observedGeneration;
    this.lastTransitionTime = lastTransitionTime;
  }

  public String getType() {
    return type;
  }

  public void setType(String type) {
    this.type = type;
  }

  public String getStatus() {
    return status;
  }

  public void setStatus(String status) {
    this.status = status;
  }

  public String getReason() {
    return reason;
  }

  public void setReason(String reason) {
    this.reason = reason;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public String getLastTransitionTime() {
    return lastTransitionTime;
  }

  public void setLastTransitionTime(String lastTransitionTime) {
    this.lastTransitionTime = lastTransitionTime;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StatusCondition c && Objects.equals(type, c.type) && Objects.equals(status, c.status)
        && Objects.equals(reason, c.reason) && Objects.equals(message, c.message)
        && Objects.equals(observedGeneration, c.observedGeneration)
        && Objects.equals(lastTransitionTime, c.lastTransitionTime);
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, status, reason, message, observedGeneration, lastTransitionTime);
  }

  @Override
  public String toString() {
    return "StatusCondition{type=" + type + ", status=" + status + ", reason=" + reason + ", message=" + message
        + ", observedGeneration=" + observedGeneration + ", lastTransitionTime=" + lastTransitionTime + "}";
  }
}
