package io.agentcube.sandboxd;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The real jar ({@link SandboxdJarIT#JAR}) started as a host, the way the proxy starts it: its
 * own process, the key in {@code PICOD_AUTH_PUBLIC_KEY}, a canary variable in its environment
 * that no command may see, workspaces in a fresh directory sandbox uids can pass through.
 */
final class HostProcess implements AutoCloseable {

  /** A variable only the daemon has; commands must never see it. */
  static final String CANARY = "HOST_CANARY_SECRET"; // a name single mode would pass on
  static final String CANARY_VALUE = "daemon-secret-" + System.nanoTime();
  /** Hosts of this JVM get disjoint uid ranges from here on (TestHost's are below). */
  static final int UID_BASE = 800_000;
  private static final AtomicInteger hosts = new AtomicInteger();

  final Path base;
  final Path workspaces;
  final Process process;
  final int port;
  final KeyPair keys;

  private HostProcess(Path base, Path workspaces, Process process, int port, KeyPair keys) {
    this.base = base;
    this.workspaces = workspaces;
    this.process = process;
    this.port = port;
    this.keys = keys;
  }

  /** A fresh base directory for {@link #startIn}; passable by sandbox uids. */
  static Path newBase() throws IOException {
    Path base = Files.createTempDirectory("sandboxd-host-it-");
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
    return base;
  }

  static HostProcess start(String... extraArgs) throws IOException {
    return startIn(newBase(), extraArgs);
  }

  /** A host on {@code base/workspaces}; fails (IllegalStateException) if it does not listen. */
  static HostProcess startIn(Path base, String... extraArgs) throws IOException {
    Path workspaces = base.resolve("workspaces");
    KeyPair keys = TestTokens.shared();
    ProcessBuilder pb = command(workspaces, extraArgs);
    Process p = pb.start();
    return new HostProcess(base, workspaces, p, port(p), keys);
  }

  /** The command line and environment of a host on {@code workspaces}. */
  static ProcessBuilder command(Path workspaces, String... extraArgs) {
    KeyPair keys = TestTokens.shared();
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC", "-jar", SandboxdJarIT.JAR.toAbsolutePath().toString(),
        "--mode", "host", "--workspaces", workspaces.toString(), "--host", "127.0.0.1",
        "--port", "0", "--uid-base", Integer.toString(UID_BASE + 5_000 * hosts.getAndIncrement()),
        "--max-sandboxes", "4096"));
    cmd.addAll(List.of(extraArgs));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("PICOD_AUTH_PUBLIC_KEY", TestTokens.pem(keys.getPublic()));
    pb.environment().put(CANARY, CANARY_VALUE);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    return pb;
  }

  /** Reads stdout until the "listening" line (blocking; the JUnit timeout bounds it). */
  private static int port(Process p) throws IOException {
    BufferedReader out = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      if (line.startsWith("sandboxd listening on port ")) {
        return Integer.parseInt(line.substring("sandboxd listening on port ".length()).strip());
      }
    }
    throw new IllegalStateException("sandboxd exited before listening, status "
        + p.onExit().join().exitValue());
  }

  TestClient admin() {
    return new TestClient(port).token(TestTokens.adminToken(keys.getPrivate()));
  }

  TestClient session(String sessionId, String sandboxId) {
    return new TestClient(port).token(TestTokens.token(keys.getPrivate(), sessionId, sandboxId));
  }

  /** Creates sandbox {@code id} and returns a client of session {@code "s-" + id} for it. */
  TestClient sandbox(String id, boolean network) {
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("id", id);
    req.put("network", network);
    TestClient.Response r = admin().postJson("/host/v1/sandboxes", req);
    if (r.status() != 201) {
      throw new AssertionError("create " + id + ": " + r.status() + " " + r.text());
    }
    return session("s-" + id, id);
  }

  /** The uid sandbox {@code id}'s workspace (and so its commands) belongs to. */
  int uid(String id) throws IOException {
    return (Integer) Files.getAttribute(workspaces.resolve(id), "unix:uid");
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      process.destroy(); // SIGTERM: the host deletes its sandboxes
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
    try (Stream<Path> walk = Files.walk(base)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
