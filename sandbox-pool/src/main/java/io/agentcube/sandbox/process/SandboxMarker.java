package io.agentcube.sandbox.process;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.sandbox.DefinitionCodec;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The file in each sandbox directory that says who started it and what it serves, so that a proxy
 * starting after a crash or an upgrade can tell its own leftovers (owner dead) from another live
 * proxy's sandboxes (owner alive), and re-adopt the ones bound to a session.
 *
 * <p>It holds the owner (pid and start time), the sandbox process (pid and start time: a pid is
 * only trusted together with its start time, so a recycled pid is never killed or adopted), the
 * sandbox's id, name and ports, what of its runtime version serving needs (ref, version, hash,
 * target ports, timeouts, auth mode; not the template: a restored sandbox is never started
 * again), and, once bound, the session's id, creation time, last recorded activity and owner
 * (the authenticated subject that created it, when inbound authentication is on).
 *
 * <p>Written atomically (a temporary file renamed over it), so a crash mid-write leaves the old
 * marker. JSON; blocking I/O, called on worker threads.
 */
record SandboxMarker(long ownerPid, Instant ownerStart, long pid, Instant start, String sandboxId,
    String name, RuntimeDefinition definition, List<Integer> ports, String sessionId,
    Instant sessionCreated, Instant lastActivity, String sessionOwner) {

  static final String FILE = ".agentcube-sandbox";

  /** A marker owned by this process for a sandbox not spawned yet. */
  static SandboxMarker owned(String sandboxId, String name, RuntimeDefinition definition,
      List<Integer> ports) {
    ProcessHandle me = ProcessHandle.current();
    return new SandboxMarker(me.pid(), startOf(me), -1, null, sandboxId, name, definition,
        List.copyOf(ports), null, null, null, null);
  }

  SandboxMarker withProcess(ProcessHandle p) {
    return new SandboxMarker(ownerPid, ownerStart, p.pid(), startOf(p), sandboxId, name,
        definition, ports, sessionId, sessionCreated, lastActivity, sessionOwner);
  }

  SandboxMarker withSession(String id, Instant created, String owner) {
    return new SandboxMarker(ownerPid, ownerStart, pid, start, sandboxId, name, definition, ports,
        id, created, created, owner);
  }

  SandboxMarker withActivity(Instant at) {
    return new SandboxMarker(ownerPid, ownerStart, pid, start, sandboxId, name, definition, ports,
        sessionId, sessionCreated, at, sessionOwner);
  }

  /** This marker, now owned by the running process (an adoption). */
  SandboxMarker adopted() {
    ProcessHandle me = ProcessHandle.current();
    return new SandboxMarker(me.pid(), startOf(me), pid, start, sandboxId, name, definition, ports,
        sessionId, sessionCreated, lastActivity, sessionOwner);
  }

  void write(Path dir) throws IOException {
    JsonObject json = new JsonObject()
        .put("owner", process(ownerPid, ownerStart))
        .put("process", process(pid, start))
        .put("sandboxId", sandboxId)
        .put("name", name)
        .put("ports", new JsonArray(new ArrayList<>(ports)))
        .put("definition", DefinitionCodec.encode(definition));
    if (sessionId != null) {
      json.put("session", new JsonObject().put("id", sessionId)
          .put("createdAt", sessionCreated.toString())
          .put("lastActivity", (lastActivity == null ? sessionCreated : lastActivity).toString())
          .put("owner", sessionOwner));
    }
    Path tmp = dir.resolve(FILE + ".tmp");
    Files.writeString(tmp, json.encode());
    Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** The marker in {@code dir}; empty when there is none or it cannot be read. */
  static Optional<SandboxMarker> read(Path dir) {
    Path file = dir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      JsonObject json = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
      JsonObject owner = json.getJsonObject("owner");
      JsonObject process = json.getJsonObject("process");
      JsonObject session = json.getJsonObject("session");
      List<Integer> ports = new ArrayList<>();
      json.getJsonArray("ports", new JsonArray()).forEach(p -> ports.add(((Number) p).intValue()));
      return Optional.of(new SandboxMarker(owner.getLong("pid", -1L), instant(owner.getString("start")),
          process.getLong("pid", -1L), instant(process.getString("start")),
          json.getString("sandboxId"), json.getString("name"), DefinitionCodec.decode(json.getJsonObject("definition")),
          ports, session == null ? null : session.getString("id"),
          session == null ? null : instant(session.getString("createdAt")),
          session == null ? null : instant(session.getString("lastActivity")),
          session == null ? null : session.getString("owner")));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether another proxy that is still running owns this sandbox. A marker of this very process
   * comes from an earlier backend of it (a restart within one JVM, as tests do): a previous run.
   */
  boolean ownedByAnotherLiveProxy() {
    return ownerPid != ProcessHandle.current().pid() && matches(ownerPid, ownerStart).isPresent();
  }

  /** The sandbox process, if it is still the same process. */
  Optional<ProcessHandle> process() {
    return matches(pid, start);
  }

  private static JsonObject process(long pid, Instant start) {
    return new JsonObject().put("pid", pid).put("start", start == null ? null : start.toString());
  }

  private static Optional<ProcessHandle> matches(long pid, Instant start) {
    if (pid <= 0) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(h -> start == null || startOf(h) == null || start.equals(startOf(h)));
  }

  private static Instant startOf(ProcessHandle h) {
    return h.info().startInstant().orElse(null);
  }

  private static Instant instant(String s) {
    return s == null || s.isEmpty() ? null : Instant.parse(s);
  }
}
