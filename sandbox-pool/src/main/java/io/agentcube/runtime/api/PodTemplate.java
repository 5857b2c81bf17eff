package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.util.Map;
import java.util.Objects;

/**
 * {@code spec.podTemplate} of an AgentRuntime: labels and annotations for the sandbox pod and a
 * full {@link PodSpec}. The process backend runs the first container.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"labels", "annotations", "spec"})
public class PodTemplate {

  @JsonPropertyDescription("Labels to put on the sandbox pod.")
  private Map<String, String> labels;

  @JsonPropertyDescription("Annotations to put on the sandbox pod.")
  private Map<String, String> annotations;

  @Required
  @JsonPropertyDescription("The sandbox pod's spec.")
  private PodSpec spec;

  public Map<String, String> getLabels() {
    return labels;
  }

  public void setLabels(Map<String, String> labels) {
    this.labels = labels;
  }

  public Map<String, String> getAnnotations() {
    return annotations;
  }

  public void setAnnotations(Map<String, String> annotations) {
    this.annotations = annotations;
  }

  public PodSpec getSpec() {
    return spec;
  }

  public void setSpec(PodSpec spec) {
    this.spec = spec;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodTemplate t && Objects.equals(labels, t.labels)
        && Objects.equals(annotations, t.annotations) && Objects.equals(spec, t.spec);
  }

  @Override
  public int hashCode() {
    return Objects.hash(labels, annotations, spec);
  }

  @Override
  public String toString() {
    return "PodTemplate{labels=" + labels + ", annotations=" + annotations + ", spec=" + spec + "}";
  }
}
