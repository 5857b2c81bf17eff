package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Objects;

/** {@code status.warmPool}: warm sandboxes wanted and ready, over every version in use. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"desired", "ready"})
public class WarmPoolStatus {

  @JsonPropertyDescription("Warm sandboxes wanted.")
  private Integer desired;

  @JsonPropertyDescription("Warm sandboxes started and unclaimed.")
  private Integer ready;

  public WarmPoolStatus() {}

  public WarmPoolStatus(Integer desired, Integer ready) {
    this.desired = desired;
    this.ready = ready;
  }

  public Integer getDesired() {
    return desired;
  }

  public void setDesired(Integer desired) {
    this.desired = desired;
  }

  public Integer getReady() {
    return ready;
  }

  public void setReady(Integer ready) {
    this.ready = ready;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WarmPoolStatus w && Objects.equals(desired, w.desired) && Objects.equals(ready, w.ready);
  }

  @Override
  public int hashCode() {
    return Objects.hash(desired, ready);
  }

  @Override
  public String toString() {
    return "WarmPoolStatus{desired=" + desired + ", ready=" + ready + "}";
  }
}
