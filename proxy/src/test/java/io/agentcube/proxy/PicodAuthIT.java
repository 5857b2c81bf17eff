package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signed calls to sandboxes: {@code authMode: picod} gets a per-session RS256 JWT, {@code none} nothing. */
class PicodAuthIT {

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  @BeforeAll
  static void start() throws Exception {
    // A code interpreter whose sandbox is the echo agent, so that we see what reached it.
    TestRuntimes.write(tmp.resolve("runtimes"), "ci.yaml", """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata:
          name: ci-echo
        spec:
          template:
            command: ["python3", "%s"]
          warmPoolSize: 1
        """.formatted(TestRuntimes.ECHO_AGENT));
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  private static final String CI = "/v1/namespaces/default/code-interpreters/ci-echo/invocations";

  private HttpResponse<String> call(String path, String sessionId, String authorization) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(f.uri(path));
    if (sessionId != null) {
      r.header(ProxyFixture.SESSION, sessionId);
    }
    if (authorization != null) {
      r.header("Authorization", authorization);
    }
    return f.http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void picod_everyForwardCarriesTheSessionsTokenReplacingTheClients() throws Exception {
    HttpResponse<String> first = call(CI + "/api/execute", null, "Bearer client-token");
    String id = sessionId(first);
    String auth = json(first, 200).getJsonObject("headers").getString("authorization");

    assertThat(auth).startsWith("Bearer ").isNotEqualTo("Bearer client-token");
    JsonObject claims = verify(auth.substring("Bearer ".length()), f.proxy.tokens().publicKeyPem());
    assertThat(claims.getString("iss")).isEqualTo("agentcube-router");
    assertThat(claims.getString("session_id")).isEqualTo(id);
    assertThat(claims.getLong("exp") - claims.getLong("iat")).isEqualTo(3600);

    String again = json(call(CI + "/x", id, null), 200).getJsonObject("headers").getString("authorization");
    assertThat(again).as("cached per session, not re-signed per request").isEqualTo(auth);

    String other = json(call(CI + "/x", null, null), 200).getJsonObject("headers").getString("authorization");
    assertThat(verify(other.substring(7), f.proxy.tokens().publicKeyPem()).getString("session_id"))
        .isNotEqualTo(id);
  }

  @Test
  void picod_sandboxGetsThePublicKey() throws Exception {
    JsonObject env = json(call(CI + "/env?name=PICOD_AUTH_PUBLIC_KEY", null, null), 200);
    assertThat(env.getString("value")).isEqualTo(f.proxy.tokens().publicKeyPem());
  }

  @Test
  void none_clientAuthorizationPassesUntouched() throws Exception {
    HttpResponse<String> r = call(ProxyFixture.invoke("echo", "/"), null, "Bearer mine");
    assertThat(json(r, 200).getJsonObject("headers").getString("authorization")).isEqualTo("Bearer mine");
    JsonObject env = json(call(ProxyFixture.invoke("echo", "/env?name=PICOD_AUTH_PUBLIC_KEY"), sessionId(r), null), 200);
    assertThat(env.getValue("value")).isNull();
  }

  /** Checks an RS256 JWT's signature with the PEM public key and returns its claims. */
  static JsonObject verify(String jwt, String publicKeyPem) throws Exception {
    String[] parts = jwt.split("\\.");
    assertThat(parts).hasSize(3);
    JsonObject header = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8));
    assertThat(header.getString("alg")).isEqualTo("RS256");
    String base64 = publicKeyPem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
    Signature sig = Signature.getInstance("SHA256withRSA");
    sig.initVerify(key);
    sig.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
    assertThat(sig.verify(Base64.getUrlDecoder().decode(parts[2]))).as("signature valid").isTrue();
    return new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
  }
}
