package io.agentcube.runtime.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code spec.template} of a {@link CodeInterpreter}: one container, flattened. The process
 * backend uses {@code command}, {@code args}, {@code environment} and {@code workingDir} (no
 * command means the bundled sandboxd); the rest is for the Kubernetes backend and kept as read.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"labels", "annotations", "runtimeClassName", "image", "imagePullPolicy", "imagePullSecrets",
    "environment", "command", "args", "resources", "workingDir"})
public class CodeInterpreterTemplate {

  @JsonPropertyDescription("Labels to put on the sandbox pod.")
  private Map<String, String> labels;

  @JsonPropertyDescription("Annotations to put on the sandbox pod.")
  private Map<String, String> annotations;

  @JsonPropertyDescription("The RuntimeClass of the sandbox pod (e.g. a Kata or gVisor class).")
  private String runtimeClassName;

  @JsonPropertyDescription("The container image; a PicoD-compatible daemon.")
  private String image;

  @Pattern("^(Always|Never|IfNotPresent)$")
  @JsonPropertyDescription("Always, Never or IfNotPresent.")
  private String imagePullPolicy;

  @JsonPropertyDescription("Secrets for pulling the image.")
  private List<LocalObjectReference> imagePullSecrets;

  @JsonPropertyDescription("Environment variables of the container.")
  private List<EnvVar> environment;

  @JsonPropertyDescription("Entrypoint; the image's when left out.")
  private List<String> command;

  @JsonPropertyDescription("Arguments to the entrypoint.")
  private List<String> args;

  @JsonPropertyDescription("Compute resources of the container.")
  private ResourceRequirements resources;

  @JsonPropertyDescription("Working directory of the container.")
  private String workingDir;

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

  public String getRuntimeClassName() {
    return runtimeClassName;
  }

  public void setRuntimeClassName(String runtimeClassName) {
    this.runtimeClassName = runtimeClassName;
  }

  public String getImage() {
    return image;
  }

  public void setImage(String image) {
    this.image = image;
  }

  public String getImagePullPolicy() {
    return imagePullPolicy;
  }

  public void setImagePullPolicy(String imagePullPolicy) {
    this.imagePullPolicy = imagePullPolicy;
  }

  public List<LocalObjectReference> getImagePullSecrets() {
    return imagePullSecrets;
  }

  public void setImagePullSecrets(List<LocalObjectReference> imagePullSecrets) {
    this.imagePullSecrets = imagePullSecrets;
  }

  public List<EnvVar> getEnvironment() {
    return environment;
  }

  public void setEnvironment(List<EnvVar> environment) {
    this.environment = environment;
  }

  public List<String> getCommand() {
    return command;
  }

  public void setCommand(List<String> command) {
    this.command = command;
  }

  public List<String> getArgs() {
    return args;
  }

  public void setArgs(List<String> args) {
    this.args = args;
  }

  public ResourceRequirements getResources() {
    return resources;
  }

  public void setResources(ResourceRequirements resources) {
    this.resources = resources;
  }

  public String getWorkingDir() {
    return workingDir;
  }

  public void setWorkingDir(String workingDir) {
    this.workingDir = workingDir;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CodeInterpreterTemplate t && Objects.equals(labels, t.labels)
        && Objects.equals(annotations, t.annotations) && Objects.equals(runtimeClassName, t.runtimeClassName)
        && Objects.equals(image, t.image) && Objects.equals(imagePullPolicy, t.imagePullPolicy)
        && Objects.equals(imagePullSecrets, t.imagePullSecrets) && Objects.equals(environment, t.environment)
        && Objects.equals(command, t.command) && Objects.equals(args, t.args)
        && Objects.equals(resources, t.resources) && Objects.equals(workingDir, t.workingDir);
  }

  @Override
  public int hashCode() {
    return Objects.hash(labels, annotations, runtimeClassName, image, imagePullPolicy, imagePullSecrets, environment,
        command, args, resources, workingDir);
  }

  @Override
  public String toString() {
    return "CodeInterpreterTemplate{image=" + image + ", command=" + command + ", args=" + args + ", environment="
        + environment + ", workingDir=" + workingDir + ", runtimeClassName=" + runtimeClassName + ", resources="
        + resources + "}";
  }
}
