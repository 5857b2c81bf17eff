package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.assertError;
import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bearer-token checks on every endpoint but /health, over real HTTP. */
class AuthApiTest {

  @TempDir static Path workspace;
  static TestServer server;
  static TestClient anonymous;

  @BeforeAll
  static void start() {
    server = TestServer.start(workspace);
    anonymous = new TestClient(server.server.port());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static TestClient with(String token) {
    return new TestClient(server.server.port()).token(token);
  }

  @Test
  void health_withoutToken_returns200() {
    TestClient.Response r = anonymous.get("/health");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json()).containsEntry("status", "ok").containsKeys("service", "version", "uptime");
  }

  @Test
  void api_validToken_accepted() {
    assertThat(server.authorized().execute(cmd("true")).status()).isEqualTo(200);
  }

  @Test
  void api_missingToken_returns401OnEveryEndpoint() {
    assertError(anonymous.execute(cmd("true")), 401, "UNAUTHORIZED");
    assertError(anonymous.get("/api/files?path=."), 401, "UNAUTHORIZED");
    assertError(anonymous.get("/api/files/x.txt"), 401, "UNAUTHORIZED");
    assertError(anonymous.postJson("/api/files", Map.of("path", "x", "content", "")), 401,
        "UNAUTHORIZED");
    assertError(anonymous.get("/no/such/path"), 401, "UNAUTHORIZED");
  }

  @Test
  void api_expiredToken_returns401() {
    Instant past = Instant.now().minusSeconds(3600);
    String token = TestTokens.sign(server.keys.getPrivate(), TestTokens.claims(TestServer.SESSION, past));

    TestClient.Response r = with(token).execute(cmd("true"));

    assertError(r, 401, "UNAUTHORIZED");
    assertThat((String) r.json().get("error")).contains("expired");
  }

  @Test
  void api_tokenSignedByAnotherKey_returns401() {
    KeyPair forger = TestTokens.newKeyPair();

    assertError(with(TestTokens.token(forger.getPrivate(), TestServer.SESSION)).execute(cmd("true")),
        401, "UNAUTHORIZED");
  }

  @Test
  void api_otherSessionsToken_returns401() {
    String token = TestTokens.token(server.keys.getPrivate(), "someone-else");

    TestClient.Response r = with(token).execute(cmd("true"));

    assertError(r, 401, "UNAUTHORIZED");
    assertThat((String) r.json().get("error")).contains("another session");
  }

  @Test
  void api_malformedOrUnsignedToken_returns401() {
    Map<String, Object> claims = TestTokens.claims(TestServer.SESSION, Instant.now());
    String unsigned = TestTokens.b64("{\"alg\":\"none\"}".getBytes()) + "."
        + TestTokens.b64(Json.write(claims)) + ".";

    assertError(with("not-a-jwt").execute(cmd("true")), 401, "UNAUTHORIZED");
    assertError(with(unsigned).execute(cmd("true")), 401, "UNAUTHORIZED");
    TestClient.Response basic = anonymous.send(anonymous.request("/api/files?path=.")
        .header("Authorization", "Basic dXNlcjpwYXNz").GET().build());
    assertError(basic, 401, "UNAUTHORIZED");
  }

  @Test
  void unknownPath_withToken_returns404Json() {
    assertError(server.authorized().get("/api/nothing"), 404, "NOT_FOUND");
  }
}
