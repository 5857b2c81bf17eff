package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Token rules, against a fixed clock. */
class TokenVerifierTest {

  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static KeyPair keys;
  static TokenVerifier verifier;

  @BeforeAll
  static void keys() {
    keys = TestTokens.newKeyPair();
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    verifier = TokenVerifier.create(TestTokens.pem(keys.getPublic()), clock);
  }

  static Map<String, Object> claims() {
    return new LinkedHashMap<>(TestTokens.claims("s-1", NOW));
  }

  static String bearer(Map<String, Object> claims) {
    return "Bearer " + TestTokens.sign(keys.getPrivate(), claims);
  }

  static void assertRejected(TokenVerifier v, String header, String reason) {
    assertThatThrownBy(() -> v.verifySession(header))
        .isInstanceOfSatisfying(SandboxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
          assertThat(e.getMessage()).contains(reason);
        });
  }

  @Test
  void verify_validToken_returnsClaims() {
    TokenVerifier.Claims c = verifier.verifySession(bearer(claims()));

    assertThat(c.sessionId()).isEqualTo("s-1");
    assertThat(c.expiresAt()).isEqualTo(NOW.plusSeconds(300));
  }

  @Test
  void verify_expiredBeyondLeeway_rejected() {
    Map<String, Object> c = claims();
    c.put("exp", NOW.minusSeconds(61).getEpochSecond());

    assertRejected(verifier, bearer(c), "expired");
  }

  @Test
  void verify_expiredWithinLeeway_accepted() {
    Map<String, Object> c = claims();
    c.put("exp", NOW.minusSeconds(30).getEpochSecond());

    assertThat(verifier.verifySession(bearer(c)).sessionId()).isEqualTo("s-1");
  }

  @Test
  void verify_missingOrBadClaims_rejected() {
    Map<String, Object> noExp = claims();
    noExp.remove("exp");
    Map<String, Object> noIat = claims();
    noIat.remove("iat");
    Map<String, Object> future = claims();
    future.put("iat", NOW.plusSeconds(3600).getEpochSecond());
    Map<String, Object> notYet = claims();
    notYet.put("nbf", NOW.plusSeconds(3600).getEpochSecond());
    Map<String, Object> wrongIssuer = claims();
    wrongIssuer.put("iss", "someone");
    Map<String, Object> noSession = claims();
    noSession.remove("session_id");
    Map<String, Object> textExp = claims();
    textExp.put("exp", "tomorrow");

    assertRejected(verifier, bearer(noExp), "missing exp");
    assertRejected(verifier, bearer(noIat), "missing iat");
    assertRejected(verifier, bearer(future), "future");
    assertRejected(verifier, bearer(notYet), "not valid yet");
    assertRejected(verifier, bearer(wrongIssuer), "issuer");
    assertRejected(verifier, bearer(noSession), "session_id");
    assertRejected(verifier, bearer(textExp), "not a number");
  }

  @Test
  void admit_otherSession_rejectedOnlyWhenSessionKnown() {
    SessionPin known = new SessionPin("s-1");
    SessionPin unknown = new SessionPin(null);

    assertThatThrownBy(() -> known.admit("s-2"))
        .isInstanceOfSatisfying(SandboxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
          assertThat(e.getMessage()).contains("another session");
        });
    unknown.admit("s-2");
    assertThat(unknown.session()).isEqualTo("s-2");
  }

  @Test
  void admit_noConfiguredSession_pinsTheFirstSessionItSees() {
    SessionPin pin = new SessionPin(null);

    pin.admit("s-first");
    pin.admit("s-first");

    assertThatThrownBy(() -> pin.admit("s-second")).hasMessageContaining("another session");
    assertThat(pin.session()).isEqualTo("s-first");
  }

  @Test
  void verifySession_carriesSandboxIdAndRefusesAdminTokens() {
    Map<String, Object> withSandbox = claims();
    withSandbox.put("sandbox_id", "sbx-1");
    Map<String, Object> admin = claims();
    admin.put("aud", SandboxdOptions.HOST_AUDIENCE);
    Map<String, Object> adminInList = claims();
    adminInList.put("aud", java.util.List.of("x", SandboxdOptions.HOST_AUDIENCE));
    Map<String, Object> badSandbox = claims();
    badSandbox.put("sandbox_id", 7);

    assertThat(verifier.verifySession(bearer(withSandbox)).sandboxId()).isEqualTo("sbx-1");
    assertThat(verifier.verifySession(bearer(claims())).sandboxId()).isNull();
    assertRejected(verifier, bearer(admin), "admin");
    assertRejected(verifier, bearer(adminInList), "admin");
    assertRejected(verifier, bearer(badSandbox), "sandbox_id");
  }

  @Test
  void verifyAdmin_needsTheHostAudienceAndNoSession() {
    Map<String, Object> admin = new LinkedHashMap<>();
    admin.put("iss", "agentcube-router");
    admin.put("aud", SandboxdOptions.HOST_AUDIENCE);
    admin.put("iat", NOW.getEpochSecond());
    admin.put("exp", NOW.plusSeconds(300).getEpochSecond());
    Map<String, Object> expired = new LinkedHashMap<>(admin);
    expired.put("exp", NOW.minusSeconds(3600).getEpochSecond());
    Map<String, Object> inList = new LinkedHashMap<>(admin);
    inList.put("aud", java.util.List.of(SandboxdOptions.HOST_AUDIENCE));

    assertThat(verifier.verifyAdmin(bearer(admin)).sessionId()).isNull();
    assertThatThrownBy(() -> verifier.verifyAdmin(bearer(claims())))
        .hasMessageContaining("audience");
    assertThatThrownBy(() -> verifier.verifyAdmin(bearer(inList))).hasMessageContaining("audience");
    assertThatThrownBy(() -> verifier.verifyAdmin(bearer(expired))).hasMessageContaining("expired");
    assertThatThrownBy(() -> verifier.verifyAdmin("Bearer " + TestTokens.sign(
        TestTokens.newKeyPair().getPrivate(), admin))).hasMessageContaining("signature");
  }

  @Test
  void verify_otherAlgorithmsAndTampering_rejected() {
    String good = TestTokens.sign(keys.getPrivate(), claims());
    String[] parts = good.split("\\.");
    String hs256 = TestTokens.sign(keys.getPrivate(), Map.of("alg", "HS256"), claims());
    Map<String, Object> elevated = claims();
    elevated.put("session_id", "s-1-admin");
    String swappedClaims = parts[0] + "." + TestTokens.b64(Json.write(elevated)) + "." + parts[2];

    assertRejected(verifier, "Bearer " + hs256, "RS256");
    assertRejected(verifier, "Bearer " + parts[0] + "." + parts[1] + ".", "not a signed JWT");
    assertRejected(verifier, "Bearer " + swappedClaims, "signature");
    assertRejected(verifier, "Bearer " + parts[0] + "." + parts[1] + ".AAAA", "signature");
    assertRejected(verifier, "Bearer " + parts[0] + "." + parts[1] + ".!!!", "base64url");
  }

  @Test
  void verify_badHeader_rejected() {
    assertRejected(verifier, null, "missing");
    assertRejected(verifier, "", "missing");
    assertRejected(verifier, "Bearer", "format");
    assertRejected(verifier, "Token abc", "format");
    assertRejected(verifier, "Bearer a.b", "not a signed JWT");
    assertRejected(verifier, "Bearer a.b.c.d", "not a signed JWT");
  }

  @Test
  void create_badKey_failsNamingTheVariable() {
    Clock clock = Clock.systemUTC();
    assertThatThrownBy(() -> TokenVerifier.create("not a pem", clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PICOD_AUTH_PUBLIC_KEY");
    assertThatThrownBy(() -> TokenVerifier.create(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PICOD_AUTH_PUBLIC_KEY");
  }

  @Test
  void create_pemWithEscapedNewlines_accepted() {
    String escaped = TestTokens.pem(keys.getPublic()).replace("\n", "\\n");

    TokenVerifier v = TokenVerifier.create(escaped, Clock.fixed(NOW, ZoneOffset.UTC));

    assertThat(v.verifySession(bearer(claims())).sessionId()).isEqualTo("s-1");
  }
}
