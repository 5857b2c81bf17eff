package io.agentcube.proxy.auth;

import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code auth.mode: jwt}: bearer tokens that are JWTs signed by a key the proxy trusts, a PEM
 * public key ({@code auth.jwt.publicKeyFile}) or the keys of a JWKS URL ({@code auth.jwt.jwksUrl}),
 * checked by vertx-auth-jwt: signature, {@code exp}, {@code nbf} and {@code iat} with
 * {@code auth.jwt.leeway}, {@code iss} against {@code auth.jwt.issuer}, {@code aud} against
 * {@code auth.jwt.audience}.
 *
 * <h2>Before the library</h2>
 * The header is read here first, and a token is refused unless its {@code alg} is an asymmetric
 * signature ({@code RS*}, {@code PS*}, {@code ES*}, {@code EdDSA}): {@code alg: none} and
 * {@code HS*} never reach verification, so a token "signed" with the public key as an HMAC secret
 * (algorithm confusion) cannot pass, whatever the library would do with it. Symmetric keys in a
 * JWKS are ignored.
 *
 * <h2>JWKS</h2>
 * Fetched at start-up (a failure fails start-up). A token whose {@code kid} is not among the keys
 * makes one refetch, at most once per {@link #REFETCH_INTERVAL} (single flight: concurrent
 * requests share it), so that a rotated key works without a restart while a flood of made-up kids
 * costs the IdP nothing. A failed refetch keeps the keys it had.
 *
 * <p>Thread-safe; the keys are swapped as one immutable value.
 */
final class JwtTokens implements TokenCheck {

  static final Duration REFETCH_INTERVAL = Duration.ofSeconds(30);
  private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);
  private static final int MAX_JWKS_BYTES = 1 << 20;
  private static final Set<String> ASYMMETRIC = Set.of("RS256", "RS384", "RS512", "PS256", "PS384",
      "PS512", "ES256", "ES384", "ES512", "EdDSA");

  /** One key set: the verifier and the key ids it knows ({@code null} ids not listed). */
  private record Keys(JWTAuth verifier, Set<String> kids) {}

  private final Vertx vertx;
  private final JWTOptions checks;
  private final String[] rolesClaim;
  private final String jwksUrl; // null with a PEM key
  private final HttpClient client; // null with a PEM key
  private final Ticker ticker;
  private volatile Keys keys;
  private volatile long lastFetchNanos;
  private Future<Keys> refetch; // guarded by this

  private JwtTokens(Vertx vertx, JWTOptions checks, String rolesClaim, String jwksUrl, Ticker ticker) {
    this.vertx = vertx;
    this.checks = checks;
    this.rolesClaim = rolesClaim.split("\\.");
    this.jwksUrl = jwksUrl;
    this.client = jwksUrl == null ? null : vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) FETCH_TIMEOUT.toMillis()));
    this.ticker = ticker;
  }

  /** Blocking (reads the key file, or waits for the first JWKS fetch). */
  static JwtTokens create(Vertx vertx, ProxyConfig config) {
    return create(vertx, config, Ticker.systemTicker());
  }

  static JwtTokens create(Vertx vertx, ProxyConfig config, Ticker ticker) {
    String keyFile = config.string("auth.jwt.publicKeyFile");
    String jwks = config.string("auth.jwt.jwksUrl");
    if (keyFile.isEmpty() == jwks.isEmpty()) {
      throw new ConfigException("auth.jwt.publicKeyFile / auth.jwt.jwksUrl: exactly one is needed"
          + " with auth.mode: jwt");
    }
    JWTOptions checks = new JWTOptions()
        .setLeeway((int) config.duration("auth.jwt.leeway").toSeconds())
        .setAudience(config.list("auth.jwt.audience"));
    if (!config.string("auth.jwt.issuer").isEmpty()) {
      checks.setIssuer(config.string("auth.jwt.issuer"));
    }
    JwtTokens tokens = new JwtTokens(vertx, checks, config.string("auth.jwt.rolesClaim"),
        jwks.isEmpty() ? null : jwks, ticker);
    if (!keyFile.isEmpty()) {
      tokens.keys = new Keys(JWTAuth.create(vertx, tokens.options().setPubSecKeys(pemKeys(Path.of(keyFile)))), Set.of());
      return tokens;
    }
    try {
      tokens.keys = tokens.fetch().toCompletionStage().toCompletableFuture()
          .get(FETCH_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new ConfigException("auth.jwt.jwksUrl: cannot load the keys of " + jwks + ": " + cause.getMessage());
    }
    return tokens;
  }

  private JWTAuthOptions options() {
    return new JWTAuthOptions().setJWTOptions(checks);
  }

  /** The algorithms a PEM public key can verify, one key option each. */
  private static List<PubSecKeyOptions> pemKeys(Path file) {
    String pem;
    try {
      pem = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException("auth.jwt.publicKeyFile: cannot read " + file + ": " + e);
    }
    if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
      throw new ConfigException("auth.jwt.publicKeyFile: " + file
          + " is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("auth.jwt.publicKeyFile: " + file + ": bad base64: " + e.getMessage());
    }
    List<String> algs = null;
    for (String type : List.of("RSA", "EC", "Ed25519")) {
      try {
        KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(der));
        algs = switch (type) {
          case "RSA" -> List.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512");
          case "EC" -> List.of("ES256", "ES384", "ES512");
          default -> List.of("EdDSA");
        };
        break;
      } catch (Exception notThisType) {
        // next type
      }
    }
    if (algs == null) {
      throw new ConfigException("auth.jwt.publicKeyFile: " + file + " is not an RSA, EC or Ed25519 public key");
    }
    List<PubSecKeyOptions> out = new ArrayList<>();
    for (String alg : algs) {
      out.add(new PubSecKeyOptions().setAlgorithm(alg).setBuffer(pem));
    }
    return out;
  }

  @Override
  public Future<Identity> verify(String token) {
    JsonObject header = header(token);
    String alg = header.getValue("alg") instanceof String s ? s : "";
    if (!ASYMMETRIC.contains(alg)) {
      return fail("JWT alg '" + alg + "' refused: only asymmetric signatures (RS, PS, ES, EdDSA) are accepted");
    }
    String kid = header.getValue("kid") instanceof String s ? s : null;
    Keys now = keys;
    if (jwksUrl != null && kid != null && !now.kids.contains(kid)) {
      return refetch().transform(ar -> {
        Keys fresh = ar.succeeded() ? ar.result() : keys;
        if (!fresh.kids.contains(kid)) {
          return fail("JWT signed with an unknown key (kid " + kid + ")");
        }
        return check(fresh, token);
      });
    }
    return check(now, token);
  }

  private Future<Identity> check(Keys k, String token) {
    return k.verifier.authenticate(new TokenCredentials(token)).transform(ar -> {
      if (ar.failed()) {
        return fail("invalid JWT: " + ar.cause().getMessage());
      }
      return identity(ar.result());
    });
  }

  private Future<Identity> identity(User user) {
    JsonObject claims = user.principal();
    if (!(claims.getValue("sub") instanceof String sub) || sub.isEmpty()) {
      return fail("JWT without a sub claim");
    }
    Instant exp = claims.getValue("exp") instanceof Number n ? Instant.ofEpochSecond(n.longValue()) : null;
    return Future.succeededFuture(new Identity(sub, roles(claims), exp));
  }

  /** The roles at {@code auth.jwt.rolesClaim}: a list of strings or a space-separated string. */
  Set<String> roles(JsonObject claims) {
    Object v = claims;
    for (String part : rolesClaim) {
      v = v instanceof JsonObject o ? o.getValue(part) : null;
    }
    Set<String> roles = new LinkedHashSet<>();
    if (v instanceof JsonArray a) {
      a.forEach(r -> {
        if (r instanceof String s && !s.isEmpty()) {
          roles.add(s);
        }
      });
    } else if (v instanceof String s) {
      for (String r : s.split(" ")) {
        if (!r.isEmpty()) {
          roles.add(r);
        }
      }
    }
    return roles;
  }

  /** The JOSE header of {@code token}. @throws AgentCubeException UNAUTHENTICATED when it is not a JWT */
  private static JsonObject header(String token) {
    int dot = token.indexOf('.');
    if (dot <= 0 || token.indexOf('.', dot + 1) < 0) {
      throw Authenticator.unauthenticated("malformed JWT");
    }
    try {
      Object h = Buffer.buffer(Base64.getUrlDecoder().decode(token.substring(0, dot))).toJsonValue();
      if (h instanceof JsonObject o) {
        return o;
      }
    } catch (RuntimeException e) {
      // reported below
    }
    throw Authenticator.unauthenticated("malformed JWT header");
  }

  private static <T> Future<T> fail(String why) {
    return Future.failedFuture(Authenticator.unauthenticated(why));
  }

  /** A refetch of the JWKS, shared by concurrent callers, at most once per interval. */
  private synchronized Future<Keys> refetch() {
    if (refetch != null && !refetch.isComplete()) {
      return refetch;
    }
    if (ticker.read() - lastFetchNanos < REFETCH_INTERVAL.toNanos()) {
      return Future.succeededFuture(keys);
    }
    refetch = fetch().onSuccess(k -> keys = k);
    return refetch;
  }

  /** Loads the JWKS once; its asymmetric signing keys become the key set. */
  private Future<Keys> fetch() {
    lastFetchNanos = ticker.read();
    RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(jwksUrl)
        .setIdleTimeout(FETCH_TIMEOUT.toMillis()).putHeader("accept", "application/json");
    return client.request(request)
        .compose(req -> req.send())
        .compose(resp -> {
          if (resp.statusCode() != 200) {
            resp.end();
            return Future.failedFuture("HTTP " + resp.statusCode());
          }
          String length = resp.getHeader("content-length");
          if (length != null && length.length() > 8 || length != null && Long.parseLong(length) > MAX_JWKS_BYTES) {
            return Future.failedFuture("JWKS larger than " + MAX_JWKS_BYTES + " bytes");
          }
          return resp.body();
        })
        .timeout(FETCH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .map(this::keysOf)
        .recover(err -> Future.failedFuture(new AgentCubeException(ErrorCode.AUTH_UNAVAILABLE,
            "cannot fetch the JWKS: " + err.getMessage())));
  }

  private Keys keysOf(Buffer body) {
    if (body.length() > MAX_JWKS_BYTES) {
      throw new IllegalArgumentException("JWKS larger than " + MAX_JWKS_BYTES + " bytes");
    }
    JsonArray all = body.toJsonObject().getJsonArray("keys");
    if (all == null) {
      throw new IllegalArgumentException("no 'keys' array");
    }
    List<JsonObject> usable = new ArrayList<>();
    Set<String> kids = new HashSet<>();
    for (Object o : all) {
      if (o instanceof JsonObject k && !"oct".equals(k.getString("kty")) && !"enc".equals(k.getString("use"))
          && (k.getString("alg") == null || ASYMMETRIC.contains(k.getString("alg")))) {
        usable.add(k);
        if (k.getString("kid") != null) {
          kids.add(k.getString("kid"));
        }
      }
    }
    if (usable.isEmpty()) {
      throw new IllegalArgumentException("no asymmetric signing key");
    }
    return new Keys(JWTAuth.create(vertx, options().setJwks(usable)), Set.copyOf(kids));
  }
}
