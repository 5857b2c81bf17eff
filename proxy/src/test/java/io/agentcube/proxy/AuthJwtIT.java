package io.agentcube.proxy;

import static io.agentcube.proxy.AuthIT.assertUnauthenticated;
import static io.agentcube.proxy.AuthIT.call;
import static io.agentcube.proxy.AuthIT.ids;
import static io.agentcube.proxy.ProxyFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth.mode: jwt} against a real JWKS URL (a JDK HTTP server on port 0) and against a PEM
 * public key, with one test per forged or unfit token.
 */
class AuthJwtIT {

  static final String ISSUER = "https://idp.example";
  static final String AUDIENCE = "agentcube";

  @TempDir
  static Path tmp;
  static ProxyFixture jwks;
  static ProxyFixture pem;
  static HttpServer idp;
  static final AtomicInteger fetches = new AtomicInteger();
  static final AtomicReference<JsonArray> published = new AtomicReference<>();
  static KeyPair key;
  static KeyPair other;

  @BeforeAll
  static void start() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    key = g.generateKeyPair();
    other = g.generateKeyPair();
    published.set(new JsonArray().add(jwk((RSAPublicKey) key.getPublic(), "k1"))
        .add(new JsonObject().put("kty", "oct").put("kid", "sym").put("k", "c2VjcmV0")));
    idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    idp.createContext("/jwks", ex -> {
      fetches.incrementAndGet();
      byte[] body = new JsonObject().put("keys", published.get()).encode().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("content-type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    idp.start();
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    Map<String, Object> common = Map.of("auth.mode", "jwt", "auth.jwt.issuer", ISSUER,
        "auth.jwt.audience", AUDIENCE, "auth.jwt.leeway", "5s", "auth.jwt.rolesClaim", "realm.roles");
    jwks = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false, with(common,
        "auth.jwt.jwksUrl", "http://127.0.0.1:" + idp.getAddress().getPort() + "/jwks"));
    Path pemFile = Files.writeString(tmp.resolve("key.pem"), pem((RSAPublicKey) key.getPublic()));
    pem = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state-pem"), false, with(common,
        "auth.jwt.publicKeyFile", pemFile.toString()));
  }

  @AfterAll
  static void stop() throws Exception {
    jwks.close();
    pem.close();
    idp.stop(0);
  }

  private static Map<String, Object> with(Map<String, Object> m, String k, Object v) {
    Map<String, Object> out = new java.util.HashMap<>(m);
    out.put(k, v);
    return out;
  }

  // ---- minting

  static JsonObject claims(String sub) {
    long now = Instant.now().getEpochSecond();
    return new JsonObject().put("iss", ISSUER).put("aud", AUDIENCE).put("sub", sub)
        .put("iat", now).put("exp", now + 300);
  }

  static String b64(byte[] b) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  static String rs256(KeyPair k, String kid, JsonObject claims) throws Exception {
    JsonObject header = new JsonObject().put("alg", "RS256").put("typ", "JWT");
    if (kid != null) {
      header.put("kid", kid);
    }
    String input = b64(header.encode().getBytes(StandardCharsets.UTF_8)) + "."
        + b64(claims.encode().getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(k.getPrivate());
    s.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + b64(s.sign());
  }

  static JsonObject jwk(RSAPublicKey k, String kid) {
    return new JsonObject().put("kty", "RSA").put("use", "sig").put("alg", "RS256").put("kid", kid)
        .put("n", b64(unsigned(k.getModulus()))).put("e", b64(unsigned(k.getPublicExponent())));
  }

  private static byte[] unsigned(BigInteger i) {
    byte[] b = i.toByteArray();
    return b[0] == 0 ? java.util.Arrays.copyOfRange(b, 1, b.length) : b;
  }

  static String pem(RSAPublicKey k) {
    return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(k.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }

  private static HttpResponse<String> list(ProxyFixture p, String token) throws Exception {
    return call(p, "GET", "/v1/sessions", "Bearer " + token, null, null);
  }

  // ---- accepted

  @Test
  void valid_jwksAndPem_accepted_subjectOwnsItsSessions() throws Exception {
    String alice = rs256(key, "k1", claims("alice"));
    String bob = rs256(key, "k1", claims("bob"));
    String id = AuthIT.create(jwks, alice);
    assertThat(json(call(jwks, "GET", "/v1/sessions/" + id, "Bearer " + alice, null, null), 200)
        .getString("owner")).isEqualTo("alice");
    assertThat(json(call(jwks, "GET", "/v1/sessions/" + id, "Bearer " + bob, null, null), 404)
        .getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(ids(list(jwks, bob))).doesNotContain(id);
    assertThat(json(call(jwks, "DELETE", "/v1/sessions/" + id, "Bearer " + bob, null, null), 404)
        .getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(call(jwks, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + bob, id, null), 404)
        .getString("code")).isEqualTo("SESSION_NOT_FOUND");

    String admin = rs256(key, "k1", claims("ops").put("realm", new JsonObject().put("roles", new JsonArray().add("admin"))));
    assertThat(ids(list(jwks, admin))).contains(id);
    assertThat(call(jwks, "DELETE", "/v1/sessions/" + id, "Bearer " + admin, null, null).statusCode()).isEqualTo(200);

    assertThat(list(pem, rs256(key, null, claims("alice"))).statusCode()).isEqualTo(200);
  }

  @Test
  void withinLeeway_accepted() throws Exception {
    long now = Instant.now().getEpochSecond();
    assertThat(list(jwks, rs256(key, "k1", claims("alice").put("exp", now - 1))).statusCode()).isEqualTo(200);
  }

  // ---- refused: one test per attack

  @Test
  void expired_401() throws Exception {
    long now = Instant.now().getEpochSecond();
    assertUnauthenticated(list(jwks, rs256(key, "k1", claims("alice").put("iat", now - 600).put("exp", now - 60))));
    assertUnauthenticated(list(pem, rs256(key, null, claims("alice").put("iat", now - 600).put("exp", now - 60))));
  }

  @Test
  void notYetValid_401() throws Exception {
    long now = Instant.now().getEpochSecond();
    assertUnauthenticated(list(jwks, rs256(key, "k1", claims("alice").put("nbf", now + 120))));
  }

  @Test
  void wrongIssuer_401() throws Exception {
    assertUnauthenticated(list(jwks, rs256(key, "k1", claims("alice").put("iss", "https://evil.example"))));
    assertUnauthenticated(list(pem, rs256(key, null, claims("alice").put("iss", "x"))));
  }

  @Test
  void wrongAudience_401() throws Exception {
    assertUnauthenticated(list(jwks, rs256(key, "k1", claims("alice").put("aud", "someone-else"))));
    assertUnauthenticated(list(jwks, rs256(key, "k1", claims("alice").put("aud", new JsonArray().add("x").add("y")))));
  }

  @Test
  void missingSubject_401() throws Exception {
    JsonObject c = claims("alice");
    c.remove("sub");
    assertUnauthenticated(list(jwks, rs256(key, "k1", c)));
  }

  @Test
  void algNone_401() throws Exception {
    String header = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
    String body = b64(claims("alice").encode().getBytes(StandardCharsets.UTF_8));
    assertUnauthenticated(list(jwks, header + "." + body + "."));
    assertUnauthenticated(list(pem, header + "." + body + "."));
    String noneUpper = b64("{\"alg\":\"NONE\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8));
    assertUnauthenticated(list(jwks, noneUpper + "." + body + "."));
  }

  /** HS256 keyed with the public key's own bytes: the classic algorithm-confusion forgery. */
  @Test
  void hs256SignedWithThePublicKey_401() throws Exception {
    String body = b64(claims("alice").encode().getBytes(StandardCharsets.UTF_8));
    for (byte[] secret : List.of(pem((RSAPublicKey) key.getPublic()).getBytes(StandardCharsets.US_ASCII),
        key.getPublic().getEncoded())) {
      for (String kid : new String[] {"k1", null}) {
        String header = b64(new JsonObject().put("alg", "HS256").put("kid", kid).encode().getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        String sig = b64(mac.doFinal((header + "." + body).getBytes(StandardCharsets.US_ASCII)));
        assertUnauthenticated(list(jwks, header + "." + body + "." + sig));
        assertUnauthenticated(list(pem, header + "." + body + "." + sig));
      }
    }
  }

  @Test
  void symmetricKeyInTheJwks_isNeverUsed() throws Exception {
    String body = b64(claims("alice").encode().getBytes(StandardCharsets.UTF_8));
    String header = b64("{\"alg\":\"HS256\",\"kid\":\"sym\"}".getBytes(StandardCharsets.UTF_8));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec("secret".getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
    String sig = b64(mac.doFinal((header + "." + body).getBytes(StandardCharsets.US_ASCII)));
    assertUnauthenticated(list(jwks, header + "." + body + "." + sig));
  }

  @Test
  void signedByAnotherKey_401() throws Exception {
    assertUnauthenticated(list(jwks, rs256(other, "k1", claims("alice"))));
    assertUnauthenticated(list(pem, rs256(other, null, claims("alice"))));
  }

  /** An unknown kid refetches the JWKS at most once per 30 s, however many such tokens come. */
  @Test
  void unknownKid_401_jwksRefetchedAtMostOnce() throws Exception {
    int before = fetches.get();
    for (int i = 0; i < 5; i++) {
      assertUnauthenticated(list(jwks, rs256(other, "kid-" + i, claims("alice"))));
    }
    assertThat(fetches.get() - before).isLessThanOrEqualTo(1);
  }

  @Test
  void tamperedPayload_401() throws Exception {
    String good = rs256(key, "k1", claims("alice"));
    String[] parts = good.split("\\.");
    String forged = parts[0] + "." + b64(claims("root").put("realm", new JsonObject()
        .put("roles", new JsonArray().add("admin"))).encode().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    assertUnauthenticated(list(jwks, forged));
  }

  @Test
  void garbage_401() throws Exception {
    for (String t : List.of("abc", "a.b", "a.b.c", "!!!.!!!.!!!", b64("[1]".getBytes()) + ".e30.x")) {
      assertUnauthenticated(list(jwks, t));
    }
  }
}
