package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The HS256 verifier of a sandbox host started by the proxy ({@code AGENTCUBE_HOST_TOKEN_KEY}):
 * one attack per test line, against a fixed clock.
 */
class HostTokenVerifierTest {

  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static final String KEY = "k".repeat(TokenVerifier.MIN_HMAC_KEY_CHARS);
  static final Map<String, Object> HS256 = Map.of("alg", "HS256", "typ", "JWT");
  final TokenVerifier verifier = TokenVerifier.hmac(KEY, Clock.fixed(NOW, ZoneOffset.UTC));

  static Map<String, Object> claims() {
    Map<String, Object> c = new LinkedHashMap<>(TestTokens.claims("s-1", NOW));
    c.put("sandbox_id", "sb-1");
    return c;
  }

  @Test
  void hs256UnderTheKey_accepted_withSessionAndSandbox() {
    TokenVerifier.Claims c = verifier.verifySession("Bearer " + TestTokens.hmac(KEY, HS256, claims()));

    assertThat(c.sessionId()).isEqualTo("s-1");
    assertThat(c.sandboxId()).isEqualTo("sb-1");
  }

  @Test
  void forgedOrOtherTokens_rejected() {
    KeyPair rsa = TestTokens.newKeyPair();
    String good = TestTokens.hmac(KEY, HS256, claims());
    String[] parts = good.split("\\.");
    Map<String, Object> other = claims();
    other.put("sandbox_id", "sb-2");

    // an RS256 token, even valid under some key: a host with a shared key knows no public key
    TokenVerifierTest.assertRejected(verifier,
        "Bearer " + TestTokens.sign(rsa.getPrivate(), claims()), "HS256");
    // the right algorithm under another key
    TokenVerifierTest.assertRejected(verifier,
        "Bearer " + TestTokens.hmac(KEY + "x", HS256, claims()), "signature");
    // alg none, unsigned
    TokenVerifierTest.assertRejected(verifier,
        "Bearer " + TestTokens.b64(Json.write(Map.of("alg", "none"))) + "." + parts[1] + ".AAAA", "HS256");
    // another sandbox's claims under the original signature
    TokenVerifierTest.assertRejected(verifier,
        "Bearer " + parts[0] + "." + TestTokens.b64(Json.write(other)) + "." + parts[2], "signature");
    // a truncated and an empty-but-present signature
    TokenVerifierTest.assertRejected(verifier,
        "Bearer " + parts[0] + "." + parts[1] + "." + parts[2].substring(0, 20), "signature");
    TokenVerifierTest.assertRejected(verifier, "Bearer " + parts[0] + "." + parts[1] + ".", "not a signed JWT");
    // the right key, expired beyond the leeway
    Map<String, Object> expired = claims();
    expired.put("exp", NOW.minusSeconds(61).getEpochSecond());
    TokenVerifierTest.assertRejected(verifier, "Bearer " + TestTokens.hmac(KEY, HS256, expired), "expired");
  }

  @Test
  void adminAndSessionTokens_stayApart() {
    Map<String, Object> admin = new LinkedHashMap<>();
    admin.put("iss", "agentcube-router");
    admin.put("aud", SandboxdOptions.HOST_AUDIENCE);
    admin.put("iat", NOW.getEpochSecond());
    admin.put("exp", NOW.plusSeconds(300).getEpochSecond());
    String adminToken = "Bearer " + TestTokens.hmac(KEY, HS256, admin);

    assertThat(verifier.verifyAdmin(adminToken).sessionId()).isNull();
    TokenVerifierTest.assertRejected(verifier, adminToken, "admin token");
    assertThatThrownBy(() -> verifier.verifyAdmin("Bearer " + TestTokens.hmac(KEY, HS256, claims())))
        .hasMessageContaining("audience");
  }

  @Test
  void weakKeys_refusedAtStart() {
    Clock clock = Clock.systemUTC();
    assertThatThrownBy(() -> TokenVerifier.hmac("short", clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("AGENTCUBE_HOST_TOKEN_KEY");
    assertThatThrownBy(() -> TokenVerifier.hmac(null, clock))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenVerifier.hmac("é".repeat(50), clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ASCII");
  }

  @Test
  void options_hostKeyAloneIsEnoughAuth_andNeverReachesCommands() {
    SandboxdOptions o = SandboxdOptions.parse(new String[] {"--workspace", "/tmp"},
        Map.of("AGENTCUBE_HOST_TOKEN_KEY", KEY));

    assertThat(o.validate().hostTokenKey()).isEqualTo(KEY);
    assertThat(SingleWorkspace.sandboxdOwn("AGENTCUBE_HOST_TOKEN_KEY")).isTrue();
  }
}
