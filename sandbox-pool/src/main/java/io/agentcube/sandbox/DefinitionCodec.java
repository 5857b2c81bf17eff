package io.agentcube.sandbox;

import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.SandboxTemplate;
import io.agentcube.runtime.TargetPort;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What serving a sandbox needs of its runtime version, as JSON kept with the sandbox (the process
 * backend's marker file, a pod annotation): ref, version, template hash, target ports, timeouts,
 * auth mode, languages, source. Not the template: a sandbox rebuilt from it (after a restart, or
 * on another replica) is never started again. Stateless.
 */
public final class DefinitionCodec {

  private DefinitionCodec() {}

  /** {@code d} as JSON. */
  public static JsonObject encode(RuntimeDefinition d) {
    JsonArray ports = new JsonArray();
    for (TargetPort p : d.ports()) {
      ports.add(new JsonObject().put("name", p.name()).put("port", p.port())
          .put("protocol", p.protocol().name()).put("pathPrefix", p.pathPrefix()));
    }
    return new JsonObject()
        .put("kind", d.ref().kind().name())
        .put("namespace", d.ref().namespace())
        .put("name", d.ref().name())
        .put("version", d.version())
        .put("templateHash", d.templateHash())
        .put("ports", ports)
        .put("sessionTimeoutMs", d.sessionTimeout().toMillis())
        .put("maxSessionDurationMs", d.maxSessionDuration().toMillis())
        .put("authMode", d.authMode().name())
        .put("languages", new JsonArray(new ArrayList<>(d.languages())))
        .put("source", d.source());
  }

  /**
   * The definition {@link #encode} wrote; its template is empty.
   *
   * @throws RuntimeException (ClassCast, NullPointer, IllegalArgument) when {@code j} is not one
   */
  public static RuntimeDefinition decode(JsonObject j) {
    List<TargetPort> ports = new ArrayList<>();
    for (Object o : j.getJsonArray("ports")) {
      JsonObject p = (JsonObject) o;
      ports.add(new TargetPort(p.getString("name"), p.getInteger("port"),
          TargetPort.Protocol.valueOf(p.getString("protocol")), p.getString("pathPrefix")));
    }
    List<String> languages = new ArrayList<>();
    j.getJsonArray("languages", new JsonArray()).forEach(l -> languages.add((String) l));
    return new RuntimeDefinition(
        new RuntimeRef(RuntimeKind.valueOf(j.getString("kind")), j.getString("namespace"), j.getString("name")),
        j.getString("version"), j.getString("templateHash"), ports,
        new SandboxTemplate(null, List.of(), List.of(), Map.of(), null),
        Duration.ofMillis(j.getLong("sessionTimeoutMs")), Duration.ofMillis(j.getLong("maxSessionDurationMs")),
        0, AuthMode.valueOf(j.getString("authMode")), languages, j.getString("source"));
  }

}
