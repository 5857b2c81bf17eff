package io.agentcube.sandboxd;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/** RSA key pairs and RS256 tokens made the way the proxy makes them (JDK crypto only). */
final class TestTokens {

  private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

  private TestTokens() {}

  /** One key pair for every test server in this JVM (RSA generation is slow on a busy box). */
  static KeyPair shared() {
    return Shared.KEYS;
  }

  private static final class Shared {
    static final KeyPair KEYS = newKeyPair();
  }

  static KeyPair newKeyPair() {
    try {
      KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
      gen.initialize(2048);
      return gen.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** PEM SubjectPublicKeyInfo, as the proxy puts it into PICOD_AUTH_PUBLIC_KEY. */
  static String pem(PublicKey key) {
    String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(key.getEncoded());
    return "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n";
  }

  /** The claims the router sends: iss, session_id, iat now, exp in five minutes. */
  static Map<String, Object> claims(String sessionId, Instant now) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("iss", "agentcube-router");
    c.put("session_id", sessionId);
    c.put("iat", now.getEpochSecond());
    c.put("exp", now.plusSeconds(300).getEpochSecond());
    return c;
  }

  static String token(PrivateKey key, String sessionId) {
    return sign(key, claims(sessionId, Instant.now()));
  }

  /** A host's session token: the router's claims plus {@code sandbox_id}. */
  static String token(PrivateKey key, String sessionId, String sandboxId) {
    Map<String, Object> c = claims(sessionId, Instant.now());
    c.put("sandbox_id", sandboxId);
    return sign(key, c);
  }

  /** A host admin token: iss, aud agentcube-sandbox-host, iat, exp; no session. */
  static String adminToken(PrivateKey key) {
    Instant now = Instant.now();
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("iss", "agentcube-router");
    c.put("aud", SandboxdOptions.HOST_AUDIENCE);
    c.put("iat", now.getEpochSecond());
    c.put("exp", now.plusSeconds(300).getEpochSecond());
    return sign(key, c);
  }

  static String sign(PrivateKey key, Map<String, Object> claims) {
    return sign(key, Map.of("alg", "RS256", "typ", "JWT"), claims);
  }

  static String sign(PrivateKey key, Map<String, Object> header, Map<String, Object> claims) {
    String signingInput = b64(Json.write(header)) + "." + b64(Json.write(claims));
    try {
      Signature s = Signature.getInstance("SHA256withRSA");
      s.initSign(key);
      s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
      return signingInput + "." + B64URL.encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An HS256 token whose HMAC key is the ASCII text {@code key} (the proxy's host tokens). */
  static String hmac(String key, Map<String, Object> header, Map<String, Object> claims) {
    String signingInput = b64(Json.write(header)) + "." + b64(Json.write(claims));
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
      return signingInput + "." + B64URL.encodeToString(
          mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String b64(byte[] bytes) {
    return B64URL.encodeToString(bytes);
  }
}
