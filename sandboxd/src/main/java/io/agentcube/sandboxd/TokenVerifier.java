package io.agentcube.sandboxd;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies the router's {@code Authorization: Bearer <JWT>} on every request but {@code /health}.
 *
 * <p>Accepted tokens are compact JWS with header {@code alg} exactly this verifier's one algorithm
 * (any other, including {@code none}, is refused before the signature is looked at): RS256 with a
 * valid SHA256withRSA signature under the configured public key ({@link #create}), or, for a
 * sandbox host started by the proxy, HS256 under the shared key the proxy gave it
 * ({@link #hmac}, {@code AGENTCUBE_HOST_TOKEN_KEY}); a verifier never accepts both, so a token
 * cannot pick the key it is checked with. Then claims {@code iss="agentcube-router"}, numeric
 * {@code exp} and {@code iat}. {@code exp}, {@code iat} and an optional {@code nbf} are checked
 * against the injected clock with {@link SandboxdOptions#TOKEN_LEEWAY} of tolerance.
 *
 * <p>Two kinds of token, never interchangeable:
 *
 * <ul>
 *   <li>a <b>session token</b> ({@link #verifySession}) for the PicoD routes: a non-empty string
 *       {@code session_id}, in host mode also {@code sandbox_id}, and no {@code aud} naming the
 *       host ({@value SandboxdOptions#HOST_AUDIENCE});
 *   <li>an <b>admin token</b> ({@link #verifyAdmin}) for a host's {@code /host/v1/} routes:
 *       {@code aud} exactly {@value SandboxdOptions#HOST_AUDIENCE} (a string).
 * </ul>
 *
 * <p>Which session may use a workspace is not decided here but by the workspace's
 * {@link SessionPin}.
 *
 * <p>Every failure is a 401 {@link SandboxdException} whose message says what was wrong with the
 * token, never what the token was. Immutable and thread-safe; CPU only (one RSA verify, ~0.1 ms,
 * or one HMAC, ~2 µs).
 */
final class TokenVerifier {

  /**
   * What a verified token says. {@code sessionId} and {@code sandboxId} are null when absent;
   * a session token always has a session.
   */
  record Claims(String sessionId, String sandboxId, Instant issuedAt, Instant expiresAt) {}

  private static final Base64.Decoder B64URL = Base64.getUrlDecoder();

  /** The shortest shared key accepted: 256 bits as base64url text. */
  static final int MIN_HMAC_KEY_CHARS = 43;

  /** RS256 when set; else {@link #hmacKey} (HS256). */
  private final PublicKey key;
  private final SecretKeySpec hmacKey;
  private final String algorithm;
  private final Clock clock;
  private final Duration leeway;

  private TokenVerifier(PublicKey key, SecretKeySpec hmacKey, Clock clock, Duration leeway) {
    this.key = key;
    this.hmacKey = hmacKey;
    this.algorithm = key != null ? "RS256" : "HS256";
    this.clock = clock;
    this.leeway = leeway;
  }

  /**
   * @param publicKeyPem an RSA public key, PEM {@code -----BEGIN PUBLIC KEY-----}
   *     (SubjectPublicKeyInfo)
   * @throws IllegalArgumentException when the PEM is not an RSA public key
   */
  static TokenVerifier create(String publicKeyPem, Clock clock) {
    return new TokenVerifier(parsePublicKey(publicKeyPem), null, clock, SandboxdOptions.TOKEN_LEEWAY);
  }

  /**
   * A verifier of HS256 tokens whose HMAC key is the ASCII text {@code key} (what the proxy
   * passes a sandbox host in {@code AGENTCUBE_HOST_TOKEN_KEY}).
   *
   * @throws IllegalArgumentException when the key is shorter than {@value #MIN_HMAC_KEY_CHARS}
   *     characters or not printable ASCII
   */
  static TokenVerifier hmac(String key, Clock clock) {
    if (key == null || key.length() < MIN_HMAC_KEY_CHARS) {
      throw new IllegalArgumentException("AGENTCUBE_HOST_TOKEN_KEY: need at least "
          + MIN_HMAC_KEY_CHARS + " characters (256 bits, base64url)");
    }
    if (!key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException("AGENTCUBE_HOST_TOKEN_KEY: must be printable ASCII");
    }
    return new TokenVerifier(null,
        new SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"), clock,
        SandboxdOptions.TOKEN_LEEWAY);
  }

  /** Parses a PEM SubjectPublicKeyInfo RSA key. */
  static RSAPublicKey parsePublicKey(String pem) {
    if (pem == null) {
      throw new IllegalArgumentException("no public key");
    }
    // Some deployments pass the PEM with each newline escaped as backslash-n; accept both.
    String text = pem.replace("\\n", "\n").strip();
    String begin = "-----BEGIN PUBLIC KEY-----";
    String end = "-----END PUBLIC KEY-----";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b < 0 || e < b) {
      throw new IllegalArgumentException(
          "PICOD_AUTH_PUBLIC_KEY is not a PEM public key (expected " + begin + ")");
    }
    String body = text.substring(b + begin.length(), e).replaceAll("\\s", "");
    RSAPublicKey rsa;
    try {
      byte[] der = Base64.getDecoder().decode(body);
      rsa = (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
    } catch (IllegalArgumentException | GeneralSecurityException | ClassCastException ex) {
      throw new IllegalArgumentException(
          "PICOD_AUTH_PUBLIC_KEY is not an RSA public key: " + ex.getMessage(), ex);
    }
    if (rsa.getModulus().bitLength() < 2048) {
      throw new IllegalArgumentException(
          "PICOD_AUTH_PUBLIC_KEY: an RSA key of "
              + rsa.getModulus().bitLength()
              + " bits is too short (need at least 2048)");
    }
    return rsa;
  }

  /**
   * Loads and initializes the RSA and JSON machinery once (about 70 ms on a cold JVM) by
   * verifying a dummy token, so the first real request does not pay for it. Any thread; the
   * outcome is ignored.
   */
  void warmUp() {
    try {
      verifySession(key != null
          ? "Bearer eyJhbGciOiJSUzI1NiJ9.e30." + "A".repeat(342)
          : "Bearer eyJhbGciOiJIUzI1NiJ9.e30." + "A".repeat(43));
    } catch (SandboxdException expected) {
      // the dummy signature does not verify, by design
    }
  }

  /**
   * Verifies a session token (PicoD routes): a valid token with a {@code session_id} whose
   * audience is not the host's.
   *
   * @param authorization the {@code Authorization} header value, possibly null
   * @throws SandboxdException 401 {@link ErrorCode#UNAUTHORIZED} on any failure
   */
  Claims verifySession(String authorization) {
    Map<String, Object> claims = verify(authorization);
    if (hasHostAudience(claims.get("aud"))) {
      throw SandboxdException.unauthorized("invalid token: a host admin token is not a session's");
    }
    Object session = claims.get("session_id");
    if (!(session instanceof String) || ((String) session).isEmpty()) {
      throw SandboxdException.unauthorized("invalid token: missing session_id");
    }
    Object sandbox = claims.get("sandbox_id");
    if (sandbox != null && !(sandbox instanceof String)) {
      throw SandboxdException.unauthorized("invalid token: sandbox_id is not a string");
    }
    return new Claims((String) session, (String) sandbox, epochSeconds(claims, "iat", true),
        epochSeconds(claims, "exp", true));
  }

  /**
   * Verifies an admin token (a host's {@code /host/v1/} routes): a valid token whose {@code aud}
   * is exactly {@value SandboxdOptions#HOST_AUDIENCE}.
   *
   * @throws SandboxdException 401 {@link ErrorCode#UNAUTHORIZED} on any failure
   */
  Claims verifyAdmin(String authorization) {
    Map<String, Object> claims = verify(authorization);
    if (!SandboxdOptions.HOST_AUDIENCE.equals(claims.get("aud"))) {
      throw SandboxdException.unauthorized(
          "invalid token: audience must be " + SandboxdOptions.HOST_AUDIENCE);
    }
    return new Claims(null, null, epochSeconds(claims, "iat", true),
        epochSeconds(claims, "exp", true));
  }

  private static boolean hasHostAudience(Object aud) {
    if (aud instanceof List) {
      return ((List<?>) aud).contains(SandboxdOptions.HOST_AUDIENCE);
    }
    return SandboxdOptions.HOST_AUDIENCE.equals(aud);
  }

  /** Signature, algorithm, issuer and times; the claims of a token that passes them. */
  private Map<String, Object> verify(String authorization) {
    if (authorization == null || authorization.isBlank()) {
      throw SandboxdException.unauthorized("missing Authorization header");
    }
    String[] scheme = authorization.strip().split(" ", -1);
    if (scheme.length != 2 || !scheme[0].equalsIgnoreCase("Bearer") || scheme[1].isEmpty()) {
      throw SandboxdException.unauthorized("invalid Authorization header format, use: Bearer <token>");
    }
    String token = scheme[1];
    int dot1 = token.indexOf('.');
    int dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || dot2 == token.length() - 1
        || token.indexOf('.', dot2 + 1) >= 0) {
      throw SandboxdException.unauthorized("invalid token: not a signed JWT");
    }
    Map<String, Object> header = decodeJson(token.substring(0, dot1), "header");
    Object alg = header.get("alg");
    if (!algorithm.equals(alg)) {
      throw SandboxdException.unauthorized("invalid token: algorithm must be " + algorithm);
    }
    if (header.containsKey("crit")) {
      throw SandboxdException.unauthorized("invalid token: unsupported critical header");
    }
    if (!signatureValid(token, dot2)) {
      throw SandboxdException.unauthorized("invalid token: signature does not verify");
    }
    Map<String, Object> claims = decodeJson(token.substring(dot1 + 1, dot2), "claims");
    checkClaims(claims);
    return claims;
  }

  private boolean signatureValid(String token, int dot2) {
    byte[] signature;
    try {
      signature = B64URL.decode(token.substring(dot2 + 1));
    } catch (IllegalArgumentException e) {
      throw SandboxdException.unauthorized("invalid token: signature is not base64url");
    }
    byte[] signed = token.substring(0, dot2).getBytes(StandardCharsets.US_ASCII);
    if (hmacKey != null) {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(hmacKey);
        // constant-time: the comparison does not tell how many leading bytes were right
        return MessageDigest.isEqual(mac.doFinal(signed), signature);
      } catch (GeneralSecurityException e) {
        throw SandboxdException.internal("cannot verify HS256 signatures", e);
      }
    }
    try {
      Signature verifier = Signature.getInstance("SHA256withRSA");
      verifier.initVerify(key);
      verifier.update(signed);
      return verifier.verify(signature);
    } catch (java.security.SignatureException e) {
      return false; // wrong length and the like: a forged or damaged token
    } catch (GeneralSecurityException e) {
      throw SandboxdException.internal("cannot verify RS256 signatures", e);
    }
  }

  private void checkClaims(Map<String, Object> claims) {
    if (!SandboxdOptions.TOKEN_ISSUER.equals(claims.get("iss"))) {
      throw SandboxdException.unauthorized(
          "invalid token: issuer must be " + SandboxdOptions.TOKEN_ISSUER);
    }
    Instant now = clock.instant();
    Instant exp = epochSeconds(claims, "exp", true);
    Instant iat = epochSeconds(claims, "iat", true);
    Instant nbf = epochSeconds(claims, "nbf", false);
    if (!now.isBefore(exp.plus(leeway))) {
      throw SandboxdException.unauthorized("invalid token: expired");
    }
    if (iat.isAfter(now.plus(leeway))) {
      throw SandboxdException.unauthorized("invalid token: issued in the future");
    }
    if (nbf != null && nbf.isAfter(now.plus(leeway))) {
      throw SandboxdException.unauthorized("invalid token: not valid yet");
    }
  }

  private static Instant epochSeconds(Map<String, Object> claims, String name, boolean required) {
    Object v = claims.get(name);
    if (v == null) {
      if (required) {
        throw SandboxdException.unauthorized("invalid token: missing " + name);
      }
      return null;
    }
    if (!(v instanceof Number)) {
      throw SandboxdException.unauthorized("invalid token: " + name + " is not a number");
    }
    double seconds = ((Number) v).doubleValue();
    if (!Double.isFinite(seconds) || seconds < 0 || seconds > 1e11) {
      throw SandboxdException.unauthorized("invalid token: " + name + " is out of range");
    }
    return Instant.ofEpochMilli((long) (seconds * 1000));
  }

  private static Map<String, Object> decodeJson(String segment, String what) {
    byte[] bytes;
    try {
      bytes = B64URL.decode(segment);
    } catch (IllegalArgumentException e) {
      throw SandboxdException.unauthorized("invalid token: " + what + " is not base64url");
    }
    try {
      return Json.readObject(new ByteArrayInputStream(bytes));
    } catch (SandboxdException | IOException e) {
      throw SandboxdException.unauthorized("invalid token: " + what + " is not a JSON object");
    }
  }
}
