package io.agentcube.testenv;

import io.fabric8.kubernetes.api.model.Container;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The pod status the test kubelet writes, as a JSON merge patch of the status subresource. It
 * always carries every field the kubelet owns (explicit nulls clear a stale reason or message;
 * lists replace the stored ones whole), so no resourceVersion is needed.
 */
final class PodStatusPatch {

  static final String HOST_IP = "127.0.0.1";

  private PodStatusPatch() {
  }

  /** The patch for {@code local} in {@code phase} ("Running" or "Failed"). */
  static String of(LocalPod local, String phase, String reason, String message, Instant now) {
    String ts = ts(local.startTime);
    String readyTs = ts(local.readySince);
    String ready = local.ready ? "True" : "False";
    Container container = local.pod.getSpec().getContainers().get(0);
    JsonObject state;
    if ("Running".equals(phase)) {
      state = new JsonObject().put("running", new JsonObject().put("startedAt", ts(local.containerStart)));
    } else {
      state = new JsonObject().put("terminated", new JsonObject()
          .put("exitCode", local.exitCode == null ? 128 : local.exitCode)
          .put("reason", reason)
          .put("message", message)
          .put("startedAt", ts(local.containerStart == null ? local.startTime : local.containerStart))
          .put("finishedAt", ts(local.finishedAt == null ? now : local.finishedAt)));
    }
    JsonObject status = new JsonObject()
        .put("phase", phase)
        .put("reason", reason)
        .put("message", message)
        .put("hostIP", HOST_IP)
        .put("hostIPs", new JsonArray().add(new JsonObject().put("ip", HOST_IP)))
        .put("podIP", local.ip)
        .put("podIPs", new JsonArray().add(new JsonObject().put("ip", local.ip)))
        .put("startTime", ts)
        .put("conditions", new JsonArray()
            .add(condition("PodScheduled", "True", ts))
            .add(condition("Initialized", "True", ts))
            .add(condition("ContainersReady", ready, readyTs))
            .add(condition("Ready", ready, readyTs)))
        .put("containerStatuses", new JsonArray().add(new JsonObject()
            .put("name", container.getName())
            .put("image", container.getImage())
            .put("imageID", "")
            .put("containerID", local.process == null ? null : "testkubelet://" + local.process.pid())
            .put("ready", local.ready)
            .put("started", "Running".equals(phase))
            .put("restartCount", local.restarts)
            .put("state", state)));
    return new JsonObject().put("status", status).encode();
  }

  private static JsonObject condition(String type, String status, String since) {
    return new JsonObject().put("type", type).put("status", status).put("lastTransitionTime", since);
  }

  private static String ts(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
