package io.agentcube.sandboxd;

import io.agentcube.jail.IsolationMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.function.UnaryOperator;

/** An in-process sandboxd on 127.0.0.1, port 0, auth on; close it after use. */
final class TestServer implements AutoCloseable {

  static final String SESSION = "session-under-test";

  final KeyPair keys;
  final SandboxdServer server;
  final TestClient client;

  private TestServer(KeyPair keys, SandboxdServer server) {
    this.keys = keys;
    this.server = server;
    this.client = new TestClient(server.port());
  }

  /**
   * Auth on, bound to {@link #SESSION}, isolation off; {@code customize} may change any option.
   *
   * <p>Isolation is off here because these suites check PicoD's API against host pids and
   * paths: the path without the jail, which is also what a pod without user namespaces runs.
   * The jailed paths have suites of their own ({@code SingleModeJailTest}, {@code HostIsolationIT}).
   */
  static TestServer start(Path workspace, UnaryOperator<SandboxdOptions> customize) {
    KeyPair keys = TestTokens.shared();
    SandboxdOptions options = new SandboxdOptions()
        .workspace(workspace)
        .host("127.0.0.1")
        .port(0)
        .isolation(IsolationMode.OFF)
        .publicKeyPem(TestTokens.pem(keys.getPublic()))
        .sessionId(SESSION);
    try {
      return new TestServer(keys, SandboxdServer.start(customize.apply(options)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static TestServer start(Path workspace) {
    return start(workspace, o -> o);
  }

  /** A client that sends a valid token for {@link #SESSION}. */
  TestClient authorized() {
    return new TestClient(server.port()).token(TestTokens.token(keys.getPrivate(), SESSION));
  }

  @Override
  public void close() {
    server.close();
  }
}
