package io.agentcube.proxy.auth;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's identity towards PicoD-compatible sandboxes: an RSA key pair whose public half
 * sandboxes get in {@code PICOD_AUTH_PUBLIC_KEY}, and one RS256 JWT per session
 * ({@code iss=agentcube-router}, {@code session_id}, {@code iat}, {@code exp}).
 *
 * <h2>The proxy's own sandbox host: HS256</h2>
 * A sandbox host is a process this proxy started and alone talks to, so its tokens need no public
 * key: they are HS256 JWTs (same claims, plus {@code sandbox_id}) under a random 256-bit key that
 * lives in this object's memory and in the host's environment only ({@link #hostKey}), never on
 * disk. An HMAC costs microseconds where an RSA signature costs about a millisecond of CPU, which
 * at a hundred sessions a second is 7 % of the machine; and such a token is signed at once, on the
 * caller's thread. The host accepts only HS256 under that key (no RSA, so no algorithm confusion),
 * sandboxes and pods only RS256.
 *
 * <h2>No RSA work on the request path</h2>
 * A session's token is signed once, on a worker thread, when the session opens
 * ({@link #issue}); the request path only reads the cached {@code Authorization} value
 * ({@link #authorization}). A periodic sweep re-signs, on a worker, every token within a quarter
 * of its lifetime of expiring. Entries are removed when their session ends ({@link #forget}), so
 * the cache is bounded by the live sessions.
 *
 * <p>Thread-safe.
 */
public final class PicodTokens implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PicodTokens.class);
  public static final String ISSUER = "agentcube-router";

  /** The audience of the tokens that manage a sandbox host (never a session's). */
  public static final String HOST_AUDIENCE = "agentcube-sandbox-host";

  /**
   * A signed token; {@code header == null} while its signing is in flight ({@link #issue}).
   * {@code onHost}: HS256 for the proxy's sandbox host rather than RS256.
   */
  private record Token(String header, String sandboxId, boolean onHost, long expiresAtMillis) {}

  private final Vertx vertx;
  private final JWTAuth signer;
  /** HS256 under {@link #hostKey}: the tokens of the proxy's own sandbox host. */
  private final JWTAuth hostSigner;
  private final String hostKey;
  private final String publicKeyPem;
  private final Duration ttl;
  private final Clock clock;
  private final Map<String, Token> tokens = new ConcurrentHashMap<>();
  private final long sweepTimer;

  private PicodTokens(Vertx vertx, RSAPrivateCrtKey privateKey, Duration ttl, Clock clock) throws Exception {
    this.vertx = vertx;
    this.ttl = ttl;
    this.clock = clock;
    String privatePem = pem("PRIVATE KEY", privateKey.getEncoded());
    var publicKey = KeyFactory.getInstance("RSA")
        .generatePublic(new RSAPublicKeySpec(privateKey.getModulus(), privateKey.getPublicExponent()));
    this.publicKeyPem = pem("PUBLIC KEY", publicKey.getEncoded());
    this.signer = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("RS256").setBuffer(privatePem)));
    byte[] secret = new byte[32];
    new java.security.SecureRandom().nextBytes(secret);
    // The key is the ASCII text of this string on both sides (sandboxd's AGENTCUBE_HOST_TOKEN_KEY).
    this.hostKey = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    this.hostSigner = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(hostKey)));
    long sweepMs = Math.max(1000, ttl.toMillis() / 8);
    this.sweepTimer = vertx.setPeriodic(sweepMs, id -> refresh());
  }

  /**
   * Loads the key pair from a PKCS#8 PEM file ({@code -----BEGIN PRIVATE KEY-----}), or generates a
   * fresh 2048-bit pair when {@code privateKeyFile} is {@code null}. Blocking; call at start-up.
   */
  public static PicodTokens create(Vertx vertx, Path privateKeyFile, Duration ttl) throws Exception {
    return create(vertx, privateKeyFile, null, ttl);
  }

  /**
   * As {@link #create(Vertx, Path, Duration)}, but without a configured key the generated one is
   * kept in {@code generatedKeyFile} (owner-only permissions) and read from there at the next
   * start, so that sandboxes that outlive a restart still accept the proxy's tokens.
   */
  public static PicodTokens create(Vertx vertx, Path privateKeyFile, Path generatedKeyFile,
      Duration ttl) throws Exception {
    RSAPrivateCrtKey key;
    if (privateKeyFile != null) {
      key = readPrivateKey(privateKeyFile);
    } else if (generatedKeyFile != null && Files.isRegularFile(generatedKeyFile)) {
      key = readPrivateKey(generatedKeyFile);
    } else {
      KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
      gen.initialize(2048);
      KeyPair pair = gen.generateKeyPair();
      key = (RSAPrivateCrtKey) pair.getPrivate();
      if (generatedKeyFile != null) {
        store(generatedKeyFile, pem("PRIVATE KEY", key.getEncoded()));
      }
    }
    return new PicodTokens(vertx, key, ttl, Clock.systemUTC());
  }

  /** Writes {@code pem} readable by its owner only, atomically (a crash leaves no half key). */
  private static void store(Path file, String pem) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, pem);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Tokens signed by the PKCS#8 PEM key {@code pem} (a key shared by several replicas, from a
   * Kubernetes Secret). Blocking; call at start-up.
   *
   * @param origin names where the key came from, in error messages
   */
  public static PicodTokens fromPem(Vertx vertx, String pem, String origin, Duration ttl) throws Exception {
    return new PicodTokens(vertx, parsePrivateKey(pem, origin), ttl, Clock.systemUTC());
  }

  /** A new 2048-bit RSA private key, PKCS#8 PEM. */
  public static String generatePem() {
    try {
      KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
      gen.initialize(2048);
      return pem("PRIVATE KEY", gen.generateKeyPair().getPrivate().getEncoded());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static RSAPrivateCrtKey readPrivateKey(Path file) throws IOException {
    return parsePrivateKey(Files.readString(file), file.toString());
  }

  private static RSAPrivateCrtKey parsePrivateKey(String text, Object file) throws IOException {
    if (!text.contains("-----BEGIN PRIVATE KEY-----")) {
      throw new IOException(file + ": expected a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----);"
          + " convert with: openssl pkcs8 -topk8 -nocrypt -in key.pem");
    }
    String base64 = text.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    try {
      return (RSAPrivateCrtKey) KeyFactory.getInstance("RSA")
          .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
    } catch (Exception e) {
      throw new IOException(file + ": not an RSA private key: " + e.getMessage(), e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  /** The public key, PEM (SubjectPublicKeyInfo), for {@code PICOD_AUTH_PUBLIC_KEY}. */
  public String publicKeyPem() {
    return publicKeyPem;
  }

  /**
   * The key of the sandbox host's tokens, for its {@code AGENTCUBE_HOST_TOKEN_KEY}: 43 base64url
   * characters (256 random bits), whose ASCII bytes are the HMAC key. Never logged, never on disk.
   */
  public String hostKey() {
    return hostKey;
  }

  /**
   * Signs the first token of {@code sessionId}, bound to sandbox {@code sandboxId}, on a worker
   * thread (RS256). The token names both ({@code session_id}, {@code sandbox_id}).
   */
  public Future<Void> issue(String sessionId, String sandboxId) {
    return issue(sessionId, sandboxId, false);
  }

  /**
   * As {@link #issue(String, String)}; {@code onHost} for a workspace on the proxy's sandbox host,
   * whose HS256 token is signed at once on the calling thread (microseconds). A host selects the
   * workspace by {@code sandbox_id}, so a session's token opens its own sandbox and no other.
   */
  public Future<Void> issue(String sessionId, String sandboxId, boolean onHost) {
    if (onHost) {
      tokens.put(sessionId, sign(sessionId, sandboxId, true));
      return Future.succeededFuture();
    }
    // A placeholder now, the token when signed: a forget in between removes the placeholder and
    // the signed token is then dropped, not re-inserted for an ended session.
    Token pending = new Token(null, sandboxId, false, 0);
    tokens.put(sessionId, pending);
    return vertx.executeBlocking(() -> {
      tokens.replace(sessionId, pending, sign(sessionId, sandboxId, false));
      return null;
    }, false);
  }

  /** As {@link #issue(String, String)} for a sandbox that is not on a host. */
  public Future<Void> issue(String sessionId) {
    return issue(sessionId, null);
  }

  private volatile Token hostToken;

  /**
   * {@code Bearer <jwt>} (HS256) with audience {@value #HOST_AUDIENCE}, for the proxy's calls to
   * a sandbox host's management API. One token for all calls, signed on first use and again when
   * a quarter of its lifetime is left.
   */
  public String hostAuthorization() {
    Token t = hostToken;
    if (t == null) {
      synchronized (this) {
        if (hostToken == null) {
          hostToken = signHost();
        }
        t = hostToken;
      }
    }
    return t.header;
  }

  private Token signHost() {
    long now = clock.millis();
    // aud as a plain string (the host's contract); JWTOptions.setAudience would write an array.
    String jwt = hostSigner.generateToken(new JsonObject().put("aud", HOST_AUDIENCE),
        new JWTOptions().setAlgorithm("HS256").setIssuer(ISSUER)
            .setExpiresInSeconds((int) ttl.toSeconds()));
    return new Token("Bearer " + jwt, null, true, now + ttl.toMillis());
  }

  /**
   * {@code Bearer <jwt>} for {@code sessionId}: a map read. Signs inline (and logs) only if the
   * token is missing, which {@link #issue} prevents for sessions it opened.
   */
  public String authorization(String sessionId) {
    return authorization(sessionId, null, false);
  }

  /**
   * As {@link #authorization(String)}; an inline signing binds the token to {@code sandboxId}
   * (HS256 when {@code onHost}).
   */
  public String authorization(String sessionId, String sandboxId, boolean onHost) {
    Token t = tokens.get(sessionId);
    if (t != null && t.header != null) {
      return t.header;
    }
    log.warn("token signed on the request path session={}", io.agentcube.session.SessionIds.redact(sessionId));
    Token signed = sign(sessionId, sandboxId, onHost);
    // Kept only in place of a placeholder of a live session: a forgotten session stays forgotten.
    tokens.computeIfPresent(sessionId, (k, old) -> old.header == null ? signed : old);
    return signed.header;
  }

  /** Whether {@code sessionId} has a token, signed or being signed. */
  public boolean has(String sessionId) {
    return tokens.containsKey(sessionId);
  }

  /** Drops the token of an ended session. */
  public void forget(String sessionId) {
    tokens.remove(sessionId);
  }

  /** Tokens held (signed or being signed), for tests and bounds. */
  public int size() {
    return tokens.size();
  }

  private Token sign(String sessionId, String sandboxId, boolean onHost) {
    long now = clock.millis();
    JsonObject claims = new JsonObject().put("session_id", sessionId);
    if (sandboxId != null) {
      claims.put("sandbox_id", sandboxId);
    }
    String jwt = (onHost ? hostSigner : signer).generateToken(claims,
        new JWTOptions().setAlgorithm(onHost ? "HS256" : "RS256").setIssuer(ISSUER)
            .setExpiresInSeconds((int) ttl.toSeconds()));
    return new Token("Bearer " + jwt, sandboxId, onHost, now + ttl.toMillis());
  }

  /** Re-signs, off the event loop, the tokens that expire within a quarter of their lifetime. */
  private void refresh() {
    long horizon = clock.millis() + ttl.toMillis() / 4;
    var due = tokens.entrySet().stream().filter(e -> e.getValue().expiresAtMillis < horizon)
        .map(Map.Entry::getKey).toList();
    Token host = hostToken;
    if (host != null && host.expiresAtMillis < horizon) {
      vertx.executeBlocking(() -> {
        hostToken = signHost();
        return null;
      }, false);
    }
    if (due.isEmpty()) {
      return;
    }
    vertx.executeBlocking(() -> {
      for (String id : due) {
        // computeIfPresent: a session that ended meanwhile is not brought back.
        tokens.computeIfPresent(id, (k, old) -> sign(k, old.sandboxId(), old.onHost()));
        // (a placeholder due here is signed too; its own signing then finds it replaced)
      }
      return null;
    }, false);
  }

  @Override
  public void close() {
    vertx.cancelTimer(sweepTimer);
  }
}
