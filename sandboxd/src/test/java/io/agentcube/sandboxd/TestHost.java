package io.agentcube.sandboxd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An in-process host-mode sandboxd on 127.0.0.1, port 0, isolation auto (jailed where the
 * machine allows it). Its workspaces live in a fresh directory under java.io.tmpdir whose
 * parents sandbox uids can pass through (a JUnit @TempDir is 0700). Close it after use.
 */
final class TestHost implements AutoCloseable {

  /**
   * Hosts of this JVM get disjoint uid ranges (two hosts may run at once in a test), far from
   * the default 200000 and the process backend's 300000 (a delete kills whatever its uid runs).
   */
  private static final java.util.concurrent.atomic.AtomicInteger hosts =
      new java.util.concurrent.atomic.AtomicInteger();

  final Path base;
  final Path workspaces;
  final SandboxdServer server;
  private final java.security.KeyPair keys = TestTokens.shared();

  private TestHost(Path base, Path workspaces, SandboxdServer server) {
    this.base = base;
    this.workspaces = workspaces;
    this.server = server;
  }

  static TestHost start(UnaryOperator<SandboxdOptions> customize) {
    return start(customize, "rwx--x--x");
  }

  /** @param basePermissions of the directory holding {@code workspaces/} */
  static TestHost start(UnaryOperator<SandboxdOptions> customize, String basePermissions) {
    try {
      Path base = Files.createTempDirectory("sandboxd-host-test-");
      Files.setPosixFilePermissions(base, PosixFilePermissions.fromString(basePermissions));
      Path workspaces = base.resolve("workspaces");
      SandboxdOptions options = new SandboxdOptions()
          .mode(SandboxdOptions.Mode.HOST)
          .workspaces(workspaces)
          .host("127.0.0.1")
          .port(0)
          .maxSandboxes(4096)
          .uidBase(600_000 + 5_000 * hosts.getAndIncrement())
          .publicKeyPem(TestTokens.pem(TestTokens.shared().getPublic()));
      return new TestHost(base, workspaces, SandboxdServer.start(customize.apply(options)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static TestHost start() {
    return start(o -> o);
  }

  TestClient anonymous() {
    return new TestClient(server.port());
  }

  /** A client with the router's admin token. */
  TestClient admin() {
    return new TestClient(server.port()).token(TestTokens.adminToken(keys.getPrivate()));
  }

  /** A client with a session token for {@code sandboxId}. */
  TestClient session(String sessionId, String sandboxId) {
    return new TestClient(server.port())
        .token(TestTokens.token(keys.getPrivate(), sessionId, sandboxId));
  }

  /** Creates a sandbox (201 expected) and returns a client of session {@code "s-" + id} for it. */
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

  TestClient sandbox(String id) {
    return sandbox(id, false);
  }

  @Override
  public void close() {
    server.close();
    try (Stream<Path> walk = Files.walk(base)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
